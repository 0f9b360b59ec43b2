"""Celery workers: server jobs run here when CELERY_BROKER_URL is set (e.g. `redis://host:6379/0`).

    celery -A backend.worker worker --concurrency 2 --loglevel INFO     # on CPU or GPU machines
    celery -A backend.worker worker --queues maintenance --concurrency 1 --beat   # one, anywhere

The web processes then load no model and run no inference: `CeleryQueue` sends each accepted job
to the broker, and a worker process runs it with backend.execution.execute, the same function as
the in-process runner (backend/runner.py). Each worker process creates its app and loads each
style's model once, on its first job of that style; ONNX Runtime uses CUDA when it is there.
The worker reads the same settings as the web processes (backend/config.py): the database and
the model zoo must be the same for both, and so must the storage of uploads and results
(backend/storage.py): a bucket (STORAGE_URL), or else a RESULTS_DIR folder both can reach.

Delivery, with Celery's own mechanisms:
- late acknowledgement: a job's message is acknowledged when the job ends; a worker process that
  dies mid-job (killed, out of memory) makes the broker deliver it again (`reject_on_worker_lost`),
  and the job is run again, up to JOB_MAX_ATTEMPTS runs in all (then `interrupted`);
- time limit: a job runs at most JOB_TIME_LIMIT seconds (Celery's soft limit: the job fails with
  `timed_out`); a process stuck in native code past that is killed a tenth of the limit later (at
  least 1 s) and the job fails with `timed_out` all the same (`job_failed`, the task's error callback);
  a worker process imports its inference runtimes and makes its app when it starts, so that no
  limit cuts them short;
- retries: a database or storage that cannot be reached is tried again JOB_RETRIES times, with
  exponential backoff;
- idempotence: the task's id is the job's id, and a finished job is never run again;
- lost messages: a job still `queued` longer than Redis's visibility timeout after it was sent
  had its message lost (taken by a worker at the moment Redis stopped, or Redis lost its data), or
  waits in a backlog that long (sending it again then does no harm), and a job still `running`
  longer than anything alive can take had its message lost too. Celery beat has the
  worker of the `maintenance` queue, which runs no job and so is never too busy, look for such
  jobs every RESEND_SWEEP_SECONDS and send them again (`resend_lost_jobs`), numbered so that one
  message only runs a job (backend.execution.resend_lost).

A worker refuses to start on a database that lacks the code's revision (PostgreSQL before
`flask --app backend db upgrade`, backend/schema.py): it exits with that message, and its jobs wait
in the broker for a worker that can run them (see `check_schema`).
"""

import logging
import os
import socket
from datetime import timedelta

from celery import Celery, signals
from celery.exceptions import TimeLimitExceeded
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from backend.config import DEFAULTS, from_environ
from backend.execution import (
    STYLIZE_FAILED_MESSAGE,
    TIMED_OUT_MESSAGE,
    TransientError,
    execute,
    give_up,
    is_time_limit,
    resend_lost,
)

log = logging.getLogger(__name__)

# How long a new worker process may take to start, its runtimes' imports included.
PROCESS_START_SECONDS = 60

# Redis keeps a message that was delivered and not yet acknowledged, and delivers it again once it
# is older than its visibility timeout: the job's message whose worker vanished with its machine,
# or whose worker's connection dropped after taking it and before starting it (kombu puts it back
# when the connection closes, which fails when Redis is down). The timeout must outlast what a
# delivered message can live through: its process starting (after one killed at the time limit),
# then the job up to its hard limit. Redis is searched for such messages every few seconds.
RESTORE_SWEEP_SECONDS = 10

# A job still queued a visibility timeout after its message was sent has lost its message: Celery
# beat has the worker of this queue look for such jobs this often.
RESEND_SWEEP_SECONDS = 10
MAINTENANCE_QUEUE = "maintenance"

# The longest wait before a job is tried again after its database or storage could not be reached.
RETRY_BACKOFF_MAX_SECONDS = 60

celery = Celery("backend")


def hard_time_limit(time_limit):
    return time_limit + max(1, time_limit // 10)  # the soft limit cannot stop native code


def visibility_timeout(time_limit):
    """Seconds: what a delivered job's message can live through, its process starting then the job."""
    return PROCESS_START_SECONDS + hard_time_limit(time_limit)


def configure_celery(settings):
    """Celery's settings from ours (`backend.config`): the broker, the time limits and
    acknowledgements, and beat's schedule."""
    time_limit = settings["JOB_TIME_LIMIT"]
    celery.conf.update(
        broker_url=settings["CELERY_BROKER_URL"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility_timeout(time_limit),
            "unacked_restore_interval": RESTORE_SWEEP_SECONDS,
            "unacked_restore_throttle": 1,  # every sweep looks (kombu's default: every 10th)
        },
        # A restarting broker is waited for about 4 s before a submission is refused.
        task_publish_retry_policy={"max_retries": 8, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_soft_time_limit=time_limit,
        task_time_limit=hard_time_limit(time_limit),
        task_ignore_result=True,  # job state is in our database
        worker_prefetch_multiplier=1,  # a worker process takes one job at a time
        # A worker process started in place of one that ended (hard time limit, crash) prepares
        # first (`prepare_for_jobs`): importing TensorFlow can take longer than Celery's default
        # 4 s on a busy machine, and the process would be killed.
        worker_proc_alive_timeout=PROCESS_START_SECONDS,
        worker_hijack_root_logger=False,
        task_routes={"backend.resend_lost_jobs": {"queue": MAINTENANCE_QUEUE}},
        beat_schedule={
            "resend-lost-jobs": {
                "task": "backend.resend_lost_jobs",
                "schedule": RESEND_SWEEP_SECONDS,
                "options": {"expires": 60},  # while no worker takes them, they do not pile up
            }
        },
        beat_scheduler="celery.beat:Scheduler",  # in memory: an interval needs nothing kept on disk
    )


SETTINGS = {**DEFAULTS, **from_environ()}
configure_celery(SETTINGS)


class CeleryQueue:
    """The job queue of a web process when jobs run on Celery workers: no model, no thread. Its
    capacity, JOB_QUEUE_SIZE, is that of the whole service: jobs accepted and not yet started."""

    started = True
    worker_id = None  # a job gets the id of the worker process that takes it

    def __init__(self, app):
        self.app = app
        configure_celery(app.config)

    def start(self):
        pass

    def shutdown(self, timeout=None):
        pass

    def has_room(self):
        from backend.extensions import db
        from backend.models import Job

        queued = db.session.scalar(select(func.count(Job.id)).where(Job.status == "queued"))
        return queued < self.app.config["JOB_QUEUE_SIZE"]

    def submit(self, job_id):
        """Sends the job to the workers; False when the broker cannot be reached."""
        return send(job_id)

    def check_content(self, job_id, media_url):
        """Sends WeChat's check of an upload to a worker; when the broker cannot be reached the check
        stays pending and is sent again when the result is shared (backend.content)."""
        try:
            content_check.delay(job_id, media_url)
        except Exception:  # kombu's connection errors once its retries are spent
            log.exception("the broker refused a content check")


# Each worker process: its app and generators, made when it starts (`prepare_for_jobs`).

_process = {}


def process_state():
    """`(app, generators)` of this process, created once per process (again after a fork)."""
    if _process.get("pid") != os.getpid():
        from backend import create_app
        from backend.inference import Generators

        app = create_app({"JOBS_ENABLED": False})
        config = app.config
        generators = Generators(config["INFERENCE_VARIANT"], config["INFERENCE_THREADS"], config["INFERENCE_TILE"])
        _process.update(pid=os.getpid(), app=app, generators=generators)
    return _process["app"], _process["generators"]


def send(job_id, dispatch=0):
    """Sends message number `dispatch` of job `job_id` to the workers; False when the broker
    cannot be reached."""
    arguments = (job_id, dispatch) if dispatch else (job_id,)  # the first as a worker before 0003 reads it
    try:
        stylize.apply_async(arguments, task_id=job_id, link_error=job_failed.s())
    except Exception:  # kombu's connection errors once its retries are spent
        log.exception("the broker refused a job")
        return False
    return True


def worker_id():
    return f"{socket.gethostname()}:{os.getpid()}:celery"


def in_app(function, *args):
    from backend.extensions import db

    app, _ = process_state()
    with app.app_context():
        try:
            return function(*args)
        finally:
            db.session.remove()


@celery.task(
    name="backend.stylize",
    autoretry_for=(TransientError,),
    retry_backoff=True,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    max_retries=SETTINGS["JOB_RETRIES"],
)
def stylize(job_id, dispatch=0):
    _, generators = process_state()
    return in_app(execute, job_id, generators, worker_id(), None, dispatch)


@celery.task(name="backend.job_failed")
def job_failed(request, exc, traceback):
    """The error callback of `stylize`: a job whose task failed for good (hard time limit, retries
    spent) ends as `failed` unless it has finished."""
    if isinstance(exc, TimeLimitExceeded) or is_time_limit(exc):
        code, message = "timed_out", TIMED_OUT_MESSAGE
    else:
        code, message = "stylize_failed", STYLIZE_FAILED_MESSAGE
    log.warning("job task failed for good (%s): %s", type(exc).__name__, code)
    in_app(give_up, request.id, code, message)


@celery.task(name="backend.resend_lost_jobs", acks_late=False)
def resend_lost_jobs():
    """Beat's periodic task: the jobs whose messages were lost, sent again (backend.execution).
    A queued job waits a visibility timeout (`lost_after`); a running one its time, its process
    starting, a wait before it is tried again, and a job ahead of it."""
    app, _ = process_state()
    return in_app(resend_lost, send, *lost_after(app.config["JOB_TIME_LIMIT"]))


def lost_after(time_limit):
    """`(queued_for, running_for)`: when a queued job and a running one have lost their messages."""
    queued_for = visibility_timeout(time_limit)
    running_for = queued_for + RETRY_BACKOFF_MAX_SECONDS + hard_time_limit(time_limit)
    return timedelta(seconds=queued_for), timedelta(seconds=running_for)


@celery.task(name="backend.content_check", acks_late=True)
def content_check(job_id, media_url):
    """WeChat's content check of an upload (backend.content), on a worker rather than in a request."""
    from backend import content

    in_app(content.send_check, job_id, media_url)


@signals.worker_init.connect
def check_schema(**_):
    """The worker exits at start, naming `flask --app backend db upgrade`, when the database lacks
    the code's revision (backend.schema, the check of /readyz and the jobs API). Exiting rather than
    refusing each task: a task refused would be tried again JOB_RETRIES times and then fail its job,
    whereas the broker keeps the jobs of a worker that did not start until one that can run them
    does (the process supervisor starts it again: docker-compose's `restart`); and an exit is seen at
    once. A database that cannot be reached does not stop the worker: its jobs are tried again.
    The app made here is the main process's own (`process_state`), SQLite upgraded by it."""
    from backend.extensions import db

    app, _ = process_state()
    with app.app_context():
        try:
            problem = app.extensions["schema"].problem()
        except OperationalError as error:
            log.warning("the database's revision could not be checked: %s", error.orig)
            problem = None
        finally:
            db.engine.dispose()  # the forked worker processes make their own connections
    if problem:
        raise SystemExit(f"the Celery worker cannot run jobs: {problem}")


@signals.worker_process_init.connect
def prepare_for_jobs(**_):
    """A worker process, forked after the main process made its app (`check_schema`), leaves the
    database connections it inherited to the main process, imports its inference runtimes and makes
    its own app, all before its first job: a job's soft time limit, raised wherever the process is,
    would cut them short (a native import cut short breaks the process for good)."""
    from backend.extensions import db

    inherited = _process.get("app")
    if inherited is not None:
        with inherited.app_context():
            db.engine.dispose(close=False)
    _, generators = process_state()
    names = generators.import_runtimes()
    log.info("worker process %d ready for jobs (%s imported)", os.getpid(), ", ".join(names))


@signals.worker_init.connect
def serve_metrics(**_):
    """WORKER_METRICS_PORT: the worker's Prometheus metrics (run and wait times of its jobs), added
    up over its processes (set PROMETHEUS_MULTIPROC_DIR, an empty folder, for the worker)."""
    port = SETTINGS["WORKER_METRICS_PORT"]
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not port:
        return
    if not folder:
        raise SystemExit("WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR (an empty folder) for the worker")
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, registry=registry)


@signals.worker_process_shutdown.connect
def forget_metrics(pid=None, **_):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
