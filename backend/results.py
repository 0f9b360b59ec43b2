"""Stylized pictures: the owner downloads or deletes them, and may create a public share link
that dies with the result (expiry or deletion)."""

import logging
from datetime import timedelta
from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, render_template, request

from backend.auth import login_required
from backend.content import require_shareable
from backend.errors import ApiError
from backend.extensions import db
from backend.gifs import media_type
from backend.models import Job, Result, Share, utcnow
from backend.storage import send_picture, storage
from backend.urls import public_url

log = logging.getLogger(__name__)
bp = Blueprint("results", __name__)


def download_name(result):
    """cartoon.png or cartoon.gif (the stored file's name is the result id)."""
    return "cartoon" + Path(result.path).suffix


def owned_result(result_id):
    result = db.session.get(Result, result_id)
    if result is None or result.user_id != g.user.id or not result.alive():
        raise ApiError(404, "not_found", "No such result (it may have expired or been deleted).")
    return result


@bp.get("/api/v1/results/<result_id>/image")
@login_required
def image(result_id):
    result = owned_result(result_id)
    response = send_picture(result.path, max_age=0, download_name=download_name(result))
    response.cache_control.private = True
    return response


@bp.delete("/api/v1/results/<result_id>")
@login_required
def delete(result_id):
    remove(owned_result(result_id))
    db.session.commit()
    return "", 204


@bp.post("/api/v1/results/<result_id>/share")
@login_required
def share(result_id):
    result = owned_result(result_id)
    require_shareable(result.job)
    link = db.session.execute(db.select(Share).filter_by(result_id=result.id)).scalar_one_or_none()
    if link is None:
        link = Share(result_id=result.id)
        db.session.add(link)
        db.session.commit()
    return jsonify(
        url=public_url("results.shared", token=link.token),
        image_url=public_url("results.shared_image", token=link.token),
        expires_at=result.expires_at.isoformat() + "Z",
    ), 201


def live_share(token):
    """The share link of `token`; 404 once the result expires, is deleted, or is flagged."""
    link = db.session.get(Share, token)
    if link is None or not link.result.alive() or link.result.job.check_status not in ("none", "pass"):
        raise ApiError(404, "not_found", "This shared picture is no longer available.")
    return link


@bp.get("/s/<token>")
def shared(token):
    """A browser (which asks for HTML first) gets a small page with the picture; anything else,
    such as WeChat fetching a share card's imageUrl, the picture itself."""
    link = live_share(token)
    if request.accept_mimetypes.best_match([media_type(link.result.path), "text/html"]) == "text/html":
        language = request.accept_languages.best_match(["en", "zh"], default="en")
        page = render_template(
            "share.html",
            zh=language == "zh",
            image_url=public_url("results.shared_image", token=token),
            page_url=public_url("results.shared", token=token),
            app_url=public_url("web.index"),
            image_type=media_type(link.result.path),
            width=link.result.width,
            height=link.result.height,
        )
        return page, 200, {"Cache-Control": "public, max-age=300", "Vary": "Accept, Accept-Language"}
    return shared_image(token)


@bp.get("/s/<token>/image")
def shared_image(token):
    """The shared picture (PNG, or GIF for an animated one), public."""
    result = live_share(token).result
    response = send_picture(result.path, max_age=300, download_name=download_name(result))
    response.cache_control.public = True
    response.vary.add("Accept")
    return response


def remove(result, now=None):
    """Deletes a result's picture, its share links and its uploaded source."""
    storage().delete(result.path)
    result.deleted_at = now or utcnow()
    db.session.execute(db.delete(Share).where(Share.result_id == result.id))
    if result.job.source_path:
        remove_upload(result.job)


def remove_upload(job):
    """Deletes a job's uploaded source (WeChat's checker can no longer fetch it at /media/<token>)."""
    storage().delete(job.source_path)
    job.source_path = job.media_token = None


def cleanup(now=None):
    """Deletes expired results and the uploads of old jobs; returns `(results, uploads)` counts."""
    now = now or utcnow()
    expired = db.session.scalars(db.select(Result).where(Result.deleted_at.is_(None), Result.expires_at <= now)).all()
    for result in expired:
        remove(result, now)
    horizon = now - timedelta(days=current_app.config["RESULT_TTL_DAYS"])
    old_jobs = db.session.scalars(
        db.select(Job).where(
            Job.created_at <= horizon, Job.source_path.is_not(None), Job.status.in_(("done", "failed"))
        )
    ).all()
    for job in old_jobs:
        remove_upload(job)
    db.session.commit()
    log.info("cleanup: %d results, %d uploads removed", len(expired), len(old_jobs))
    return len(expired), len(old_jobs)
