"""The app as deployed: gunicorn with backend/gunicorn.conf.py (worker recycling, limits shared by
the workers, jobs of a killed worker released at once, no software in the Server header, Ctrl-C
stopping every process), and deploy/nginx.conf in front of it against slow clients."""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import requests
from urllib3.util.retry import Retry

from backend.ratelimit import SQLiteStorage
from tests.backend.helpers import image_bytes
from tests.backend.services import GUNICORN, ROOT, free_port, gunicorn, wait_until


@pytest.mark.slow
def test_workers_are_recycled_and_the_server_header_names_no_software(tmp_path, zoo_dir):
    with gunicorn(tmp_path, zoo_dir, WEB_CONCURRENCY="1", GUNICORN_MAX_REQUESTS="5") as server:
        (first,) = server.workers()
        # gunicorn's gthread worker can accept the next connection just before it stops for
        # max_requests and then drop it; a proxy (deploy/nginx.conf) retries such a GET on the new
        # worker, and so does this client: one retry, on a fresh connection each time.
        client = server.session  # a new connection for each request
        client.mount("http://", requests.adapters.HTTPAdapter(max_retries=Retry(total=1, backoff_factor=0.5)))
        for _ in range(8):
            response = client.get(f"{server.url}/healthz", timeout=10)
            assert "gunicorn" not in response.headers["Server"].lower()
        server.replacement_of(first)
        wait_until(server.ready, 30, "the new worker does not answer")


@pytest.mark.slow
def test_rate_limits_hold_across_workers(tmp_path, zoo_dir):
    with gunicorn(tmp_path, zoo_dir, WEB_CONCURRENCY="2", RATELIMIT_DEFAULT="10/minute") as server:
        wait_until(lambda: len(server.workers()) == 2, 30, "two workers")
        time.sleep(2)  # both workers booted and accepting
        answers = []

        def get():
            answers.append(server.session.get(f"{server.url}/api/v1/styles", timeout=30).status_code)

        threads = [threading.Thread(target=get) for _ in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(answers) == [200] * 10 + [429] * 20


@pytest.mark.slow
def test_ctrl_c_stops_the_master_and_every_worker_at_once(tmp_path, zoo_dir):
    # Ctrl-C in a terminal: SIGINT to the master and its workers at once, then the master's SIGQUIT
    # to each worker (the worker's side of it, exactly: the test below).
    with gunicorn(tmp_path, zoo_dir, WEB_CONCURRENCY="2") as server:
        log_path = tmp_path / "gunicorn.log"

        def booted():  # each worker's job runner starts right after its app is made
            log, workers = log_path.read_text(), server.workers()
            return len(workers) == 2 and all(f"job runner {socket.gethostname()}:{pid}:" in log for pid in workers)

        wait_until(booted, 60, "two workers booted")
        os.killpg(server.process.pid, signal.SIGINT)
        assert server.process.wait(60) == 0
        log = log_path.read_text()
        assert "was sent SIGKILL" not in log, log[-3000:]  # no worker left for the master to kill
        with pytest.raises(ProcessLookupError):  # nothing of the group is left
            os.killpg(server.process.pid, 0)


@pytest.mark.slow
def test_a_reload_keeps_serving_and_handling_ended_workers(tmp_path, zoo_dir):
    # SIGHUP (systemctl reload, a closed terminal): gunicorn runs its settings file again and
    # replaces the workers; a worker that ends afterwards is still handled (its end used to stop
    # the master: a name that only on_starting had set was missing).
    with gunicorn(tmp_path, zoo_dir, WEB_CONCURRENCY="1") as server:
        (first,) = server.workers()
        server.process.send_signal(signal.SIGHUP)
        second = server.replacement_of(first)
        wait_until(lambda: server.workers() == [second], 30, "the old worker did not end")
        wait_until(server.ready, 30, "the reloaded worker does not answer")
        os.kill(second, signal.SIGKILL)
        server.replacement_of(second)
        wait_until(server.ready, 30, "the replacement worker does not answer")
        assert server.process.poll() is None


# A gthread worker quitting on SIGINT whose master's SIGQUIT comes while the worker's thread pool
# shutdown holds the pool's lock (the moment is forced: the pool's queue sends it), with
# backend/gunicorn.conf.py's hooks. Without them the worker waited for the lock for ever.
QUIT_TWICE = """
import os, queue, runpy, signal
from concurrent import futures
from gunicorn.workers.gthread import ThreadWorker

hooks = runpy.run_path("backend/gunicorn.conf.py")

class Settings:
    worker_int = staticmethod(hooks.get("worker_int", lambda worker: None))

class QueueThatSignals(queue.SimpleQueue):
    def put(self, item, block=True, timeout=None):
        os.kill(os.getpid(), signal.SIGQUIT)  # handled here, inside shutdown's `with self._shutdown_lock`
        super().put(item, block, timeout)

worker = ThreadWorker.__new__(ThreadWorker)
worker.cfg, worker.tpool = Settings(), futures.ThreadPoolExecutor(1)
worker.tpool._work_queue = QueueThatSignals()
for quit_signal in (signal.SIGINT, signal.SIGQUIT):
    signal.signal(quit_signal, worker.handle_quit)  # as gunicorn's Worker.init_signals
os.kill(os.getpid(), signal.SIGINT)
"""


def test_a_quitting_worker_is_not_stopped_by_the_next_quit_signal(tmp_path):
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    try:
        quitting = subprocess.run(
            [sys.executable, "-c", QUIT_TWICE], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the worker hangs in its second quit signal")
    assert quitting.returncode == 0, quitting.stderr


def test_limit_counters_are_shared_and_outlive_a_process(tmp_path):
    uri = f"sqlite:///{tmp_path / 'limits.sqlite'}"
    one, other = SQLiteStorage(uri), SQLiteStorage(uri)
    assert [one.incr("k", 60), other.incr("k", 60), one.incr("k", 60)] == [1, 2, 3]
    assert SQLiteStorage(uri).get("k") == 3  # a restarted process sees the count
    assert one.get_expiry("k") > time.time() + 50
    assert one.incr("short", 1) == 1
    time.sleep(1.1)
    assert one.get("short") == 0 and one.incr("short", 1) == 1  # a new window


def test_memory_limits_with_several_workers_are_refused(tmp_path, zoo_dir):
    env = {
        **os.environ,
        "WEB_CONCURRENCY": "2",
        "RATELIMIT_STORAGE_URI": "memory://",
        "BIND": f"127.0.0.1:{free_port()}",
    }
    run = subprocess.run(GUNICORN, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "memory://" in run.stderr


@pytest.mark.slow
def test_a_killed_workers_jobs_are_released_at_once(tmp_path, zoo_dir):
    """kill -9: the master releases the jobs before the replacement worker starts, which takes them,
    long before the heartbeat timeout (WORKER_TIMEOUT_SECONDS, 600 s here)."""
    with gunicorn(tmp_path, zoo_dir, WEB_CONCURRENCY="1", JOB_WORKERS="0", WORKER_TIMEOUT_SECONDS="600") as server:
        http = server.session
        token = http.post(f"{server.url}/api/v1/auth/dev-login", json={"openid": "a"}, timeout=10).json()["token"]
        response = http.post(
            f"{server.url}/api/v1/jobs",
            data={"style": "tiny"},
            files={"image": ("p.png", image_bytes())},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]

        def owner():
            with sqlite3.connect(server.database) as db:
                return db.execute("SELECT worker_id, status FROM jobs WHERE id = ?", (job_id,)).fetchone()

        (killed,) = server.workers()
        assert owner() == (f"{socket.gethostname()}:{killed}:" + owner()[0].rsplit(":", 1)[1], "queued")
        os.kill(killed, signal.SIGKILL)
        replacement = server.replacement_of(killed)
        wait_until(
            lambda: owner()[0].startswith(f"{socket.gethostname()}:{replacement}:"),
            60,
            "the replacement did not take the job",
        )
        assert owner()[1] == "queued"


def slow_client(port, seconds, stop):
    """Sends a request's header lines one a second, for `seconds`."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        for index in range(seconds):
            if stop.wait(1.0):
                return
            try:
                connection.sendall(f"X-Slow-{index}: 1\r\n".encode())
            except OSError:
                return


def healthz_answers(port, slow_clients=10, probes=4):
    """How many of `probes` /healthz requests answer within 3 s, while slow clients send."""
    stop = threading.Event()
    clients = [threading.Thread(target=slow_client, args=(port, 12, stop)) for _ in range(slow_clients)]
    for client in clients:
        client.start()
    time.sleep(1.5 if slow_clients else 0)
    answered = 0
    try:
        for _ in range(probes):
            try:
                answered += requests.get(f"http://127.0.0.1:{port}/healthz", timeout=3).status_code == 200
            except requests.RequestException:
                pass
    finally:
        stop.set()
        for client in clients:
            client.join(15)
    return answered


NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


@pytest.mark.slow
def test_nginx_in_front_keeps_healthz_answering_under_slow_clients(tmp_path, zoo_dir):
    assert NGINX, "nginx is not installed: `make install` installs it (apt-get install nginx-light)"
    port = free_port()
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    with gunicorn(tmp_path, zoo_dir, WEB_CONCURRENCY="1", GUNICORN_THREADS="2") as server:
        site = site.replace("listen 80;", f"listen 127.0.0.1:{port};").replace(
            "127.0.0.1:8000", f"127.0.0.1:{server.port}"
        )
        (tmp_path / "site.conf").write_text(site)
        temp = tmp_path / "nginx-temp"
        temp.mkdir()
        (tmp_path / "nginx.conf").write_text(
            f"daemon off; worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/nginx-error.log;\n"
            "events { worker_connections 256; }\n"
            f"http {{ client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy;\n"
            f"  fastcgi_temp_path {temp}/fastcgi; uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;\n"
            f"  include {tmp_path}/site.conf; }}\n"
        )
        nginx = subprocess.Popen(
            [NGINX, "-e", str(tmp_path / "nginx-error.log"), "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_until(lambda: nginx.poll() is None and healthz_answers(port, slow_clients=0, probes=1), 20, "nginx")
            through_nginx, straight = healthz_answers(port), healthz_answers(server.port)
            print(f"/healthz answered under slow clients: {through_nginx}/4 through nginx, {straight}/4 straight")
            assert through_nginx == 4  # through nginx: every probe answers
            assert straight < 4  # straight to gunicorn, the same clients starve it
        finally:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(15)
