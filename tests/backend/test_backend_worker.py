"""Celery workers over a real redis-server, and what goes wrong around them: a worker process killed
mid-job, a job over its time limit, redis-server restarted during a run, a worker that vanishes with
a job it took, a job's message lost."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from tests.backend.helpers import LONG_JOB, dev_login, finished_job, job_row, long_photo, submit, wait_job
from tests.backend.services import wait_until


def test_a_worker_killed_mid_job_makes_the_job_run_again_once(celery_app):
    app = celery_app(**LONG_JOB)
    client = app.test_client()
    alice = dev_login(client)
    job_id = submit(client, alice, data=long_photo(), long_side="original").get_json()["id"]
    wait_until(lambda: job_row(app, job_id)["status"] == "running", 60, "the job did not start")
    (process,) = celery_app.worker.children()
    os.kill(process.pid, signal.SIGKILL)
    job = wait_job(client, alice, job_id, timeout=120)
    assert job["status"] == "done", job
    assert (job["result"]["width"], job["result"]["height"]) == (4096, 4096)
    row = job_row(app, job_id)
    assert (row["status"], row["attempts"], row["results"]) == ("done", 2, 1), row  # run again once, one result
    assert process.pid not in [child.pid for child in celery_app.worker.children()]


def test_a_job_over_its_time_limit_fails_with_a_reason(celery_app):
    """JOB_TIME_LIMIT=1 against a job of seconds: the soft limit stops it (or, if it is inside ONNX
    Runtime's native code for another second, the hard limit kills the process and the task's error
    callback ends the job); either way the job fails with `timed_out`, and is not run again."""
    app = celery_app(JOB_TIME_LIMIT=1, **LONG_JOB)
    client = app.test_client()
    alice = dev_login(client)
    job = wait_job(client, alice, submit(client, alice, data=long_photo(), long_side="original").get_json()["id"], 120)
    assert job["status"] == "failed" and job["error"]["code"] == "timed_out", job
    assert "longer than the server allows" in job["error"]["message"]
    log = celery_app.worker.log_path.read_text()
    assert re.search(r"(Soft|Hard) time limit \(\d+s\) exceeded", log)
    # The worker process that ran the job imported ONNX Runtime when it started (Celery hands a
    # process no job before its `worker_process_init`): no time limit could cut the import short.
    worker_id = job_row(app, job["id"])["worker_id"]
    assert worker_id, job
    pid = worker_id.split(":")[1]
    assert f"worker process {pid} ready for jobs (onnxruntime imported)" in log, log
    assert finished_job(client, alice)["status"] == "done"  # the worker goes on with the next job
    assert job_row(app, job["id"])["attempts"] == 1  # not delivered again


def test_runtimes_imported_when_a_worker_process_starts():
    """`import_runtimes`: ONNX Runtime always (students run on it), TensorFlow for `savedmodel`."""
    import sys

    from backend.inference import Generators

    assert Generators("onnx").import_runtimes() == ["onnxruntime"] and "onnxruntime" in sys.modules
    assert Generators("savedmodel").import_runtimes() == ["onnxruntime", "tensorflow"] and "tensorflow" in sys.modules
    with pytest.raises(ValueError, match="INFERENCE_VARIANT must be one of"):
        Generators("tflite")


def test_redis_restarted_during_a_run(celery_app, redis_server):
    """redis-server is the broker and counts the rate limits: while it restarts, submissions are
    held or refused with 429 (never an error), and every accepted job finishes, once. A job the
    worker took and had not started when the connection dropped is delivered again after Redis's
    visibility timeout, and one whose message was lost at that moment (kombu takes a message and
    records it as unacknowledged in two commands) is sent again by the maintenance worker after the
    same time (backend.worker; the next test does both on purpose): JOB_TIME_LIMIT=5 makes it 66 s,
    where the default is 720 s."""
    app = celery_app(
        maintenance=True,
        JOB_TIME_LIMIT=5,
        JOB_QUEUE_SIZE=20,
        RATELIMIT_STORAGE_URI="",
        REDIS_URL=f"{redis_server.url}/2",
        RATELIMIT_JOBS_USER="1000/minute",
        RATELIMIT_JOBS_IP="1000/minute",
    )
    client = app.test_client()
    alice = dev_login(client)
    before = [submit(client, alice).get_json()["id"] for _ in range(4)]  # running and queued
    accepted = []
    restart = threading.Thread(target=redis_server.restart, args=(1.0,))
    restart.start()
    while restart.is_alive():  # submissions while redis-server is down are held, then accepted or refused
        response = submit(client, alice)
        assert response.status_code in (202, 429), response.get_json()
        if response.status_code == 202:
            accepted.append(response.get_json()["id"])
        else:
            assert response.headers["Retry-After"]
    restart.join()
    after = [finished_job(client, alice)["id"] for _ in range(2)]
    for job_id in before + accepted + after:
        assert wait_job(client, alice, job_id, timeout=120)["status"] == "done"
        row = job_row(app, job_id)
        assert (row["status"], row["attempts"], row["results"]) == ("done", 1, 1), row


# A worker that takes a job's message and vanishes before starting it: no acknowledgement, and no
# restore (kombu's, when a connection closes, which fails while Redis is down).
TAKE_AND_VANISH = """
import os, sys
from kombu import Connection
with Connection(sys.argv[1]) as connection:
    message = connection.SimpleQueue("celery").get(timeout=30)
    print(message.headers["id"], flush=True)
    os._exit(0)
"""


def test_jobs_whose_messages_were_taken_or_lost_run_after_the_visibility_timeout(celery_app, redis_server):
    """JOB_TIME_LIMIT=5: Redis's visibility timeout is 60 s + 6 s (backend.worker). One job's message
    is taken by a worker that vanishes: Redis delivers it again (the worker looks for such messages
    every 10 s). Another's is lost outright (taken from Redis and never recorded, as when Redis
    stops at that moment): Celery beat has the maintenance worker send the job again (every 10 s it
    looks for jobs queued that long; it may send the first one again too). Each runs then, once."""
    app = celery_app(JOB_TIME_LIMIT=5, maintenance=True)
    client = app.test_client()
    alice = dev_login(client)
    celery_app.worker.stop()
    taken_id, lost_id = (submit(client, alice).get_json()["id"] for _ in range(2))
    taken = subprocess.run(
        [sys.executable, "-c", TAKE_AND_VANISH, app.config["CELERY_BROKER_URL"]],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert taken.stdout.strip() == taken_id, taken
    lost = redis_server.client().rpop("celery")  # the next message, gone
    assert json.loads(lost)["headers"]["id"] == lost_id
    started = time.monotonic()
    celery_app.worker.start()
    time.sleep(5)
    assert [job_row(app, job_id)["status"] for job_id in (taken_id, lost_id)] == ["queued", "queued"]
    for job_id in (taken_id, lost_id):
        job = wait_job(client, alice, job_id, timeout=120)
        waited = time.monotonic() - started
        assert job["status"] == "done", job
        assert 55 <= waited <= 100, waited
        row = job_row(app, job_id)
        assert (row["status"], row["attempts"], row["results"]) == ("done", 1, 1), row
    # The lost job ran from its second message; the taken one from whichever of its two came first.
    assert job_row(app, lost_id)["dispatch"] == 1
    assert "jobs sent again to the workers, their messages lost" in celery_app.maintenance.log_path.read_text()


def test_a_jobs_first_message_is_as_before_and_lost_jobs_wait_what_a_job_can_take(monkeypatch):
    """The first message of a job names only the job, as a worker of a release before the numbered
    messages reads it; one sent again carries its number. A queued job is sent again after the
    visibility timeout, a running one after that, a retry's wait and one more job."""
    from backend import worker

    published = []
    monkeypatch.setattr(worker.stylize, "apply_async", lambda arguments, **_: published.append(arguments))
    assert worker.send("job") and worker.send("job", 2)
    assert published == [("job",), ("job", 2)]
    assert worker.lost_after(600) == (timedelta(seconds=60 + 660), timedelta(seconds=720 + 60 + 660))
    assert worker.lost_after(5) == (timedelta(seconds=66), timedelta(seconds=66 + 60 + 6))


def test_a_worker_process_loads_each_style_once(celery_app):
    app = celery_app()
    client = app.test_client()
    alice = dev_login(client)
    for style in ("tiny", "tiny", "tiny_rgb", "tiny"):
        finished_job(client, alice, style=style)
    log = celery_app.worker.log_path.read_text()
    assert log.count("loading tiny ") == 1 and log.count("loading tiny_rgb ") == 1, log[-2000:]
