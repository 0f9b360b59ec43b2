"""Uploads and results in storage (backend/storage.py): the same tests of the interface on the
folder storage and on an S3-compatible server (s3rver, started by the tests), then the whole job
path and the cleanup with the results in the bucket and nothing on the local disk."""

import io
import socket
import time
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from PIL import Image

from backend import create_app
from backend.storage import LocalStorage, send_picture
from tests.backend.helpers import (
    LONG_JOB,
    described,
    dev_login,
    expire,
    finished_job,
    frames,
    image_bytes,
    job_row,
    long_photo,
    pillow_gif,
    submit,
    upload,
    wait_job,
)
from tests.backend.services import free_port, gunicorn, wait_until


@pytest.fixture(params=["folder", "s3"])
def storage_app(request, make_app):
    """An app whose storage is the folder RESULTS_DIR, or a prefix of s3rver's bucket: a test using
    it runs on each."""
    settings = request.getfixturevalue("s3_settings") if request.param == "s3" else {}
    app = make_app(**settings)
    app.add_url_rule("/stored/<path:key>", "stored", lambda key: send_picture(key, 300, "cartoon.png"))
    app.test_client_class = FlaskClient  # /stored is this test's route, not the API's: no conformance check
    return app


def test_put_read_open_exists_delete(storage_app):
    files = storage_app.extensions["storage"]
    assert not files.exists("results/a.png")
    files.put("results/a.png", b"picture")
    assert files.exists("results/a.png") and files.read("results/a.png") == b"picture"
    with files.open("results/a.png") as file:  # seekable, as Pillow needs
        file.seek(3)
        assert file.read() == b"ture"
    files.put("results/a.png", b"replaced")
    assert files.read("results/a.png") == b"replaced"
    files.delete("results/a.png")
    assert not files.exists("results/a.png")
    files.delete("results/a.png")  # deleting what is gone is fine
    with pytest.raises(FileNotFoundError):
        files.open("results/a.png")


def test_a_failed_write_stores_nothing_and_large_objects_pass(storage_app):
    files = storage_app.extensions["storage"]
    with pytest.raises(RuntimeError), files.create("results/b.gif") as file:
        file.write(b"the first frames")
        raise RuntimeError("the model failed mid-GIF")
    assert not files.exists("results/b.gif")
    large = bytes(range(256)) * (40 * 1024)  # 10 MiB: past what is held in memory on the way
    files.put("results/large.png", large)
    assert files.read("results/large.png") == large


def test_the_folder_storage_reads_rows_from_before_keys(tmp_path):
    files = LocalStorage(tmp_path / "results")
    old = tmp_path / "old-results" / "r.png"  # a row written before keys holds the absolute path
    old.parent.mkdir()
    old.write_bytes(b"picture")
    assert files.exists(str(old)) and files.read(str(old)) == b"picture"
    files.delete(str(old))
    assert not old.exists()


def test_send_answers_like_a_file(storage_app):
    files = storage_app.extensions["storage"]
    data = image_bytes((40, 30))
    files.put("results/c.png", data)
    client = storage_app.test_client()
    answer = client.get("/stored/results/c.png")
    assert answer.status_code == 200 and answer.data == data
    assert answer.mimetype == "image/png" and answer.content_length == len(data)
    assert answer.cache_control.public and answer.cache_control.max_age == 300
    assert answer.headers["Content-Disposition"] == "inline; filename=cartoon.png"
    again = client.get("/stored/results/c.png", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    part = client.get("/stored/results/c.png", headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.data == data[:4]
    missing = client.get("/stored/results/none.png")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_readiness_reports_a_missing_bucket(make_app, s3_settings):
    client = make_app(**s3_settings).test_client()
    assert client.get("/readyz").status_code == 200
    client = make_app(**{**s3_settings, "STORAGE_URL": "s3://no-such-bucket/x"}).test_client()
    answer = client.get("/readyz")
    assert answer.status_code == 503 and "storage: no bucket 'no-such-bucket'" in answer.get_json()["problems"]


def test_an_unreachable_bucket_answers_503_at_once(make_app, s3_settings):
    """At once (S3_CONNECT_TIMEOUT, S3_RETRIES), not after minio's own 5 retries with backoff (6 s)."""
    app = make_app(**{**s3_settings, "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"})  # nothing there
    client = app.test_client()
    alice = dev_login(client)
    started = time.monotonic()
    answer = submit(client, alice)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "storage_unavailable"
    assert answer.headers["Retry-After"] == "30"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "storage: MaxRetryError" in ready.get_json()["problems"]
    assert time.monotonic() - started < 4  # generous: a loaded machine


def assert_503_after_two_tries_of_half_a_second(make_app, s3_settings, port, **timeout):
    """A photo sent while the bucket is the endpoint on `port`, with one of the S3 timeouts set to
    0.5 s: 503 storage_unavailable after two tries (S3_RETRIES 1), not after minio's 5 minutes."""
    app = make_app(**{**s3_settings, "S3_ENDPOINT_URL": f"http://127.0.0.1:{port}"}, **timeout)
    client = app.test_client()
    alice = dev_login(client)
    started = time.monotonic()
    answer = submit(client, alice)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "storage_unavailable"
    assert 1.0 <= time.monotonic() - started < 4


def test_a_bucket_that_does_not_answer_answers_503_after_the_connect_timeout(make_app, s3_settings):
    """An endpoint that drops connection requests (here a listening socket whose accept queue is
    full: Linux drops the next ones)."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as server, socket.create_connection(server.getsockname()):
        port = server.getsockname()[1]  # the connection above fills its accept queue
        assert_503_after_two_tries_of_half_a_second(make_app, s3_settings, port, S3_CONNECT_TIMEOUT=0.5)


def test_a_bucket_that_connects_but_stays_silent_answers_503_after_the_read_timeout(make_app, s3_settings):
    """An endpoint that takes the connection and never answers (a listening socket nobody reads:
    Linux completes the connection in its accept queue)."""
    with socket.create_server(("127.0.0.1", 0), backlog=8) as server:
        assert_503_after_two_tries_of_half_a_second(make_app, s3_settings, server.getsockname()[1], S3_READ_TIMEOUT=0.5)


@pytest.mark.slow
def test_a_job_waits_for_a_bucket_that_went_down(make_app, s3_server, s3_settings):
    """The bucket stops while a job runs: the job is tried again with backoff, as when the database
    cannot be reached, and finishes once the bucket is back."""
    app = make_app(**s3_settings, **LONG_JOB, JOB_MAX_ATTEMPTS=10, JOB_RETRIES=8)
    client = app.test_client()
    alice = dev_login(client)
    answer = submit(client, alice, data=long_photo(), long_side="original")
    assert answer.status_code == 202, answer.get_json()
    job_id = answer.get_json()["id"]

    def attempts():
        return job_row(app, job_id)["attempts"]

    s3_server.stop()
    try:  # down until the job has been tried again (the S3 client's own retries, S3_RETRIES, are spent)
        wait_until(lambda: attempts() >= 2, 60, "the job was not tried again while the bucket was down")
    finally:
        s3_server.start()  # for the other tests of this session too
    job = wait_job(client, alice, job_id, timeout=120)
    assert job["status"] == "done", job
    assert attempts() >= 2  # the run the stop broke, then more
    assert client.get(job["result"]["url"], headers=alice).status_code == 200


def test_bad_storage_url_is_refused(base_settings):
    with pytest.raises(ValueError, match="STORAGE_URL"):
        create_app({**base_settings, "STORAGE_URL": "ftp://host/folder"})


def test_job_path_in_s3(job_app, s3_server, s3_settings, s3_prefix, tmp_path):
    """Upload, job (on the in-process runner, or on a Celery worker), result image, share page and
    image, deletion: every picture is in the bucket, none on the disk of the web or worker."""
    folder = tmp_path / "no-results-here"
    app = job_app(**s3_settings, RESULTS_DIR=str(folder))
    client = app.test_client()
    alice = dev_login(client)

    job = finished_job(client, alice)
    result = job["result"]
    assert s3_server.keys(s3_prefix) == sorted([f"uploads/{job['id']}.png", f"results/{result['id']}.png"])
    image = client.get(result["url"], headers=alice)
    assert image.status_code == 200 and image.mimetype == "image/png" and image.cache_control.private
    assert Image.open(io.BytesIO(image.data)).size == (result["width"], result["height"])

    share = client.post(f"/api/v1/results/{result['id']}/share", headers=alice).get_json()
    page = client.get(urlsplit(share["url"]).path, headers={"Accept": "text/html"})
    assert page.status_code == 200 and share["image_url"] in page.get_data(as_text=True)
    shared = client.get(urlsplit(share["image_url"]).path)
    assert shared.status_code == 200 and shared.data == image.data and shared.cache_control.public

    animated = finished_job(client, alice, data=pillow_gif(frames()), filename="anim.gif")
    gif = client.get(animated["result"]["url"], headers=alice)
    assert gif.mimetype == "image/gif" and described(gif.data)[:2] == (3, [80, 200, 40])

    assert client.delete(f"/api/v1/results/{result['id']}", headers=alice).status_code == 204
    assert client.get(urlsplit(share["image_url"]).path).status_code == 404
    assert s3_server.keys(s3_prefix) == sorted(
        [f"uploads/{animated['id']}.gif", f"results/{animated['result']['id']}.gif"]
    )
    assert not folder.exists()


def test_phone_picture_in_s3(make_app, s3_server, s3_settings, s3_prefix):
    app = make_app(**s3_settings)
    client = app.test_client()
    alice = dev_login(client)
    result = upload(client, alice).get_json()
    assert [key.split("/")[0] for key in s3_server.keys(s3_prefix)] == ["results", "uploads"]
    picture = client.get(result["url"], headers=alice)
    assert picture.status_code == 200 and Image.open(io.BytesIO(picture.data)).size == (40, 30)


def test_cleanup_deletes_expired_results_in_s3(make_app, s3_server, s3_settings, s3_prefix):
    app = make_app(**s3_settings)
    client = app.test_client()
    alice = dev_login(client)
    expired, kept = finished_job(client, alice), finished_job(client, alice)
    expire(app, expired["result"]["id"])
    assert len(s3_server.keys(s3_prefix)) == 4  # expired, but kept until the cleanup

    with app.app_context():  # as `flask --app backend cleanup` runs it
        output = app.test_cli_runner().invoke(args=["cleanup"])
    assert output.exit_code == 0, output.output
    assert f"removed 1 expired results and 0 old uploads from s3://cartoon/{s3_prefix}" in output.output
    assert s3_server.keys(s3_prefix) == sorted([f"uploads/{kept['id']}.png", f"results/{kept['result']['id']}.png"])
    assert client.get(kept["result"]["url"], headers=alice).status_code == 200


def test_gunicorn_streams_pictures_from_s3(tmp_path, zoo_dir, s3_settings):
    """As deployed: gunicorn's own file wrapper (sendfile where it can) passes the bucket's stream on."""
    with gunicorn(tmp_path, zoo_dir, WEB_CONCURRENCY="1", **s3_settings) as server:
        http = server.session
        login = http.post(f"{server.url}/api/v1/auth/dev-login", json={"openid": "alice"}, timeout=30)
        alice = {"Authorization": f"Bearer {login.json()['token']}"}
        photo = {"image": ("photo.png", image_bytes((64, 48)))}
        job = http.post(f"{server.url}/api/v1/jobs", data={"style": "tiny"}, files=photo, headers=alice, timeout=30)
        assert job.status_code == 202, job.text
        state = f"{server.url}/api/v1/jobs/{job.json()['id']}"
        wait_until(lambda: http.get(state, headers=alice, timeout=30).json()["status"] == "done", 60, "no result")
        url = urlsplit(http.get(state, headers=alice, timeout=30).json()["result"]["url"]).path
        picture = http.get(f"{server.url}{url}", headers=alice, timeout=30)
        assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/png"
        assert int(picture.headers["Content-Length"]) == len(picture.content)
        assert Image.open(io.BytesIO(picture.content)).size == (64, 48)
        part = http.get(f"{server.url}{url}", headers={**alice, "Range": "bytes=0-7"}, timeout=30)
        assert part.status_code == 206 and part.content == picture.content[:8]
