"""WeChat content security against the fake server: submission with a cached stable_token,
verdicts through the signed message push, and sharing allowed only for pictures that passed."""

import hashlib
from urllib.parse import urlsplit

from tests.backend.helpers import finished_job

PUSH_TOKEN = "push-token"


def wechat_login(client):
    token = client.post("/api/v1/auth/login", json={"code": "c"}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def signed(timestamp="1700000000", nonce="n1", token=PUSH_TOKEN):
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"timestamp": timestamp, "nonce": nonce, "signature": signature}


def verdict(client, trace_id, suggest):
    event = {
        "ToUserName": "gh_1",
        "FromUserName": "openid",
        "MsgType": "event",
        "Event": "wxa_media_check",
        "appid": "wx-test-app",
        "trace_id": trace_id,
        "version": 2,
        "errcode": 0,
        "errmsg": "ok",
        "result": {"suggest": suggest, "label": 100 if suggest == "pass" else 20002},
    }
    response = client.post("/api/v1/wechat/events", query_string=signed(), json=event)
    assert response.status_code == 200 and response.data == b"success"


def share(client, headers, job):
    return client.post(f"/api/v1/results/{job['result']['id']}/share", headers=headers)


def test_upload_is_checked_and_shared_after_it_passed(wechat_app, wechat):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    job = finished_job(client, alice)

    check = wechat.calls("/wxa/media_check_async")[0]
    assert check["query"] == {"access_token": "ACCESS-TOKEN-1"}
    assert check["body"]["openid"] == "openid-1"
    assert check["body"]["media_type"] == 2 and check["body"]["version"] == 2
    token_call = wechat.calls("/cgi-bin/stable_token")[0]["body"]
    assert token_call["grant_type"] == "client_credential" and token_call["force_refresh"] is False
    media = client.get(urlsplit(check["body"]["media_url"]).path)  # what WeChat downloads
    assert media.status_code == 200 and media.mimetype == "image/png"

    pending = share(client, alice, job)
    assert pending.status_code == 409
    assert pending.get_json()["error"]["code"] == "content_check_pending"
    assert "Retry-After" in pending.headers

    verdict(client, "trace-1", "pass")
    link = share(client, alice, job)
    assert link.status_code == 201
    assert client.get(urlsplit(link.get_json()["url"]).path).status_code == 200


def test_flagged_picture_cannot_be_shared(wechat_app, wechat):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    job = finished_job(client, alice)
    verdict(client, "trace-1", "risky")
    response = share(client, alice, job)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "content_rejected"


def test_a_later_flag_kills_an_existing_link(wechat_app, wechat):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    job = finished_job(client, alice)
    verdict(client, "trace-1", "pass")
    path = urlsplit(share(client, alice, job).get_json()["url"]).path
    assert client.get(path).status_code == 200
    verdict(client, "trace-1", "risky")  # a second verdict (e.g. after a manual review)
    assert client.get(path).status_code == 404


def test_access_token_is_cached_and_refreshed_when_invalid(wechat_app, wechat):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    finished_job(client, alice)
    finished_job(client, alice)
    assert len(wechat.calls("/cgi-bin/stable_token")) == 1  # cached
    wechat.script("/wxa/media_check_async", {"errcode": 40001, "errmsg": "invalid credential"})
    wechat.script("/cgi-bin/stable_token", {"access_token": "ACCESS-TOKEN-2", "expires_in": 7200})
    finished_job(client, alice)
    tokens = wechat.calls("/cgi-bin/stable_token")
    assert len(tokens) == 2 and tokens[1]["body"]["force_refresh"] is True
    assert wechat.calls("/wxa/media_check_async")[-1]["query"]["access_token"] == "ACCESS-TOKEN-2"


def test_check_submission_failure_is_retried_on_share(wechat_app, wechat):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    wechat.script("/wxa/media_check_async", {"errcode": -1, "errmsg": "system busy"})
    job = finished_job(client, alice)  # the job itself does not depend on the check
    assert len(wechat.calls("/wxa/media_check_async")) == 1
    response = share(client, alice, job)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "content_check_pending"
    assert len(wechat.calls("/wxa/media_check_async")) == 2  # submitted again


def test_message_push_signature_and_verification(wechat_app, make_app):
    client = wechat_app.test_client()
    echo = client.get("/api/v1/wechat/events", query_string={**signed(), "echostr": "hello"})
    assert echo.status_code == 200 and echo.data == b"hello"
    forged = client.post("/api/v1/wechat/events", query_string=signed(token="wrong"), json={})
    assert forged.status_code == 403 and forged.get_json()["error"]["code"] == "bad_signature"
    off = make_app(WECHAT_PUSH_TOKEN="").test_client()
    assert off.post("/api/v1/wechat/events", query_string=signed(), json={}).status_code == 404


def test_unknown_media_token_is_404(wechat_app):
    assert wechat_app.test_client().get("/media/nothing-here").status_code == 404
