"""Pictures made on the phone, uploaded so that WeChat's content check can clear them for sharing.

A stylized picture leaves the phone (share card, "send the picture", share link) only after the
check passed. A server result is checked from its upload; a picture made on the phone has no
upload, so the mini-program sends it here first. It becomes a done job with a result, like a
server job's, and the existing machinery takes over: the check is requested in the request
(`content.request_check`) and sent by the job runner's check thread, its verdict arrives on the
message push, and `POST /api/v1/results/<id>/share` answers 409 until it passed. The upload counts toward the
daily quota of jobs and their rate limits.
"""

from datetime import timedelta

from flask import Blueprint, current_app, g, jsonify, request

from backend import content, gifs
from backend.auth import login_required
from backend.extensions import db, limiter, remote_address, user_or_address
from backend.jobs import check_quota, lock_user, store_picture
from backend.models import Job, Result, new_id, utcnow
from backend.storage import result_key, upload_key
from backend.styles import get_style
from backend.uploads import decoding_slot
from backend.urls import public_url
from backend.validation import validated

bp = Blueprint("pictures", __name__)


@bp.post("/api/v1/results")
@limiter.limit(lambda: current_app.config["RATELIMIT_JOBS_USER"], key_func=user_or_address)
@limiter.limit(lambda: current_app.config["RATELIMIT_JOBS_IP"], key_func=remote_address)
@login_required
@validated
def create():
    style = get_style(request.form["style"])  # the form is checked against the description (backend/openapi.py)
    upload = request.files["image"]
    check_quota(g.user)  # refused early, before reading the upload; counted exactly below
    with decoding_slot():
        data = upload.read()
        picture, notes, animated = gifs.open_picture_or_animation(data, current_app.config)
    suffix = gifs.GIF_SUFFIX if animated else ".png"
    now = utcnow()
    width, height = picture.size
    job = Job(
        id=new_id(),
        user_id=g.user.id,
        style=style.id,
        long_side=max(width, height),
        status="done",
        notes="\n".join(["The picture was made on the phone.", *notes]),
        started_at=now,
        finished_at=now,
    )
    job.source_path = upload_key(job.id, suffix)
    result = Result(id=new_id(), job_id=job.id, user_id=g.user.id, width=width, height=height, created_at=now)
    result.path = result_key(result.id, suffix)
    result.expires_at = now + timedelta(days=current_app.config["RESULT_TTL_DAYS"])
    content.request_check(job)
    lock_user(g.user)
    check_quota(g.user)  # exact: counted and inserted under the user's row lock
    for key in (job.source_path, result.path):  # the source is what WeChat's checker fetches (/media/<token>)
        store_picture(key, picture, data, animated)
    db.session.add_all([job, result])
    db.session.commit()
    content.send_later(job)
    return jsonify(
        id=result.id,
        url=public_url("results.image", result_id=result.id),
        width=width,
        height=height,
        media_type=gifs.media_type(result.path),
        expires_at=result.expires_at.isoformat() + "Z",
        check=job.check_status,
    ), 201
