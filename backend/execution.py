"""Running one server job: the single function both job paths call.

The in-process runner (backend/runner.py, the embedded default) and the Celery task
(backend/worker.py, when CELERY_BROKER_URL is set) both hand a job id to `execute`, inside an app
context. It is idempotent: a job that has finished is never run again, so a message delivered twice
does no harm. A job that was already `running` (its worker died mid-job and the broker delivered it
again) is run again, at most JOB_MAX_ATTEMPTS times in all, then it fails with `interrupted`.
A job whose message to the Celery workers was lost is sent again, numbered (`resend_lost`): the
first of its messages to arrive runs it, and only a delivery of that same message runs it again.
A database or a storage bucket that cannot be reached raises `TransientError`: the caller tries
again later, with backoff. Any other failure ends the job as `failed` with a reason; it never stays
`running`.
"""

import logging
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from flask import current_app
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from backend import gifs
from backend.extensions import db
from backend.inference import network_for
from backend.metrics import JOB_SECONDS, JOB_WAIT_SECONDS, JOBS
from backend.models import Job, Result, new_id, utcnow
from backend.storage import StorageUnavailable, result_key, storage

log = logging.getLogger(__name__)

FINISHED = ("done", "failed")
INTERRUPTED_MESSAGE = "The server restarted while stylizing this photo; send it again."
STYLIZE_FAILED_MESSAGE = "The server could not stylize this photo."
TIMED_OUT_MESSAGE = "Stylizing this photo took longer than the server allows; try a smaller size."


class TransientError(Exception):
    """`what` could not be reached, "database" or "storage": the same job can be tried again later."""

    def __init__(self, what, detail):
        super().__init__(what, detail)  # both in `args`, so that it pickles (Celery's retries)
        self.what = what

    def __str__(self):
        return f"{self.what} unreachable: {self.args[1]}"


def execute(job_id, generators, worker_id, owner=None, dispatch=None):
    """Runs job `job_id` with `generators` (backend.inference.Generators) and records its outcome;
    `worker_id` names this process in the job's row. With `owner`, only a job assigned to that
    runner is run; with `dispatch`, the number of the message that asks (`resend_lost`), a job that
    another message runs is not. Returns the job's final status, or None when it was not run."""
    try:
        job = claim(job_id, worker_id, owner, dispatch)
    except OperationalError as error:
        db.session.rollback()
        raise TransientError("database", str(error)) from error
    if job is None or job.status in FINISHED:
        return job and job.status
    JOB_WAIT_SECONDS.observe(max(0.0, (job.started_at - job.created_at).total_seconds()))
    started = time.monotonic()
    style = current_app.extensions["zoo"].get(job.style)
    try:
        if style is None:
            return fail(job, "style_unavailable", f"The style {job.style!r} is no longer available.")
        network = network_for(style, job.model or "best")
        result = Result(id=new_id(), job_id=job.id, user_id=job.user_id)
        result.path = result_key(result.id, Path(job.source_path).suffix)  # PNG or GIF, as its source

        def stylize_rgb(rgb):
            return generators.run(style, rgb, network)

        try:
            result.width, result.height = write_result(job, result.path, stylize_rgb)
        except StorageUnavailable as error:  # the bucket: tried again later, as the database
            raise TransientError("storage", str(error)) from error
        except Exception as error:  # whatever the model does, the job ends: it never stays "running"
            if is_time_limit(error):
                return fail(job, "timed_out", TIMED_OUT_MESSAGE)
            log.exception("job failed while stylizing")
            return fail(job, "stylize_failed", STYLIZE_FAILED_MESSAGE)
        key = result.path
        try:
            save(job, result)
        except IntegrityError:  # results.job_id is unique: another run of this job saved first
            return discard(job_id, key)
    except OperationalError as error:
        db.session.rollback()
        raise TransientError("database", str(error)) from error
    JOBS.labels("done").inc()
    JOB_SECONDS.observe(time.monotonic() - started)
    return "done"


def is_time_limit(error):
    """Whether `error` is the worker's soft time limit (Celery's SoftTimeLimitExceeded), or was
    raised while handling it: the limit's exception is raised wherever the process is, and a library
    caught in the middle may raise its own error instead (ONNX Runtime's `run`, a native import)."""
    waiting, seen = [error], set()
    while waiting:
        error = waiting.pop()
        if error is None or id(error) in seen:
            continue
        if type(error).__name__ == "SoftTimeLimitExceeded":
            return True
        seen.add(id(error))
        waiting += [error.__cause__, error.__context__]
    return False


def claim(job_id, worker_id, owner, dispatch=None):
    """The job, marked `running` for one more attempt; unchanged when it has finished, None when
    it does not exist, belongs to another runner, runs from another message than `dispatch`, or
    another process claimed it at the same time."""
    job = db.session.get(Job, job_id)
    if job is None or (owner is not None and job.worker_id != owner):
        return None
    if job.status in FINISHED:
        return job
    if job.status == "running" and dispatch is not None and dispatch != job.dispatch:
        log.info("job %s runs from its message %d; message %d ignored", job_id, job.dispatch, dispatch)
        return None
    if job.status == "running" and job.attempts >= current_app.config["JOB_MAX_ATTEMPTS"]:
        fail(job, "interrupted", INTERRUPTED_MESSAGE)
        log.warning("job interrupted %d times, failed", job.attempts)
        return job
    taken = db.session.execute(
        db.update(Job)
        .where(Job.id == job_id, Job.status == job.status, Job.attempts == job.attempts)
        .values(
            status="running",
            started_at=utcnow(),
            attempts=Job.attempts + 1,
            worker_id=worker_id,
            dispatch=job.dispatch if dispatch is None else dispatch,  # the message that runs it
            sent_at=None,
        )
    ).rowcount
    db.session.commit()
    if not taken:
        return None
    db.session.refresh(job)
    return job


def write_result(job, key, stylize_rgb):
    """Stylizes the job's source with `stylize_rgb` (uint8 RGB array -> array) into the storage's
    `key`: a PNG, or for an animated GIF a GIF, frame by frame (backend/gifs.py); nothing is stored
    when it fails. Returns `(width, height)`."""
    files = storage()
    with files.open(job.source_path) as source, files.create(key) as target:
        if job.source_path.endswith(gifs.GIF_SUFFIX):
            return gifs.stylize_animation(source, target, stylize_rgb, job.long_side)
        with Image.open(source) as picture:
            output = stylize_rgb(np.asarray(picture.convert("RGB")))
        Image.fromarray(output, "RGB").save(target, "PNG")
        return output.shape[1], output.shape[0]


def save(job, result):
    """Records the result written for the job and the job as done."""
    result.created_at = utcnow()
    result.expires_at = result.created_at + timedelta(days=current_app.config["RESULT_TTL_DAYS"])
    db.session.add(result)
    job.status, job.finished_at = "done", utcnow()
    db.session.commit()


def discard(job_id, key):
    """The picture `key` of a run whose result the database refused, deleted. Another run of the same
    job saved its result first (its message put back while it ran: docs/deploy.md), and the job's
    status is returned; or else the job fails. Called after an IntegrityError."""
    db.session.rollback()
    try:
        storage().delete(key)
    except StorageUnavailable:
        log.exception("the picture %s could not be deleted", key)
    if db.session.scalar(select(func.count(Result.id)).where(Result.job_id == job_id)):
        log.warning("job %s finished by another run at the same time; this run's picture is deleted", job_id)
        return db.session.get(Job, job_id).status
    log.exception("the database refused the job's result")
    return fail(db.session.get(Job, job_id), "stylize_failed", STYLIZE_FAILED_MESSAGE)


def fail(job, code, message):
    """Ends a job that has not finished as `failed`; returns "failed"."""
    db.session.rollback()  # whatever the failed step left in the session
    job = db.session.get(Job, job.id)
    if job.status not in FINISHED:
        job.status, job.error_code, job.error_message, job.finished_at = "failed", code, message, utcnow()
        db.session.commit()
        JOBS.labels("failed").inc()
    return "failed"


def give_up(job_id, code, message):
    """Ends job `job_id` as `failed` unless it has finished (a worker that hit its hard time limit
    or ran out of retries); returns whether it did."""
    job = db.session.get(Job, job_id)
    if job is None or job.status in FINISHED:
        return False
    fail(job, code, message)
    return True


def resend_lost(send, queued_for, running_for, limit=100):
    """Sends again, with `send(job_id, dispatch)` (True when the broker took it), the jobs whose
    messages were lost: those still `queued` `queued_for` after they were sent, and those still
    `running` `running_for` after they started or were sent again (timedeltas longer than anything
    alive can take: their worker died and its message, to be delivered again, was lost too).
    Each is numbered one more, atomically, so that callers at the same time send it once; a message
    that was late rather than lost still runs a queued job if it comes first, and the later one
    then does nothing (`claim`). When the broker refuses a job, the call stops there, and the next
    sends it. Returns the ids sent."""
    now = utcnow()
    waiting_since = func.coalesce(Job.sent_at, Job.created_at)
    running_since = func.coalesce(Job.sent_at, Job.started_at)
    stale = db.session.execute(
        select(Job.id, Job.status, Job.dispatch, Job.attempts, Job.sent_at)
        .where(
            ((Job.status == "queued") & (waiting_since < now - queued_for))
            | ((Job.status == "running") & (running_since < now - running_for))
        )
        .order_by(Job.created_at)
        .limit(limit)
    ).all()
    sent = []
    for job_id, status, dispatch, attempts, sent_at in stale:
        same = (Job.id == job_id, Job.status == status, Job.dispatch == dispatch, Job.attempts == attempts)
        taken = db.session.execute(db.update(Job).where(*same).values(dispatch=dispatch + 1, sent_at=utcnow())).rowcount
        db.session.commit()
        if not taken:
            continue  # a worker claimed it, or another caller sent it, since the query
        if not send(job_id, dispatch + 1):  # the broker is down: this job as it was, for the next call
            db.session.execute(
                db.update(Job).where(Job.id == job_id, Job.dispatch == dispatch + 1).values(sent_at=sent_at)
            )
            db.session.commit()
            break
        sent.append(job_id)
    if sent:
        log.warning("%d jobs sent again to the workers, their messages lost", len(sent))
    return sent
