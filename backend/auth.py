"""Login: WeChat `wx.login` code -> our own signed, expiring token. Other views use
`@login_required` and find the user in `g.user`."""

import functools
import logging
import secrets

from flask import Blueprint, current_app, g, jsonify, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from backend.errors import ApiError
from backend.extensions import db, limiter, remote_address
from backend.models import User, utcnow
from backend.validation import validated

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")
# Users of the web app without WeChat: an openid of our own, never one WeChat gives out.
ANONYMOUS_PREFIX = "anon:"


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="auth-token")


def issue_token(user):
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    return {"token": _serializer().dumps({"uid": user.id}), "expires_in": ttl, "user": {"id": user.id}}


def user_from_token(token):
    try:
        data = _serializer().loads(token, max_age=current_app.config["TOKEN_TTL_SECONDS"])
    except (SignatureExpired, BadSignature):
        return None
    uid = data.get("uid") if isinstance(data, dict) else None
    return db.session.get(User, uid) if type(uid) is int else None


def load_user():
    """Sets `g.user` from `Authorization: Bearer <token>` (None when absent or bad)."""
    g.user = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        g.user = user_from_token(header[len("Bearer ") :].strip())


def login_required(view):
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            raise ApiError(401, "unauthorized", "Log in first: the token is missing, expired or invalid.")
        return view(**kwargs)

    return wrapped


def login_user(openid):
    """The user of `openid`, created on first login."""
    for _ in range(2):
        user = db.session.execute(db.select(User).filter_by(openid=openid)).scalar_one_or_none()
        if user is None:
            user = User(openid=openid)
            db.session.add(user)
        user.last_login_at = utcnow()
        try:
            db.session.commit()
            return user
        except IntegrityError:  # a concurrent first login created the same user: use that one
            db.session.rollback()
    raise ApiError(503, "busy", "Please try logging in again.", 1)


def is_anonymous(user):
    return user.openid.startswith(ANONYMOUS_PREFIX)


def _login_limit():
    return current_app.config["RATELIMIT_LOGIN"]


@bp.post("/login")
@limiter.limit(_login_limit, key_func=remote_address)
@validated
def login():
    code = request.get_json()["code"]  # checked against the description (backend/openapi.py)
    openid = current_app.extensions["wechat"].code_to_openid(code.strip())
    return jsonify(issue_token(login_user(openid)))


@bp.post("/anonymous")
@limiter.limit(lambda: current_app.config["RATELIMIT_ANONYMOUS"], key_func=remote_address)
def anonymous():
    """A new anonymous user for a visitor of the web app without WeChat: the same token as a login,
    with the smaller daily quota of JOB_DAILY_QUOTA_ANONYMOUS; few per address (RATELIMIT_ANONYMOUS)."""
    answer = issue_token(login_user(ANONYMOUS_PREFIX + secrets.token_urlsafe(16)))
    answer["anonymous"] = True
    return jsonify(answer)


def dev_login():
    """Development mode only: log in as any openid, no WeChat account needed."""
    openid = request.get_json()["openid"]  # checked against the description (backend/openapi.py)
    answer = issue_token(login_user(f"dev:{openid}"))
    answer["development"] = "This login exists only because the server runs in development mode."
    return jsonify(answer)


def init_app(app):
    """Registers the blueprint, with the development login only in development mode.
    Call before the rate limiter's `init_app`, so that limits keyed by user see `g.user`."""
    app.before_request(load_user)
    if app.config["DEVELOPMENT"]:
        bp_dev = Blueprint("dev_auth", __name__, url_prefix="/api/v1/auth")
        bp_dev.post("/dev-login")(limiter.limit(_login_limit, key_func=remote_address)(validated(dev_login)))
        app.register_blueprint(bp_dev)
        log.warning(
            "development login is on because %s: POST /api/v1/auth/dev-login logs anyone in without WeChat "
            "(set WECHAT_APPID, or APP_ENV=production, to turn it off)",
            app.config["DEVELOPMENT_REASON"],
        )
    app.register_blueprint(bp)
