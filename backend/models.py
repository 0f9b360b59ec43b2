"""The database tables: users, jobs, results, share links and the live job-runner processes."""

import secrets
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db


def utcnow():
    """Naive UTC (SQLite keeps no time zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_id():
    return secrets.token_urlsafe(12)


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(db.Model):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    style: Mapped[str] = mapped_column(String(64))
    long_side: Mapped[int]
    # "best" (the style's generator) or "fast" (its student): backend/inference.py, MODELS.
    model: Mapped[str] = mapped_column(String(8), default="best")
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    # Celery workers (backend/worker.py): the number of the job's message to the workers that may run
    # it (0 the first; one more each time it is sent again, backend.execution.resend_lost) and when
    # it was sent again last, until a worker takes it.
    dispatch: Mapped[int] = mapped_column(default=0, server_default="0")
    sent_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(96), index=True)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)  # the notes of the job, one a line (any number)
    source_path: Mapped[str | None] = mapped_column(String(300))
    # WeChat content check of the uploaded picture: none (not configured), pending, pass, risky, review, error.
    check_status: Mapped[str] = mapped_column(String(16), default="none")
    check_trace_id: Mapped[str | None] = mapped_column(String(128), index=True)
    media_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    result: Mapped["Result | None"] = relationship(back_populates="job", uselist=False)


class Result(db.Model):
    __tablename__ = "results"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    path: Mapped[str] = mapped_column(String(300))
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    deleted_at: Mapped[datetime | None]
    job: Mapped[Job] = relationship(back_populates="result")

    def alive(self, now=None):
        return self.deleted_at is None and self.expires_at > (now or utcnow())


class Share(db.Model):
    __tablename__ = "shares"
    token: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: secrets.token_urlsafe(24))
    result_id: Mapped[str] = mapped_column(ForeignKey("results.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    result: Mapped[Result] = relationship()


class Worker(db.Model):
    """One process running jobs; a row whose heartbeat stopped belongs to a dead process."""

    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(96), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
