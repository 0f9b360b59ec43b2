"""Login through a real local fake WeChat server: each of WeChat's answers maps to a clear error,
and neither the AppSecret nor the session_key ever shows in an answer or a log line."""

import logging

import pytest

from backend.config import LISTEN_VARIABLE
from tests.backend.helpers import LATE_ANSWER, SHORT_WECHAT_TIMEOUT, WECHAT_SETTINGS
from tests.ports import free_port

pytestmark = pytest.mark.databases("sqlite", "postgresql")

SECRET = "APP-SECRET-VALUE"
SESSION_KEY = "SESSION-KEY-SECRET"


def login(client, code="code-1"):
    return client.post("/api/v1/auth/login", json={"code": code})


def test_login_creates_the_user_and_returns_a_working_token(wechat_app, wechat):
    client = wechat_app.test_client()
    response = login(client)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "expires_in", "user"}
    assert body["expires_in"] == wechat_app.config["TOKEN_TTL_SECONDS"]
    call = wechat.calls("/sns/jscode2session")[0]
    assert call["query"] == {
        "appid": "wx-test-app",
        "secret": SECRET,
        "js_code": "code-1",
        "grant_type": "authorization_code",
    }
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/jobs/none", headers=headers).status_code == 404  # authenticated, no such job
    # The same openid again is the same user.
    assert login(client, "code-2").get_json()["user"] == body["user"]


@pytest.mark.parametrize(
    "answer, status, code, retry_after",
    [
        ({"errcode": 40029, "errmsg": "invalid code"}, 401, "invalid_code", None),
        ({"errcode": 40163, "errmsg": "code been used"}, 401, "invalid_code", None),
        ({"errcode": 45011, "errmsg": "api minute-quota reach limit"}, 429, "rate_limited", "60"),
        ({"errcode": 40226, "errmsg": "invalid user"}, 403, "user_blocked", None),
        ({"errcode": -1, "errmsg": "system error"}, 503, "wechat_busy", "5"),
        ({"errcode": 40013, "errmsg": "invalid appid"}, 502, "wechat_error", None),
    ],
)
def test_wechat_errors(wechat_app, wechat, answer, status, code, retry_after):
    wechat.script("/sns/jscode2session", answer)
    response = login(wechat_app.test_client())
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert response.headers.get("Retry-After") == retry_after


def test_wechat_timeout_is_503(make_app, wechat):
    wechat.script("/sns/jscode2session", {"openid": "late"}, delay=LATE_ANSWER)
    response = login(make_app(**WECHAT_SETTINGS, WECHAT_TIMEOUT=SHORT_WECHAT_TIMEOUT).test_client())
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "wechat_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_wechat_connection_refused_is_503(make_app):
    port = free_port()  # nothing listens on it
    app = make_app(WECHAT_APPID="wx", WECHAT_SECRET=SECRET, WECHAT_API_BASE=f"http://127.0.0.1:{port}")
    response = login(app.test_client())
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "wechat_unavailable"
    assert "Retry-After" in response.headers


def test_wechat_garbage_answer_is_503(wechat_app, wechat):
    wechat.script("/sns/jscode2session", "not an object", status=502)
    assert login(wechat_app.test_client()).status_code in (502, 503)


def test_missing_or_bad_code(wechat_app):
    client = wechat_app.test_client()
    for body in ({}, {"code": ""}, {"code": 5}):
        response = client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "missing_code"
    response = client.post("/api/v1/auth/login", data="code=1")
    assert response.status_code == 400


def test_not_configured(app):
    response = login(app.test_client())
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "wechat_not_configured"


def test_secrets_never_in_answers_or_logs(make_app, wechat, caplog):
    caplog.set_level(logging.DEBUG)
    wechat_app = make_app(**WECHAT_SETTINGS, WECHAT_TIMEOUT=SHORT_WECHAT_TIMEOUT)  # the last login times out
    client = wechat_app.test_client()
    answers = [login(client).get_data(as_text=True)]
    wechat.script("/sns/jscode2session", {"errcode": 40029, "errmsg": "invalid code", "session_key": SESSION_KEY})
    answers.append(login(client).get_data(as_text=True))
    wechat.script("/sns/jscode2session", {"openid": "x"}, delay=LATE_ANSWER)
    answers.append(login(client).get_data(as_text=True))
    assert wechat.calls("/sns/jscode2session")  # the secret was sent to WeChat ...
    text = "\n".join(answers + [record.getMessage() for record in caplog.records] + [caplog.text])
    for secret in (SECRET, SESSION_KEY, "code-1", "openid-1"):
        assert secret not in text  # ... and to nobody else
    assert SECRET not in repr(wechat_app.extensions["wechat"])


def test_dev_login_only_in_development(make_app):
    production = make_app(APP_ENV="production").test_client()
    assert production.post("/api/v1/auth/dev-login", json={"openid": "x"}).status_code == 404
    development = make_app(APP_ENV="development").test_client()
    response = development.post("/api/v1/auth/dev-login", json={"openid": "x"})
    assert response.status_code == 200
    assert "development mode" in response.get_json()["development"]


@pytest.mark.parametrize(
    "settings, listen, on",
    [
        ({}, "127.0.0.1:8000", True),  # make run's defaults
        ({}, "localhost:8000 [::1]:8001", True),
        ({}, "0.0.0.0:8000", False),  # reachable from other machines
        ({}, "127.0.0.1:8000 10.1.2.3:8000", False),
        ({}, "unix:/run/backend.sock", False),  # a proxy's socket
        ({}, "", False),  # not under gunicorn: where it listens is unknown
        ({"WECHAT_APPID": "wx123"}, "127.0.0.1:8000", False),
        ({"PROXY_FIX": 1}, "127.0.0.1:8000", False),  # requests come through a proxy
        ({"APP_ENV": "production"}, "127.0.0.1:8000", False),
        ({"APP_ENV": "development"}, "0.0.0.0:8000", True),
    ],
)
def test_dev_login_is_on_by_itself_only_where_nobody_else_can_reach_it(make_app, monkeypatch, settings, listen, on):
    monkeypatch.setenv(LISTEN_VARIABLE, listen)
    client = make_app(**{"APP_ENV": "", **settings}).test_client()
    assert client.post("/api/v1/auth/dev-login", json={"openid": "x"}).status_code == (200 if on else 404)


def test_unknown_app_env_is_named(make_app):
    with pytest.raises(ValueError, match="APP_ENV"):
        make_app(APP_ENV="staging")


def test_login_rate_limit_per_address(make_app):
    client = make_app(RATELIMIT_LOGIN="2/minute").test_client()
    for _ in range(2):
        assert client.post("/api/v1/auth/dev-login", json={"openid": "a"}).status_code == 200
    response = client.post("/api/v1/auth/dev-login", json={"openid": "a"})
    assert response.status_code == 429 and "Retry-After" in response.headers
