"""Results: deletion, expiry, the cleanup command, and share links dying with them."""

from urllib.parse import urlsplit

import pytest

from backend.extensions import db
from backend.models import Result
from tests.backend.helpers import dev_login, expire, finished_job

pytestmark = pytest.mark.databases("sqlite", "postgresql")


def shared_result(client, headers):
    job = finished_job(client, headers)
    link = client.post(f"/api/v1/results/{job['result']['id']}/share", headers=headers).get_json()["url"]
    return job, urlsplit(link).path


def test_deleted_result_kills_its_link(app, client):
    alice = dev_login(client)
    job, link = shared_result(client, alice)
    assert client.get(link).status_code == 200
    assert client.delete(f"/api/v1/results/{job['result']['id']}", headers=alice).status_code == 204
    assert client.get(link).status_code == 404
    assert client.get(f"/api/v1/results/{job['result']['id']}/image", headers=alice).status_code == 404
    assert client.delete(f"/api/v1/results/{job['result']['id']}", headers=alice).status_code == 404
    answer = client.get(f"/api/v1/jobs/{job['id']}", headers=alice).get_json()
    assert answer["status"] == "failed" and answer["error"]["code"] == "result_expired"
    with app.app_context():
        result = db.session.get(Result, job["result"]["id"])
        assert result.path == f"results/{result.id}.png"  # a key of the storage, no absolute path
        assert not app.extensions["storage"].exists(result.path) and result.job.source_path is None


def test_expired_result_and_cleanup_command(app, client):
    alice = dev_login(client)
    job, link = shared_result(client, alice)
    _, kept = shared_result(client, alice)
    picture, source = expire(app, job["result"]["id"])
    files = app.extensions["storage"]
    assert client.get(link).status_code == 404  # dead at once, before any cleanup
    assert client.get(f"/api/v1/results/{job['result']['id']}/image", headers=alice).status_code == 404
    assert files.exists(picture) and files.exists(source)

    output = app.test_cli_runner().invoke(args=["cleanup"])
    assert output.exit_code == 0 and "removed 1 expired results" in output.output
    assert not files.exists(picture) and not files.exists(source)
    assert client.get(kept).status_code == 200  # the other result is untouched


def test_unknown_share_token(client):
    assert client.get("/s/not-a-real-token").status_code == 404


def test_headers_of_private_and_shared_answers(client):
    from tests.backend.helpers import finished_job

    login = client.post("/api/v1/auth/dev-login", json={"openid": "alice"})
    assert login.headers["Cache-Control"] == "no-store"  # a token
    alice = {"Authorization": f"Bearer {login.get_json()['token']}"}
    job = finished_job(client, alice)
    result_id = job["result"]["id"]
    private = [client.get(f"/api/v1/jobs/{job['id']}", headers=alice), client.get("/api/v1/jobs/x", headers=alice)]
    for response in private:
        assert response.is_json and response.headers["Cache-Control"] == "no-store"
    link = client.post(f"/api/v1/results/{result_id}/share", headers=alice).get_json()["url"]
    for response in [*private, client.get(link), client.get(job["result"]["url"], headers=alice)]:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert result_id not in str(response.headers)
    assert "public" in client.get(link).headers["Cache-Control"]  # the views' own caching is kept
    assert "public" in client.get("/api/v1/styles").headers["Cache-Control"]


def test_pictures_answer_conditional_and_range_requests(client):
    """ETag (304) and Range (206, 416), as the description documents them (the test client checks
    each answer against it)."""
    alice = dev_login(client)
    job, link = shared_result(client, alice)
    whole = client.get(job["result"]["url"], headers=alice)
    part = client.get(job["result"]["url"], headers={**alice, "Range": "bytes=0-7"})
    assert part.status_code == 206 and part.data == whole.data[:8]
    assert client.get(f"{link}/image", headers={"Range": f"bytes={len(whole.data)}-"}).status_code == 416
    assert client.get(f"{link}/image", headers={"If-None-Match": whole.headers["ETag"]}).status_code == 304
