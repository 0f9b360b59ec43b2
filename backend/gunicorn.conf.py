"""gunicorn settings: `gunicorn -c backend/gunicorn.conf.py 'backend:create_app()'`.

Every setting can be changed with an environment variable: BIND (default 127.0.0.1:8000; also
PORT), WEB_CONCURRENCY (worker processes, default 2), GUNICORN_THREADS (threads per worker,
default 4), GUNICORN_TIMEOUT (seconds, default 60), GUNICORN_MAX_REQUESTS (a worker is replaced
after about this many requests, default 1000, 0: never). Each worker process runs its own job
queue and loads each style's model once, unless CELERY_BROKER_URL sends the jobs to Celery
workers. The workers learn where gunicorn listens (which decides, with APP_ENV and WECHAT_APPID,
whether the development login is on: `backend.config.development_login`).

gunicorn's threads read requests themselves, so slow clients can hold them all: in public, put
the buffering reverse proxy of deploy/nginx.conf in front (see backend/README.md).
"""

import importlib.util
import os
import shutil
import signal
import tempfile
from pathlib import Path

import gunicorn.http.wsgi


def _backend_config():
    """backend/config.py on its own: importing the `backend` package here, in gunicorn's master
    process, would set up the app's Prometheus metrics before the folder below exists."""
    spec = importlib.util.spec_from_file_location("backend_config", Path(__file__).with_name("config.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_config = _backend_config()
bind = _config.gunicorn_bind()
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Replacing workers now and then hands back the memory that decoding uploads leaves behind.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = max_requests // 10
graceful_timeout = _config.GUNICORN_GRACEFUL_SECONDS
# The model is loaded by each worker after it starts (TensorFlow and ONNX Runtime do not survive fork).
preload_app = False
# The app logs each request itself, without personal data; gunicorn's access log would add addresses.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# The Server header names no software.
gunicorn.http.wsgi.SERVER = "backend"

# Limits counted in memory are per process: with several workers each would allow the whole limit.
if workers > 1 and os.environ.get("RATELIMIT_STORAGE_URI", "").startswith("memory://"):
    raise SystemExit(
        "RATELIMIT_STORAGE_URI=memory:// counts per process: with WEB_CONCURRENCY > 1 every limit would "
        "be multiplied. Leave it empty (a SQLite file shared by this machine's processes) or use redis://."
    )

# Prometheus: one folder shared by the workers so /metrics adds them all up.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="backend-metrics-")
# Imported now, not in child_exit: that runs in the master's SIGCHLD handler, where a first import
# that the next worker's exit interrupts fails half done and stops the master (every worker exits
# at once on Ctrl-C or SIGTERM). gunicorn runs this file again on a reload (SIGHUP), not on_starting.
from prometheus_client.multiprocess import mark_process_dead  # noqa: E402


def on_starting(server):
    os.environ[_config.LISTEN_VARIABLE] = " ".join(server.cfg.bind)  # the addresses in effect, -b included
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def post_worker_init(worker):
    """Start the job queue at once, so jobs of a previous run are recovered without waiting for a request."""
    app = worker.wsgi
    runner = getattr(app, "extensions", {}).get("jobs")
    if runner is not None and not runner.started:
        runner.start()


def worker_int(worker):
    """A worker quits on SIGINT or SIGQUIT (gthread's handle_quit, which calls this first, then shuts
    down its thread pool). Ctrl-C sends SIGINT to every process and the master then sends each
    worker SIGQUIT: handled while the first signal's pool shutdown holds the pool's lock, the second
    waited for that lock forever (python/cpython#121649), and the worker never exited. It is
    quitting, so from now on both do nothing. (Not SIG_IGN: a signal that arrived just before is
    then reported as "OSError: Signal 3 ignored due to race condition", with a traceback.)"""
    for quit_signal in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(quit_signal, _already_quitting)


def _already_quitting(signal_number, frame):
    pass


def worker_exit(server, worker):
    app = worker.wsgi
    runner = getattr(app, "extensions", {}).get("jobs")
    if runner is not None:
        runner.shutdown()


def child_exit(server, worker):
    """A worker ended (even killed): its metrics are closed, and its queued and running jobs are
    released before its replacement starts (`pre_fork`), for the replacement to take at its start.
    This runs in the master's SIGCHLD handler, which can interrupt anything, itself included (every
    worker ends at once on Ctrl-C or SIGTERM), so it does nothing more: releasing the jobs imports
    SQLAlchemy's database driver on its first call, which an interrupting call found half done."""
    mark_process_dead(worker.pid)
    _ended_workers(server).append(worker.pid)


def pre_fork(server, worker):
    _release_jobs(server, _ended_workers(server))


def on_exit(server):
    # The master exits right after killing the workers that outlived the graceful timeout, before
    # their end is seen: they are dead or dying, and their jobs are released too.
    _release_jobs(server, _ended_workers(server) + list(server.WORKERS))


def _ended_workers(server):
    """The workers whose jobs are still to be released, kept by the master (gunicorn runs this file
    again on a reload). Without a replacement (fewer workers, a reload) they wait for the next
    replacement, the master's exit or the heartbeat timeout (WORKER_TIMEOUT_SECONDS)."""
    return vars(server).setdefault("ended_workers", [])


def _release_jobs(server, pids):
    # An exception here would stop the master; the heartbeat timeout still applies.
    if not pids:
        return
    try:
        from backend.runner import forget_process
    except Exception:
        server.log.exception("could not release the jobs of ended workers")
        return
    while pids:
        pid = pids.pop()
        try:
            forget_process(pid)
        except Exception:
            server.log.exception("could not release the jobs of worker %s", pid)
