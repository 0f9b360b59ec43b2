"""Server-side jobs: the whole path, permissions, quota, queue full, rate limits."""

import io
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.backend.helpers import dev_login, finished_job, image_bytes, submit, wait_job

pytestmark = pytest.mark.databases("sqlite", "postgresql")


def test_job_result_share_path(client):
    alice = dev_login(client)
    response = submit(client, alice, data=image_bytes((90, 61)), long_side=512)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] in ("queued", "running") and body["style"] == "tiny"

    job = wait_job(client, alice, body["id"])
    assert job["status"] == "done", job
    assert job["result"]["width"] == 90 and job["result"]["height"] == 61
    picture = client.get(job["result"]["url"], headers=alice)
    assert picture.status_code == 200 and picture.mimetype == "image/png"
    assert Image.open(io.BytesIO(picture.data)).size == (90, 61)

    share = client.post(f"/api/v1/results/{job['result']['id']}/share", headers=alice)
    assert share.status_code == 201
    link = share.get_json()["url"]
    assert len(link.rsplit("/", 1)[1]) >= 32  # unguessable
    assert share.get_json()["expires_at"] == job["result"]["expires_at"]
    public = client.get(link)  # no token needed
    assert public.status_code == 200 and public.data == picture.data
    # Sharing again gives the same link.
    assert client.post(f"/api/v1/results/{job['result']['id']}/share", headers=alice).get_json()["url"] == link


def test_long_side_resizes_without_enlarging(client):
    alice = dev_login(client)
    job = finished_job(client, alice, data=image_bytes((300, 200)), long_side=150)
    assert (job["result"]["width"], job["result"]["height"]) == (150, 100)
    job = finished_job(client, alice, data=image_bytes((40, 30)), long_side=512)
    assert (job["result"]["width"], job["result"]["height"]) == (40, 30)


def test_result_matches_the_model(client, zoo_dir):
    """The server's picture is the ONNX model's output on the photo, in RGB."""
    from backend.inference import OnnxGenerator, stylize
    from backend.zoo import ModelZoo

    alice = dev_login(client)
    photo = image_bytes((37, 23))
    job = finished_job(client, alice, data=photo, style="tiny_rgb")
    served = np.asarray(Image.open(io.BytesIO(client.get(job["result"]["url"], headers=alice).data)))
    style = ModelZoo(zoo_dir).get("tiny_rgb")
    generator = OnnxGenerator(style.folder / "model.onnx")
    expected = stylize(generator, np.asarray(Image.open(io.BytesIO(photo)).convert("RGB")), style.manifest["input"])
    assert served.shape == (23, 37, 3)
    assert np.array_equal(served, expected)


def test_others_cannot_see_a_job_or_its_result(client):
    alice, bob = dev_login(client, "alice"), dev_login(client, "bob")
    job = finished_job(client, alice)
    result_id = job["result"]["id"]
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=bob).status_code == 404
    assert client.get(f"/api/v1/results/{result_id}/image", headers=bob).status_code == 404
    assert client.post(f"/api/v1/results/{result_id}/share", headers=bob).status_code == 404
    assert client.delete(f"/api/v1/results/{result_id}", headers=bob).status_code == 404
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=alice).status_code == 200


def test_authentication_is_required(client):
    for method, url in [
        ("post", "/api/v1/jobs"),
        ("get", "/api/v1/jobs/x"),
        ("get", "/api/v1/results/x/image"),
        ("post", "/api/v1/results/x/share"),
        ("delete", "/api/v1/results/x"),
    ]:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
            response = getattr(client, method)(url, headers=headers)
            assert response.status_code == 401, (url, headers)
            assert response.get_json()["error"]["code"] == "unauthorized"


def test_expired_token_is_refused(make_app):
    app = make_app(TOKEN_TTL_SECONDS=-1)
    client = app.test_client()
    headers = dev_login(client)
    assert client.get("/api/v1/jobs/x", headers=headers).status_code == 401


def test_bad_requests(client):
    alice = dev_login(client)
    cases = [
        ({"style": "tiny"}, 400, "missing_image"),
        ({"style": "nope", "image": (io.BytesIO(image_bytes()), "a.png")}, 404, "unknown_style"),
        ({"style": "tiny", "long_side": "9999", "image": (io.BytesIO(image_bytes()), "a.png")}, 400, "bad_long_side"),
        ({"style": "tiny", "long_side": "abc", "image": (io.BytesIO(image_bytes()), "a.png")}, 400, "bad_long_side"),
    ]
    for form, status, code in cases:
        response = client.post("/api/v1/jobs", data=form, headers=alice, content_type="multipart/form-data")
        assert response.status_code == status, (form, response.get_json())
        assert response.get_json()["error"]["code"] == code
    assert client.get("/api/v1/jobs/does-not-exist", headers=alice).status_code == 404


def test_daily_quota(make_app):
    client = make_app(JOB_DAILY_QUOTA=2).test_client()
    alice, bob = dev_login(client, "alice"), dev_login(client, "bob")
    assert submit(client, alice).status_code == 202
    assert submit(client, alice).status_code == 202
    third = submit(client, alice)
    assert third.status_code == 403 and third.get_json()["error"]["code"] == "quota_exceeded"
    assert submit(client, bob).status_code == 202  # per user


def test_queue_full_answers_429_with_retry_after(make_app):
    app = make_app(JOB_QUEUE_SIZE=2, JOB_WORKERS=0, JOB_RETRY_AFTER=7)
    client = app.test_client()
    alice = dev_login(client)
    assert submit(client, alice).status_code == 202
    assert submit(client, alice).status_code == 202
    full = submit(client, alice)
    assert full.status_code == 429
    assert full.headers["Retry-After"] == "7"
    assert full.get_json()["error"]["code"] == "queue_full"


def test_rate_limits_per_user_and_per_ip(make_app):
    client = make_app(RATELIMIT_JOBS_USER="2/minute", RATELIMIT_JOBS_IP="4/minute").test_client()
    alice, bob = dev_login(client, "alice"), dev_login(client, "bob")
    assert submit(client, alice).status_code == 202
    assert submit(client, alice).status_code == 202
    limited = submit(client, alice)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    assert submit(client, bob).status_code == 202  # bob has his own per-user budget ...
    assert submit(client, bob).status_code == 429  # ... but the address has used its 4 (refused requests count)
    other_address = client.post(
        "/api/v1/jobs",
        data={"style": "tiny", "image": (io.BytesIO(image_bytes()), "a.png")},
        headers=bob,
        environ_base={"REMOTE_ADDR": "127.0.0.2"},
        content_type="multipart/form-data",
    )
    assert other_address.status_code == 202


def test_jobs_switched_off(make_app):
    client = make_app(JOBS_ENABLED=False).test_client()
    response = submit(client, dev_login(client))
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "jobs_disabled"


def test_savedmodel_variant_gives_the_same_picture(make_app):
    """TensorFlow's SavedModel and ONNX Runtime agree on the same network and photo."""
    pictures = []
    for variant in ("onnx", "savedmodel"):
        client = make_app(INFERENCE_VARIANT=variant).test_client()
        alice = dev_login(client)
        job = finished_job(client, alice, data=image_bytes((50, 30)))
        pictures.append(np.asarray(Image.open(io.BytesIO(client.get(job["result"]["url"], headers=alice).data))))
    assert np.abs(pictures[0].astype(int) - pictures[1].astype(int)).max() <= 1


def test_a_broken_model_fails_the_job(make_app, tmp_path, zoo_dir):
    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    next(copy.glob("tiny/*/model.onnx")).write_bytes(b"not a model")
    client = make_app(MODELZOO_DIR=str(copy)).test_client()
    alice = dev_login(client)
    job = wait_job(client, alice, submit(client, alice).get_json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "stylize_failed"
    assert "result" not in job


def test_default_limit_counts_per_user_behind_one_address(make_app):
    client = make_app(RATELIMIT_DEFAULT="3/minute", RATELIMIT_LOGIN="10/minute").test_client()
    alice, bob = dev_login(client, "alice"), dev_login(client, "bob")
    assert [client.get("/api/v1/jobs/x", headers=alice).status_code for _ in range(4)] == [404, 404, 404, 429]
    assert client.get("/api/v1/jobs/x", headers=bob).status_code == 404


def test_daily_quota_holds_under_concurrent_posts(make_app):
    import threading

    app = make_app(
        JOB_DAILY_QUOTA=10,
        JOB_WORKERS=0,
        JOB_QUEUE_SIZE=40,
        UPLOAD_DECODE_WAIT=60.0,
        RATELIMIT_JOBS_USER="100/minute",
        RATELIMIT_JOBS_IP="100/minute",
    )
    alice = dev_login(app.test_client())
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(submit(app.test_client(), alice).status_code)) for _ in range(30)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers) == [202] * 10 + [403] * 20
