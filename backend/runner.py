"""Server-side jobs: a bounded in-process queue served by a pool of worker threads, the embedded
default (with CELERY_BROKER_URL, Celery workers run the jobs instead: backend/worker.py). Both run a
job with backend.execution.execute.

The queue holds job ids; the jobs themselves live in the database. Each process registers itself in
the `workers` table and keeps a heartbeat there. A queued or running job whose process is gone (it
stopped, or its heartbeat is older than WORKER_TIMEOUT_SECONDS) is claimed by a live process: a
queued job is queued again, a running one too unless it already had JOB_MAX_ATTEMPTS tries, in
which case it fails with code `interrupted`. So a restart neither loses accepted jobs nor leaves
them running forever.
"""

import atexit
import logging
import os
import queue
import secrets
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from backend import content
from backend.execution import INTERRUPTED_MESSAGE, STYLIZE_FAILED_MESSAGE, TransientError, execute, give_up
from backend.extensions import db
from backend.inference import Generators
from backend.metrics import JOBS, QUEUE_DEPTH
from backend.models import Job, Worker, utcnow

log = logging.getLogger(__name__)

BACKOFF_SECONDS = 0.5  # the first wait before trying a job again while the database or storage cannot be reached


class JobRunner:
    def __init__(self, app):
        self.app = app
        config = app.config
        self.queue = queue.Queue(maxsize=config["JOB_QUEUE_SIZE"])
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.generators = Generators(config["INFERENCE_VARIANT"], config["INFERENCE_THREADS"], config["INFERENCE_TILE"])
        self.checks = queue.Queue()  # (job id, link) of uploads for WeChat's content check
        self.given_up = set()  # ids of jobs whose retries are spent, to be marked failed
        self._stop = threading.Event()
        self._threads = []
        self.started = False

    # Starting and stopping.

    def start(self):
        """Starts the threads, unless the database lacks the code's migrations (then the next
        request tries again)."""
        with self.app.app_context():
            problem = self.app.extensions["schema"].problem()
            if problem:
                log.warning("jobs not started: %s", problem)
                return
            self.started = True
            atexit.register(self.shutdown)
            db.session.merge(Worker(id=self.worker_id))
            db.session.commit()
            self.recover()
        for index in range(self.app.config["JOB_WORKERS"]):
            self._spawn(self._work, f"job-worker-{index}")
        self._spawn(self._housekeeping, "job-housekeeping")
        self._spawn(self._send_checks, "content-checks")
        log.info("job runner %s: %d workers", self.worker_id, self.app.config["JOB_WORKERS"])

    def _spawn(self, target, name):
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def shutdown(self, timeout=10.0):
        """Stops the threads; jobs left queued here are picked up by the next live process."""
        if not self.started or self._stop.is_set():
            return
        atexit.unregister(self.shutdown)
        self._stop.set()
        for _ in range(self.app.config["JOB_WORKERS"]):
            try:
                self.queue.put_nowait(None)  # wakes an idle worker at once
            except queue.Full:
                break
        self.checks.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        with self.app.app_context():
            db.session.execute(db.delete(Worker).where(Worker.id == self.worker_id))
            db.session.commit()
            db.session.remove()

    # The queue.

    def has_room(self):
        return not self.queue.full()

    def submit(self, job_id):
        """Queues a job; False when the queue is full."""
        try:
            self.queue.put_nowait(job_id)
        except queue.Full:
            return False
        QUEUE_DEPTH.set(self.queue.qsize())
        return True

    def _work(self):
        while not self._stop.is_set():
            try:
                job_id = self.queue.get(timeout=1.0)
            except queue.Empty:
                continue
            if job_id is None:
                break
            QUEUE_DEPTH.set(self.queue.qsize())
            with self.app.app_context():
                try:
                    self.run_job(job_id)
                except Exception:
                    log.exception("job runner error")
                    db.session.rollback()
                finally:
                    db.session.remove()

    def run_job(self, job_id):
        """Runs a job of this runner's queue (backend.execution); while the database or the storage
        cannot be reached it tries again JOB_RETRIES times, waiting twice as long each time, then
        fails the job as `stylize_failed` (as a Celery worker does when its retries are spent), and
        logs which of the two failed. A job that cannot be marked failed yet (the database is
        down) is marked by the housekeeping thread later; one interrupted by `shutdown` is left to
        the next process's recovery sweep."""
        retries = self.app.config["JOB_RETRIES"]
        for attempt in range(retries + 1):
            try:
                return execute(job_id, self.generators, self.worker_id, owner=self.worker_id)
            except TransientError as error:
                if self._stop.wait(0 if attempt == retries else BACKOFF_SECONDS * 2**attempt):
                    log.warning("%s unreachable while running a job; stopping, the next process takes it", error.what)
                    return None
                if attempt == retries:
                    log.exception("%s unreachable while running a job; it fails", error.what)
                    self.given_up.add(job_id)
                    self.fail_given_up()
                    return "failed"

    def fail_given_up(self):
        """Marks the jobs given up on as `failed`, unless they finished; those the database cannot
        take yet stay for the next try (housekeeping)."""
        for job_id in sorted(self.given_up):
            try:
                give_up(job_id, "stylize_failed", STYLIZE_FAILED_MESSAGE)
            except OperationalError:
                db.session.rollback()
                return
            self.given_up.discard(job_id)

    # Content checks: WeChat is called on this thread, never in a request.

    def check_content(self, job_id, media_url):
        self.checks.put((job_id, media_url))

    def _send_checks(self):
        while not self._stop.is_set():
            try:
                check = self.checks.get(timeout=1.0)
            except queue.Empty:
                continue
            if check is None:
                break
            with self.app.app_context():
                try:
                    content.send_check(*check)
                except Exception:
                    log.exception("content check error")
                    db.session.rollback()
                finally:
                    db.session.remove()

    # Heartbeat and recovery.

    def _housekeeping(self):
        interval = self.app.config["WORKER_HEARTBEAT_SECONDS"]
        while not self._stop.wait(interval):
            with self.app.app_context():
                try:
                    db.session.merge(Worker(id=self.worker_id, heartbeat_at=utcnow()))
                    db.session.commit()
                    self.fail_given_up()
                    self.recover()
                except Exception:
                    log.exception("job housekeeping error")
                    db.session.rollback()
                finally:
                    db.session.remove()

    def recover(self):
        """Claims the queued and running jobs of dead processes; returns how many."""
        config = self.app.config
        horizon = utcnow() - timedelta(seconds=config["WORKER_TIMEOUT_SECONDS"])
        db.session.execute(db.delete(Worker).where(Worker.heartbeat_at < horizon, Worker.id != self.worker_id))
        db.session.commit()
        live = db.select(Worker.id)
        orphans = db.session.execute(
            db.select(Job.id, Job.status, Job.worker_id, Job.attempts)
            .where(Job.status.in_(("queued", "running")))
            .where(Job.worker_id.is_(None) | Job.worker_id.not_in(live))
            .order_by(Job.created_at)
        ).all()
        claimed = 0
        for job_id, status, old_worker, attempts in orphans:
            if not self.has_room():
                break  # the rest stay orphaned for the next sweep or another process
            give_up = status == "running" and attempts >= config["JOB_MAX_ATTEMPTS"]
            values = {"worker_id": self.worker_id, "status": "failed" if give_up else "queued"}
            if give_up:
                values.update(
                    error_code="interrupted",
                    error_message=INTERRUPTED_MESSAGE,
                    finished_at=utcnow(),
                )
            owner = Job.worker_id.is_(None) if old_worker is None else Job.worker_id == old_worker
            taken = db.session.execute(
                db.update(Job).where(Job.id == job_id, Job.status == status, owner).values(**values)
            ).rowcount
            db.session.commit()
            if not taken:
                continue  # another process was quicker
            claimed += 1
            if give_up:
                JOBS.labels("failed").inc()
                log.warning("job interrupted %d times, failed", attempts)
            elif not self.submit(job_id):  # the queue filled up meanwhile: leave it for later
                db.session.execute(db.update(Job).where(Job.id == job_id).values(worker_id=None))
                db.session.commit()
        if claimed:
            log.info("recovered %d jobs of stopped processes", claimed)
        return claimed


def forget_process(pid):
    """Deletes the runner rows of process `pid` of this host, which has ended: its queued and running
    jobs are then claimed by the next live runner to look (a new one at its start), rather than once
    its heartbeat is WORKER_TIMEOUT_SECONDS old. gunicorn's master calls it for an ended worker
    (backend/gunicorn.conf.py: before forking the replacement, or at its exit)."""
    from flask import Flask
    from sqlalchemy import create_engine

    from backend import configure

    app = Flask("backend", instance_relative_config=True)  # the settings create_app would read
    configure(app, None)
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as connection:
            prefix = f"{socket.gethostname()}:{pid}:"
            connection.execute(db.delete(Worker).where(Worker.id.startswith(prefix, autoescape=True)))
    finally:
        engine.dispose()
