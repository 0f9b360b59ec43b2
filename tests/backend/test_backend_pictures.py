"""Pictures made on the phone: uploaded for WeChat's content check, shareable only once it passed,
with the same limits and the same result life as server results."""

from urllib.parse import urlsplit

from tests.backend.helpers import dev_login, sent_check, upload, verdict, wechat_login


def sent_check_of(app, result_id):
    """Waits until the job runner's check thread has submitted the picture's check; its status."""
    from backend.extensions import db
    from backend.models import Result

    with app.app_context():
        job_id = db.session.get(Result, result_id).job_id
    return sent_check(app, job_id)


def share(client, headers, result_id):
    return client.post(f"/api/v1/results/{result_id}/share", headers=headers)


def test_phone_picture_is_checked_then_shared(wechat_app, wechat):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    response = upload(client, alice)
    assert response.status_code == 201, response.get_json()
    result = response.get_json()
    assert result["check"] == "pending" and (result["width"], result["height"]) == (40, 30)

    assert sent_check_of(wechat_app, result["id"]) == "pending"
    check = wechat.calls("/wxa/media_check_async")[0]["body"]
    media = client.get(urlsplit(check["media_url"]).path)  # what WeChat's checker downloads
    assert media.status_code == 200 and media.mimetype == "image/png"

    pending = share(client, alice, result["id"])
    assert pending.status_code == 409 and pending.get_json()["error"]["code"] == "content_check_pending"
    verdict(client, "trace-1", "pass")
    shared = share(client, alice, result["id"])
    assert shared.status_code == 201
    picture = client.get(urlsplit(shared.get_json()["url"]).path)
    assert picture.status_code == 200 and picture.mimetype == "image/png"
    assert client.get(result["url"], headers=alice).status_code == 200  # the owner's copy


def test_flagged_phone_picture_is_never_shared(wechat_app, wechat):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    result = upload(client, alice).get_json()
    assert sent_check_of(wechat_app, result["id"]) == "pending"
    verdict(client, "trace-1", "risky")
    refused = share(client, alice, result["id"])
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "content_rejected"


def test_without_wechat_checks_the_picture_is_shareable_at_once(client):
    alice = dev_login(client)
    result = upload(client, alice).get_json()
    assert result["check"] == "none"
    assert share(client, alice, result["id"]).status_code == 201
    bob = dev_login(client, "bob")
    assert share(client, bob, result["id"]).status_code == 404  # only the owner shares


def test_bad_uploads_are_refused(client):
    alice = dev_login(client)
    assert client.post("/api/v1/results", data={"style": "tiny"}, headers=alice).status_code == 400
    assert upload(client, alice, style="nope").status_code == 404
    assert upload(client, alice, data=b"not a picture").status_code == 415
    assert upload(client, {}).status_code == 401


def test_counts_toward_the_daily_quota(make_app):
    client = make_app(JOB_DAILY_QUOTA=1).test_client()
    alice = dev_login(client)
    assert upload(client, alice).status_code == 201
    refused = upload(client, alice)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "quota_exceeded"
