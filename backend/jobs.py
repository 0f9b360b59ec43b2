"""Server-side stylization jobs: upload a photo, then poll the job until it is done."""

import logging
from datetime import datetime, time

from flask import Blueprint, current_app, g, jsonify, request

from backend import content, gifs
from backend.auth import is_anonymous, login_required
from backend.errors import ApiError
from backend.extensions import db, limiter, remote_address, user_or_address
from backend.inference import max_long_side, model_used, network_for
from backend.metrics import JOBS
from backend.models import Job, User, new_id, utcnow
from backend.storage import storage, upload_key
from backend.styles import get_style
from backend.uploads import decoding_slot, fit_long_side
from backend.urls import public_url
from backend.validation import validated

log = logging.getLogger(__name__)
bp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs")


@bp.before_request
def database_upgraded():
    """No job on a database behind the code's migrations (PostgreSQL before `flask db upgrade`)."""
    problem = current_app.extensions["schema"].problem()
    if problem:
        log.warning("jobs refused: %s", problem)
        raise ApiError(503, "database_outdated", "The server's database is being upgraded; try again later.", 60)


def runner():
    runner = current_app.extensions.get("jobs")
    if runner is None:
        raise ApiError(503, "jobs_disabled", "Server-side stylization is switched off on this server.", 60)
    return runner


def describe(job):
    answer = {
        "id": job.id,
        "status": job.status,
        "style": job.style,
        "model": job.model,
        "long_side": job.long_side,
        "created_at": job.created_at.isoformat() + "Z",
    }
    if job.notes:
        answer["notes"] = job.notes.split("\n")
    if job.status == "done" and job.result is not None and job.result.alive():
        result = job.result
        answer["result"] = {
            "id": result.id,
            "url": public_url("results.image", result_id=result.id),
            "width": result.width,
            "height": result.height,
            "media_type": gifs.media_type(result.path),
            "expires_at": result.expires_at.isoformat() + "Z",
        }
    elif job.status == "done":
        answer["status"] = "failed"
        answer["error"] = {"code": "result_expired", "message": "The result was deleted or has expired."}
    if job.status == "failed":
        answer["error"] = {"code": job.error_code, "message": job.error_message}
    return answer


ORIGINAL = "original"  # long_side: the photo's own size


def long_side_of(value):
    """The requested long side: a number of pixels, or `ORIGINAL` (the photo's own size)."""
    if value in (None, ""):
        return current_app.config["JOB_DEFAULT_LONG_SIDE"]
    return ORIGINAL if value == ORIGINAL else int(value)  # checked against the description (backend/openapi.py)


def model_of(value):
    """The requested model: "fast" (the style's student) or "best" (its generator); SERVER_MODEL
    when the client does not say."""
    return value or current_app.config["SERVER_MODEL"]  # checked against the description (backend/openapi.py)


def fit_for_style(picture, long_side, style, model, notes):
    """`(picture, long side)`: the picture at the requested long side (never enlarged) within what
    the server does for this style and model (`max_long_side`); a note says when that limit made it
    smaller."""
    limit = max_long_side(style, current_app.config, network_for(style, model))
    wanted = max(picture.size) if long_side == ORIGINAL else long_side
    if min(wanted, max(picture.size)) > limit:
        notes.append(f"The style {style.id!r} is stylized at most {limit} pixels on the long side.")
    return fit_long_side(picture, min(wanted, limit)), min(wanted, limit)


def check_quota(user):
    """403 once the user has had today's JOB_DAILY_QUOTA jobs (JOB_DAILY_QUOTA_ANONYMOUS for an
    anonymous user); exact only after `lock_user`."""
    quota = current_app.config["JOB_DAILY_QUOTA_ANONYMOUS" if is_anonymous(user) else "JOB_DAILY_QUOTA"]
    midnight = datetime.combine(utcnow().date(), time())
    used = db.session.scalar(db.select(db.func.count(Job.id)).where(Job.user_id == user.id, Job.created_at >= midnight))
    if used >= quota:
        JOBS.labels("quota_exceeded").inc()
        raise ApiError(403, "quota_exceeded", f"You have used today's {quota} server stylizations; try tomorrow.")


def lock_user(user):
    """Holds the user's row lock until the transaction ends (on SQLite, the write lock), so that
    one user's concurrent posts count and insert their jobs one at a time. It changes nothing."""
    db.session.execute(db.update(User).where(User.id == user.id).values(id=User.id))


def store_picture(key, picture, data, animated):
    """Stores an upload under `key`: the decoded picture as a PNG, or an animated GIF as sent (the
    job stylizes it frame by frame)."""
    with storage().create(key) as file:
        if animated:
            file.write(data)
        else:
            picture.save(file, "PNG")


def queue_full():
    """The 429 answer when the job queue has no room, counted in the metrics."""
    JOBS.labels("queue_full").inc()
    return ApiError(
        429,
        "queue_full",
        "The server is busy with other photos; try again shortly.",
        current_app.config["JOB_RETRY_AFTER"],
    )


@bp.post("")
@limiter.limit(lambda: current_app.config["RATELIMIT_JOBS_USER"], key_func=user_or_address)
@limiter.limit(lambda: current_app.config["RATELIMIT_JOBS_IP"], key_func=remote_address)
@login_required
@validated
def create():
    jobs = runner()
    style = get_style(request.form["style"])  # the form is checked against the description (backend/openapi.py)
    long_side = long_side_of(request.form.get("long_side"))
    requested = model_of(request.form.get("model"))
    model = model_used(style, requested)
    upload = request.files["image"]
    check_quota(g.user)  # refused early, before reading the upload; counted exactly below
    if not jobs.has_room():
        raise queue_full()

    with decoding_slot():
        data = upload.read()
        limit = None if long_side == ORIGINAL else long_side
        picture, notes, animated = gifs.open_picture_or_animation(data, current_app.config, limit)
    if model != requested:
        notes.append(f"The style {style.id!r} has no fast model; its best model is used.")
    picture, long_side = fit_for_style(picture, long_side, style, model, notes)  # an animation: each frame alike
    job = Job(
        id=new_id(),
        user_id=g.user.id,
        style=style.id,
        model=model,
        long_side=long_side,
        worker_id=jobs.worker_id,
        notes="\n".join(notes) or None,
    )
    content.request_check(job)
    job.source_path = upload_key(job.id, gifs.GIF_SUFFIX if animated else ".png")
    store_picture(job.source_path, picture, data, animated)
    lock_user(g.user)
    try:
        check_quota(g.user)
    except ApiError:
        db.session.rollback()
        storage().delete(job.source_path)
        raise
    db.session.add(job)
    db.session.commit()
    if not jobs.submit(job.id):  # filled up since the check above
        db.session.delete(job)
        db.session.commit()
        storage().delete(job.source_path)
        raise queue_full()
    JOBS.labels("queued").inc()
    content.send_later(job)
    return jsonify(describe(job)), 202


def owned_job(job_id):
    job = db.session.get(Job, job_id)
    if job is None or job.user_id != g.user.id:
        raise ApiError(404, "not_found", "No such job.")
    return job


@bp.get("/<job_id>")
@login_required
def get(job_id):
    return jsonify(describe(owned_job(job_id)))
