"""The WeChat server APIs we call: `jscode2session` (login), `stable_token` (access token, cached)
and `media_check_async` (image content security).

The AppSecret and the `session_key` stay in this module: they are never logged, never returned,
never stored. Requests go to `WECHAT_API_BASE`, so tests point it at a local fake server.
"""

import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from backend.errors import ApiError
from backend.metrics import WECHAT_CALLS

log = logging.getLogger(__name__)

INVALID_CODE = {40029, 40163}  # invalid code, code already used
RATE_LIMITED = 45011
BLOCKED_USER = 40226
BUSY = -1
TOKEN_INVALID = {40001, 42001}  # access token invalid or expired
TOKEN_MARGIN_SECONDS = 300  # refresh this long before WeChat says the token expires


class WeChat:
    def __init__(self, appid, secret, api_base, timeout=5.0, retry_after=5):
        self.appid = appid
        self._secret = secret
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._token = None
        self._token_expires = 0.0

    @classmethod
    def from_config(cls, config):
        return cls(
            config["WECHAT_APPID"],
            config["WECHAT_SECRET"],
            config["WECHAT_API_BASE"],
            config["WECHAT_TIMEOUT"],
            config["WECHAT_RETRY_AFTER"],
        )

    @property
    def configured(self):
        return bool(self.appid and self._secret)

    def __repr__(self):  # never show the secret, even in a debugger or a traceback
        return f"WeChat(appid={self.appid!r}, api_base={self.api_base!r})"

    def _call(self, api, path, query=None, body=None):
        """One request; the JSON answer, or `ApiError` 503 when WeChat cannot be reached."""
        url = f"{self.api_base}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError, ValueError) as error:
            # Name the kind of failure only: the URL holds the secret and the login code.
            reason = getattr(error, "reason", error)
            kind = "timeout" if isinstance(reason, TimeoutError | socket.timeout) else type(reason).__name__
            WECHAT_CALLS.labels(api, "unreachable").inc()
            log.warning("wechat %s failed: %s", api, kind)
            raise ApiError(
                503, "wechat_unavailable", "WeChat cannot be reached right now; try again shortly.", self.retry_after
            ) from None
        if not isinstance(answer, dict):
            answer = {}
        errcode = answer.get("errcode", 0) or 0
        WECHAT_CALLS.labels(api, "ok" if errcode == 0 else str(errcode)).inc()
        if errcode:
            log.info("wechat %s answered errcode %s", api, errcode)
        return answer

    def _raise_common(self, errcode):
        if errcode == BUSY:
            raise ApiError(503, "wechat_busy", "WeChat is busy; try again shortly.", self.retry_after)
        if errcode == RATE_LIMITED:
            raise ApiError(429, "rate_limited", "Too many login attempts; try again in a minute.", 60)
        raise ApiError(502, "wechat_error", f"WeChat refused the request (errcode {errcode}).")

    def code_to_openid(self, code):
        """The openid for a `wx.login` code; the `session_key` WeChat also sends is dropped here."""
        if not self.configured:
            raise ApiError(503, "wechat_not_configured", "WeChat login is not configured on this server.")
        answer = self._call(
            "jscode2session",
            "/sns/jscode2session",
            {"appid": self.appid, "secret": self._secret, "js_code": code, "grant_type": "authorization_code"},
        )
        errcode = answer.get("errcode", 0) or 0
        if errcode in INVALID_CODE:
            raise ApiError(401, "invalid_code", "The login code is invalid or was already used; log in again.")
        if errcode == BLOCKED_USER:
            raise ApiError(403, "user_blocked", "This WeChat account is blocked from using the service.")
        if errcode:
            self._raise_common(errcode)
        openid = answer.get("openid")
        if not openid:
            raise ApiError(502, "wechat_error", "WeChat answered without an openid.")
        return openid

    def access_token(self, force_refresh=False):
        """The cached `stable_token`, fetched again shortly before it expires. No lock is held
        during the call: a WeChat that does not answer holds up only the caller that asked it."""
        with self._lock:
            if not force_refresh and self._token and time.monotonic() < self._token_expires:
                return self._token
        answer = self._call(
            "stable_token",
            "/cgi-bin/stable_token",
            body={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self._secret,
                "force_refresh": force_refresh,
            },
        )
        if answer.get("errcode") or not answer.get("access_token"):
            self._raise_common(answer.get("errcode") or 0)
        lifetime = int(answer.get("expires_in", 7200))
        with self._lock:
            self._token = answer["access_token"]
            self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, lifetime // 2)
            return self._token

    def media_check(self, media_url, openid, scene=1):
        """Submits an image to `media_check_async`; returns the trace id of the later verdict."""
        body = {"media_url": media_url, "media_type": 2, "version": 2, "scene": scene, "openid": openid}
        answer = {}
        for attempt in range(2):
            token = self.access_token(force_refresh=attempt > 0)
            answer = self._call("media_check_async", "/wxa/media_check_async", {"access_token": token}, body)
            if answer.get("errcode") not in TOKEN_INVALID:
                break
        errcode = answer.get("errcode", 0) or 0
        if errcode:
            self._raise_common(errcode)
        return answer.get("trace_id")
