"""gunicorn settings: `gunicorn -c backend/gunicorn.conf.py 'backend:create_app()'`.

Every setting can be changed with an environment variable: BIND (default 127.0.0.1:8000; also
PORT), WEB_CONCURRENCY (worker processes, default 2), GUNICORN_THREADS (threads per worker,
default 4), GUNICORN_TIMEOUT (seconds, default 60). Each worker process runs its own job queue
and loads each style's model once.
"""

import os
import shutil
import tempfile

bind = os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# The model is loaded by each worker after it starts (TensorFlow and ONNX Runtime do not survive fork).
preload_app = False
# The app logs each request itself, without personal data; gunicorn's access log would add addresses.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Prometheus: one folder shared by the workers so /metrics adds them all up.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="backend-metrics-")


def on_starting(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def post_worker_init(worker):
    """Start the job queue at once, so jobs of a previous run are recovered without waiting for a request."""
    app = worker.wsgi
    runner = getattr(app, "extensions", {}).get("jobs")
    if runner is not None and not runner.started:
        runner.start()


def worker_exit(server, worker):
    app = worker.wsgi
    runner = getattr(app, "extensions", {}).get("jobs")
    if runner is not None:
        runner.shutdown()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
