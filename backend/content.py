"""WeChat content security for uploaded pictures (`media_check_async`).

When WeChat credentials are configured, every upload is submitted for checking. WeChat fetches the
picture from an unguessable `/media/<token>` link and later posts its verdict to the mini-program's
message push URL, which is `/api/v1/wechat/events` here (plain-text or compatible mode, JSON, token
WECHAT_PUSH_TOKEN). A result can be shared only once its source passed (or when checks are off).

The link comes from PUBLIC_BASE_URL or else from a Host header the app trusts (TRUSTED_HOSTS,
backend/urls.py), never from whatever an uploader sends: WeChat would check the picture of their
choosing. The submission is no part of the upload request: the request marks the job `pending`
and the job runner's check thread calls WeChat with no database transaction open, so a slow
WeChat holds up nothing but later checks.
"""

import hashlib
import hmac
import logging
import secrets
from pathlib import Path

from flask import Blueprint, current_app, request

from backend.errors import ApiError
from backend.extensions import db, limiter
from backend.models import Job, User
from backend.storage import send_picture
from backend.urls import public_url
from backend.validation import validated

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)

VERDICTS = {"pass", "risky", "review"}


def init_app(app):
    app.config["CONTENT_CHECKS"] = bool(app.config["WECHAT_APPID"] and app.config["WECHAT_SECRET"])
    app.register_blueprint(bp)


def request_check(job):
    """Marks the job's upload for checking, in the caller's transaction; `send_later` sends it."""
    if current_app.config["CONTENT_CHECKS"]:
        job.media_token = job.media_token or secrets.token_urlsafe(24)
        job.check_status, job.check_trace_id = "pending", None


def send_later(job):
    """Hands the job's check, with its link made here in the request, to the job runner's check
    thread, or to a Celery worker when jobs run there."""
    runner = current_app.extensions.get("jobs")
    if runner is not None and job.check_status == "pending" and not job.check_trace_id:
        runner.check_content(job.id, public_url("wechat.media", token=job.media_token))


def send_check(job_id, media_url):
    """Submits one pending check to WeChat (on the check thread); a failure leaves `error`, which is
    retried when the owner shares the result."""
    job = db.session.get(Job, job_id)
    if job is None or job.check_status != "pending" or job.check_trace_id or not job.media_token:
        return  # already sent, decided, or deleted
    openid = db.session.get(User, job.user_id).openid
    db.session.rollback()  # no transaction stays open while WeChat is called
    values = {}
    try:
        values["check_trace_id"] = current_app.extensions["wechat"].media_check(media_url, openid)
    except ApiError as error:
        values["check_status"] = "error"
        log.warning("content check not submitted: %s", error.code)
    db.session.execute(
        db.update(Job)
        .where(Job.id == job_id, Job.check_status == "pending", Job.check_trace_id.is_(None))
        .values(**values)
    )
    db.session.commit()


def require_shareable(job):
    """Raises 409 unless the picture may be shown to others."""
    if job.check_status in ("none", "pass"):
        return
    if job.check_status == "error" or (job.check_status == "pending" and not job.check_trace_id):
        request_check(job)  # failed, or lost with a stopped process: send it again
        db.session.commit()
        send_later(job)
    if job.check_status == "pending":
        raise ApiError(409, "content_check_pending", "The picture is still being checked; try again shortly.", 5)
    raise ApiError(409, "content_rejected", "WeChat's content check flagged this picture, so it cannot be shared.")


@bp.get("/media/<token>")
@limiter.exempt
def media(token):
    """The uploaded picture, for WeChat's checker only (the token is in no answer to clients)."""
    job = db.session.execute(db.select(Job).filter_by(media_token=token)).scalar_one_or_none()
    if job is None or not job.source_path:
        raise ApiError(404, "not_found", "No such picture.")
    return send_picture(job.source_path, max_age=0, download_name=f"upload{Path(job.source_path).suffix}")


def signature_ok(token):
    parts = sorted([token, request.args.get("timestamp", ""), request.args.get("nonce", "")])
    expected = hashlib.sha1("".join(parts).encode()).hexdigest()
    return hmac.compare_digest(expected.encode(), request.args.get("signature", "").encode())  # any characters


@bp.route("/api/v1/wechat/events", methods=["GET", "POST"])
@limiter.exempt
@validated
def events():
    """WeChat's message push: GET verifies the URL, POST brings `wxa_media_check` verdicts."""
    token = current_app.config["WECHAT_PUSH_TOKEN"]
    if not token:
        raise ApiError(404, "not_found", "Message push is not configured.")
    if not signature_ok(token):
        raise ApiError(403, "bad_signature", "The message signature does not match.")
    if request.method == "GET":
        return request.args.get("echostr", ""), 200, {"Content-Type": "text/plain"}
    event = request.get_json(silent=True) or {}
    if event.get("Event") == "wxa_media_check" and event.get("trace_id"):
        suggest = (event.get("result") or {}).get("suggest")
        job = db.session.execute(db.select(Job).filter_by(check_trace_id=event["trace_id"])).scalar_one_or_none()
        if job is not None and suggest in VERDICTS:
            job.check_status = suggest
            db.session.commit()
            log.info("content check verdict: %s", suggest)
    return "success", 200, {"Content-Type": "text/plain"}
