"""Restart recovery: accepted jobs are not lost, and none stays "running" forever."""

import time
from datetime import timedelta

import pytest

from backend.extensions import db
from backend.models import Job, Worker, utcnow
from tests.backend.helpers import dev_login, submit, wait_job

pytestmark = pytest.mark.databases("sqlite", "postgresql")


def accepted_jobs(make_app, count):
    """Jobs accepted by a first process that stops before running them; returns (ids, headers)."""
    first = make_app(JOB_WORKERS=0)
    client = first.test_client()
    headers = dev_login(client)
    ids = [submit(client, headers).get_json()["id"] for _ in range(count)]
    first.extensions["jobs"].shutdown()
    return ids, headers


def assign(app, job_ids, worker_id, heartbeat_age_s, status=None, attempts=None):
    with app.app_context():
        db.session.merge(Worker(id=worker_id, heartbeat_at=utcnow() - timedelta(seconds=heartbeat_age_s)))
        for job_id in job_ids:
            job = db.session.get(Job, job_id)
            job.worker_id = worker_id
            job.status = status or job.status
            job.attempts = job.attempts if attempts is None else attempts
        db.session.commit()


def start(make_app, **settings):
    app = make_app(**settings)
    app.extensions["jobs"].start()  # as gunicorn's post_worker_init does
    return app, app.test_client()


def test_queued_jobs_survive_a_restart(make_app):
    ids, headers = accepted_jobs(make_app, 2)
    _, client = start(make_app)
    for job_id in ids:
        assert wait_job(client, headers, job_id)["status"] == "done"


def test_jobs_of_a_crashed_process(make_app):
    ids, headers = accepted_jobs(make_app, 3)
    probe = make_app(JOBS_ENABLED=False)
    assign(probe, ids[:1], "crashed:1:a", 3600)  # queued
    assign(probe, ids[1:2], "crashed:1:a", 3600, status="running", attempts=1)  # first try interrupted
    assign(probe, ids[2:], "crashed:1:a", 3600, status="running", attempts=2)  # second try interrupted
    _, client = start(make_app, JOB_MAX_ATTEMPTS=2)
    assert wait_job(client, headers, ids[0])["status"] == "done"
    assert wait_job(client, headers, ids[1])["status"] == "done"
    failed = wait_job(client, headers, ids[2])
    assert failed["status"] == "failed" and failed["error"]["code"] == "interrupted"
    assert "send it again" in failed["error"]["message"]


def test_a_live_process_keeps_its_jobs_until_its_heartbeat_stops(make_app):
    ids, headers = accepted_jobs(make_app, 1)
    app = make_app(WORKER_TIMEOUT_SECONDS=3, WORKER_HEARTBEAT_SECONDS=0.2)
    client = app.test_client()
    assign(app, ids, "elsewhere:2:b", 0, status="running", attempts=1)  # its heartbeat: now
    app.extensions["jobs"].start()  # as gunicorn's post_worker_init does
    time.sleep(0.5)
    assert client.get(f"/api/v1/jobs/{ids[0]}", headers=headers).get_json()["status"] == "running"  # not stolen
    assert wait_job(client, headers, ids[0], timeout=20)["status"] == "done"  # claimed once the heartbeat is old
    with app.app_context():
        assert db.session.get(Worker, "elsewhere:2:b") is None  # the dead process was forgotten


def test_full_queue_leaves_orphans_for_later(make_app):
    ids, headers = accepted_jobs(make_app, 3)
    app, client = start(make_app, JOB_QUEUE_SIZE=1, JOB_WORKERS=1)
    for job_id in ids:  # one at a time through a queue of one
        assert wait_job(client, headers, job_id)["status"] == "done"
