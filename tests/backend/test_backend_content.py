"""WeChat content security against the fake server: submission with a cached stable_token,
verdicts through the signed message push, and sharing allowed only for pictures that passed."""

import time
from urllib.parse import urlsplit

from tests.backend.helpers import finished_job, sent_check, signed, submit, verdict, wechat_login
from tests.backend.services import wait_until


def share(client, headers, job):
    return client.post(f"/api/v1/results/{job['result']['id']}/share", headers=headers)


def test_upload_is_checked_and_shared_after_it_passed(wechat_app, wechat):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    job = finished_job(client, alice)

    assert sent_check(wechat_app, job["id"]) == "pending"
    check = wechat.calls("/wxa/media_check_async")[0]
    assert check["body"]["media_url"].startswith("https://cartoon.example/media/")
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
    sent_check(wechat_app, job["id"])
    verdict(client, "trace-1", "risky")
    response = share(client, alice, job)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "content_rejected"


def test_a_later_flag_kills_an_existing_link(wechat_app, wechat):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    job = finished_job(client, alice)
    sent_check(wechat_app, job["id"])
    verdict(client, "trace-1", "pass")
    path = urlsplit(share(client, alice, job).get_json()["url"]).path
    assert client.get(path).status_code == 200
    verdict(client, "trace-1", "risky")  # a second verdict (e.g. after a manual review)
    assert client.get(path).status_code == 404


def test_access_token_is_cached_and_refreshed_when_invalid(wechat_app, wechat):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    sent_check(wechat_app, finished_job(client, alice)["id"])
    sent_check(wechat_app, finished_job(client, alice)["id"])
    assert len(wechat.calls("/cgi-bin/stable_token")) == 1  # cached
    wechat.script("/wxa/media_check_async", {"errcode": 40001, "errmsg": "invalid credential"})
    wechat.script("/cgi-bin/stable_token", {"access_token": "ACCESS-TOKEN-2", "expires_in": 7200})
    sent_check(wechat_app, finished_job(client, alice)["id"])
    tokens = wechat.calls("/cgi-bin/stable_token")
    assert len(tokens) == 2 and tokens[1]["body"]["force_refresh"] is True
    assert wechat.calls("/wxa/media_check_async")[-1]["query"]["access_token"] == "ACCESS-TOKEN-2"


def test_check_submission_failure_is_retried_on_share(wechat_app, wechat):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    wechat.script("/wxa/media_check_async", {"errcode": -1, "errmsg": "system busy"})
    job = finished_job(client, alice)  # the job itself does not depend on the check
    assert sent_check(wechat_app, job["id"]) == "error"
    assert len(wechat.calls("/wxa/media_check_async")) == 1
    response = share(client, alice, job)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "content_check_pending"
    assert sent_check(wechat_app, job["id"]) == "pending"
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


def test_a_wechat_that_never_answers_slows_no_request(make_app):
    """Job posts and logins answer at once while WeChat hangs; the check waits on its own thread."""
    import threading

    from tests.backend.fakewechat import SilentServer
    from tests.backend.helpers import dev_login, submit, wait_job

    silent = SilentServer()
    app = make_app(  # development mode for dev-login, which needs no WeChat
        WECHAT_APPID="wx-test-app",
        WECHAT_SECRET="APP-SECRET-VALUE",
        WECHAT_API_BASE=silent.url,
        WECHAT_TIMEOUT=30.0,
        PUBLIC_BASE_URL="https://cartoon.example",
        JOB_QUEUE_SIZE=16,
    )
    headers = dev_login(app.test_client())
    answers = []

    def post():
        answers.append(submit(app.test_client(), headers).status_code)

    def login():
        answers.append(app.test_client().post("/api/v1/auth/dev-login", json={"openid": "bob"}).status_code)

    try:
        threads = [threading.Thread(target=post) for _ in range(8)] + [threading.Thread(target=login)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, started + 15 - time.monotonic()))
        assert sorted(answers) == [200] + [202] * 8
        assert time.monotonic() - started < 10  # far less than one WeChat timeout (30 s)
        # The check thread is waiting on WeChat meanwhile ...
        wait_until(lambda: silent.accepted >= 1, 10, "the check thread did not call WeChat")
        job_id = submit(app.test_client(), headers).get_json()["id"]
        assert wait_job(app.test_client(), headers, job_id)["status"] == "done"  # ... and jobs still run
    finally:
        silent.stop()


def test_a_cached_token_is_served_while_a_refresh_hangs():
    import contextlib
    import threading

    from backend.errors import ApiError
    from backend.wechat import WeChat
    from tests.backend.fakewechat import FakeWeChat, SilentServer

    fake, silent = FakeWeChat().start(), SilentServer()
    try:
        wechat = WeChat("wx", "secret", fake.url, timeout=20)
        assert wechat.access_token() == "ACCESS-TOKEN-1"
        wechat.api_base = silent.url

        def refresh():
            with contextlib.suppress(ApiError):  # when the stand-in closes the connection
                wechat.access_token(force_refresh=True)

        threading.Thread(target=refresh, daemon=True).start()
        while not silent.accepted:
            time.sleep(0.01)
        started = time.monotonic()
        assert wechat.access_token() == "ACCESS-TOKEN-1"
        assert time.monotonic() - started < 5  # not behind the hung refresh (20 s)
    finally:
        silent.stop()
        fake.stop()


def test_without_public_base_url_check_links_use_only_trusted_hosts(make_app, wechat):
    app = make_app(APP_ENV="production", WECHAT_APPID="wx", WECHAT_SECRET="s", PUBLIC_BASE_URL="")
    client = app.test_client()
    alice = wechat_login(client)
    refused = submit(client, {"Host": "evil.example", **alice})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "untrusted_host"
    job_id = submit(client, {"Host": "127.0.0.1:8000", **alice}).get_json()["id"]
    assert sent_check(app, job_id) == "pending"
    assert [c["body"]["media_url"][:28] for c in wechat.calls("/wxa/media_check_async")] == [
        "http://127.0.0.1:8000/media/"
    ]


def test_links_never_come_from_the_host_header(wechat_app, wechat, make_app):
    client = wechat_app.test_client()
    alice = wechat_login(client)
    evil = {"Host": "evil.example", **alice}
    job = finished_job(client, evil)
    assert sent_check(wechat_app, job["id"]) == "pending"
    assert wechat.calls("/wxa/media_check_async")[0]["body"]["media_url"].startswith("https://cartoon.example/")
    assert job["result"]["url"].startswith("https://cartoon.example/")
    verdict(client, "trace-1", "pass")
    link = client.post(f"/api/v1/results/{job['result']['id']}/share", headers=evil).get_json()["url"]
    assert link.startswith("https://cartoon.example/s/")

    # Without PUBLIC_BASE_URL, production answers only hosts it trusts, and links use those.
    plain = make_app(APP_ENV="production").test_client()
    refused = plain.get("/api/v1/styles", headers={"Host": "evil.example"})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "untrusted_host"
    local = plain.get("/api/v1/styles", headers={"Host": "127.0.0.1:8000"})
    assert local.status_code == 200
    assert local.get_json()["styles"][0]["preview_url"].startswith("http://127.0.0.1:8000/models/")
    named = make_app(APP_ENV="production", TRUSTED_HOSTS="cartoon.example, .cdn.example").test_client()
    assert named.get("/healthz", headers={"Host": "cartoon.example"}).status_code == 200
    assert named.get("/healthz", headers={"Host": "eu.cdn.example"}).status_code == 200
    assert named.get("/healthz", headers={"Host": "localhost"}).status_code == 400
