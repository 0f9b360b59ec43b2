"""How a server job runs, on both paths: the in-process runner (no broker) and Celery workers over
redis-server (`job_app` runs each test once per path), plus the load suite: ten times the queue's
capacity submitted at once, and what the in-process runner logs when it gives up. The tests where
several processes meet in the database run on SQLite and on PostgreSQL."""

import io
import logging
import re
import threading
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image
from sqlalchemy.exc import IntegrityError, OperationalError

from backend import execution, runner
from backend.extensions import db
from backend.inference import Generators
from backend.models import Job, Result, utcnow
from backend.storage import StorageUnavailable
from tests.backend.helpers import (
    LATE_ANSWER,
    LONG_JOB,
    SHORT_WECHAT_TIMEOUT,
    dev_login,
    finished_job,
    image_bytes,
    job_row,
    long_photo,
    submit,
    wait_job,
)
from tests.backend.services import wait_until


def test_a_job_gives_the_models_picture(job_app, zoo_dir):
    from backend.inference import OnnxGenerator, stylize
    from backend.zoo import ModelZoo

    app = job_app()
    client = app.test_client()
    alice = dev_login(client)
    photo = image_bytes((37, 23))
    job = finished_job(client, alice, data=photo, style="tiny_rgb")
    served = np.asarray(Image.open(io.BytesIO(client.get(job["result"]["url"], headers=alice).data)))
    style = ModelZoo(zoo_dir).get("tiny_rgb")
    expected = stylize(
        OnnxGenerator(style.folder / "model.onnx"),
        np.asarray(Image.open(io.BytesIO(photo)).convert("RGB")),
        style.manifest["input"],
    )
    assert np.array_equal(served, expected)
    row = job_row(app, job["id"])
    assert row["attempts"] == 1 and row["results"] == 1


def test_a_broken_model_fails_the_job_with_a_reason(job_app, tmp_path, zoo_dir):
    import shutil

    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    next(copy.glob("tiny/*/model.onnx")).write_bytes(b"not a model")
    client = job_app(MODELZOO_DIR=str(copy)).test_client()
    alice = dev_login(client)
    job = wait_job(client, alice, submit(client, alice).get_json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "stylize_failed"
    assert finished_job(client, alice, style="tiny_rgb")["status"] == "done"  # the other style still works


@pytest.mark.databases("sqlite", "postgresql")
def test_a_finished_job_delivered_again_is_not_run_again(job_app):
    app = job_app()
    client = app.test_client()
    alice = dev_login(client)
    first = finished_job(client, alice)
    assert app.extensions["jobs"].submit(first["id"])  # the same job handed over a second time
    finished_job(client, alice)  # one worker, first in first out: the duplicate has been seen
    row = job_row(app, first["id"])
    assert row == {**row, "status": "done", "attempts": 1, "results": 1}


def metric(text, name):
    """The value of an unlabelled sample in Prometheus text, 0 when absent."""
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_count_queue_depth_wait_and_run_time(job_app):
    app = job_app()
    client = app.test_client()
    worker = getattr(job_app, "worker", None)  # a Celery worker serves the run and wait times of its jobs

    def job_metrics():
        if worker is None:
            return client.get("/metrics").get_data(as_text=True)
        return requests.get(f"http://127.0.0.1:{worker.settings['WORKER_METRICS_PORT']}/metrics", timeout=10).text

    before = job_metrics()
    alice = dev_login(client)
    finished_job(client, alice)

    # The run time is recorded just after the job is saved as done: a poll can come in between.
    def counted():
        name = "job_duration_seconds_count"
        return metric(job_metrics(), name) > metric(before, name)

    wait_until(counted, 10, "the job's run time was not recorded")
    after = job_metrics()
    for name in ("job_wait_seconds_count", "job_duration_seconds_count"):
        assert metric(after, name) - metric(before, name) == 1.0, name
    assert metric(after, "job_duration_seconds_sum") > metric(before, "job_duration_seconds_sum")
    assert "\njobs_queued 0.0\n" in client.get("/metrics").get_data(as_text=True)  # counted by the web


@pytest.mark.databases("sqlite", "postgresql")
def test_ten_times_the_queue_capacity_at_once(job_app):
    """Every accepted job finishes, every refused one got 429 with Retry-After, none is lost or stuck."""
    capacity, clients = 3, 30
    app = job_app(
        JOB_QUEUE_SIZE=capacity,
        JOB_RETRY_AFTER=4,
        RATELIMIT_ENABLED=False,
        JOB_DAILY_QUOTA=1000,
        UPLOAD_DECODE_WAIT=60.0,
    )
    headers = dev_login(app.test_client())
    photo = image_bytes((1024, 768))  # a job takes longer than a submission: the queue fills up
    answers = []
    lock = threading.Lock()

    def post():
        response = submit(app.test_client(), headers, data=photo, long_side=1024)
        with lock:
            answers.append((response.status_code, response.headers.get("Retry-After"), response.get_json()))

    threads = [threading.Thread(target=post) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(answers) == clients
    accepted = [body["id"] for status, _, body in answers if status == 202]
    refused = [(retry_after, body) for status, retry_after, body in answers if status != 202]
    assert capacity <= len(accepted) < clients, len(accepted)
    assert all(retry_after == "4" and body["error"]["code"] == "queue_full" for retry_after, body in refused), refused
    client = app.test_client()
    for job_id in accepted:
        assert wait_job(client, headers, job_id, timeout=120)["status"] == "done"
    with app.app_context():
        statuses = db.session.execute(db.select(Job.status, db.func.count()).group_by(Job.status)).all()
        runs = db.session.scalar(db.select(db.func.sum(Job.attempts)))
    assert dict(statuses) == {"done": len(accepted)}  # refused ones left no row; nothing queued or running
    assert runs == len(accepted)  # each ran once


def test_wechat_timing_out_during_the_content_check(job_app, wechat):
    """The check is sent off the request (a runner thread, or a worker): the upload answers at once,
    the job runs, and the check that timed out is marked `error` (retried when the result is shared)."""
    wechat.script("/wxa/media_check_async", {"errcode": 0, "trace_id": "too-late"}, delay=LATE_ANSWER)
    app = job_app(
        WECHAT_APPID="wx-test-app",
        WECHAT_SECRET="APP-SECRET-VALUE",
        PUBLIC_BASE_URL="https://cartoon.example",
        WECHAT_TIMEOUT=SHORT_WECHAT_TIMEOUT,
    )
    client = app.test_client()
    alice = dev_login(client)
    response = submit(client, alice)
    assert response.status_code == 202
    assert wait_job(client, alice, response.get_json()["id"])["status"] == "done"

    def check_status():
        with app.app_context():
            return db.session.get(Job, response.get_json()["id"]).check_status

    wait_until(lambda: check_status() == "error", 30, "the timed-out check was not marked")
    assert len(wechat.calls("/wxa/media_check_async")) == 1


@pytest.mark.parametrize("what", ["storage", "database"])
def test_the_runner_says_what_could_not_be_reached(make_app, monkeypatch, caplog, what):
    """A job the in-process runner gives up on (JOB_RETRIES spent) fails, as on a Celery worker, and
    is logged with what failed: the storage (its upload cannot be read) or the database (the job
    cannot be claimed)."""
    caplog.set_level(logging.ERROR, logger="backend.runner")
    app = make_app(JOB_RETRIES=0)
    if what == "storage":
        monkeypatch.setattr(app.extensions["storage"], "open", raising(StorageUnavailable("s3://x: MaxRetryError")))
    else:
        monkeypatch.setattr(execution, "claim", raising(OperationalError("SELECT", {}, ConnectionRefusedError())))
    client = app.test_client()
    alice = dev_login(client)
    answer = submit(client, alice)
    assert answer.status_code == 202
    job = wait_job(client, alice, answer.get_json()["id"], timeout=30)
    assert (job["status"], job["error"]["code"]) == ("failed", "stylize_failed"), job  # not left running
    assert runner_errors(caplog) == [f"{what} unreachable while running a job; it fails"]


def test_a_job_given_up_while_the_database_is_down_fails_once_it_is_back(make_app, monkeypatch):
    """The runner's retries are spent and the database cannot take the job's failure either: the
    housekeeping thread marks it failed on a later heartbeat instead of leaving it running."""
    app = make_app(JOB_RETRIES=0, WORKER_HEARTBEAT_SECONDS=0.2)
    monkeypatch.setattr(execution, "claim", raising(OperationalError("SELECT", {}, ConnectionRefusedError())))
    calls = []

    def give_up_once_the_database_is_back(*args):
        calls.append(args)
        if len(calls) == 1:
            raise OperationalError("UPDATE", {}, ConnectionRefusedError())
        return execution.give_up(*args)

    monkeypatch.setattr(runner, "give_up", give_up_once_the_database_is_back)
    client = app.test_client()
    alice = dev_login(client)
    answer = submit(client, alice)
    assert answer.status_code == 202
    job = wait_job(client, alice, answer.get_json()["id"], timeout=30)
    assert (job["status"], job["error"]["code"]) == ("failed", "stylize_failed"), job
    # The housekeeping thread forgets the job just after the database takes its failure.
    wait_until(lambda: not app.extensions["jobs"].given_up, 10, "the job stays given up on")
    assert len(calls) == 2


def test_a_time_limit_turned_into_another_error_still_reads_as_the_time_limit(make_app, monkeypatch):
    """Celery's soft limit raises its exception wherever the job is: inside a library that raises an
    error of its own while handling it (ONNX Runtime's `run` does), the job still fails with
    `timed_out`, not `stylize_failed`."""
    from celery.exceptions import SoftTimeLimitExceeded

    def cut_short(*_):
        try:
            raise SoftTimeLimitExceeded()
        except SoftTimeLimitExceeded:
            raise AttributeError("module 'onnxruntime.capi._pybind_state' has no attribute 'EPFail'")  # noqa: B904

    app = make_app()
    monkeypatch.setattr(app.extensions["jobs"].generators, "run", cut_short)
    client = app.test_client()
    alice = dev_login(client)
    job = wait_job(client, alice, submit(client, alice).get_json()["id"], timeout=30)
    assert (job["status"], job["error"]["code"]) == ("failed", "timed_out"), job


def test_the_time_limit_is_found_in_a_chain_of_errors():
    from celery.exceptions import SoftTimeLimitExceeded

    def chained(first, *then):
        error = first
        for later in then:
            later.__context__ = error
            error = later
        return error

    assert execution.is_time_limit(SoftTimeLimitExceeded())
    assert execution.is_time_limit(chained(SoftTimeLimitExceeded(), ImportError("initialization failed")))
    assert execution.is_time_limit(chained(SoftTimeLimitExceeded(), KeyError(), AttributeError()))
    assert not execution.is_time_limit(chained(ValueError(), RuntimeError("out of memory")))
    caused = RuntimeError("raise ... from error")  # raised while handling the limit, caused by another
    caused.__context__, caused.__cause__ = SoftTimeLimitExceeded(), ValueError()
    assert execution.is_time_limit(caused)
    loop = ValueError()
    loop.__context__ = RuntimeError()
    loop.__context__.__context__ = loop
    assert not execution.is_time_limit(loop)


def runner_errors(caplog):
    return [record.getMessage() for record in caplog.records if record.name == "backend.runner"]


def raising(error):
    def fail(*args, **kwargs):
        raise error

    return fail


@pytest.mark.databases("postgresql")
def test_the_database_dropped_during_a_job(job_app, postgres):
    """PostgreSQL stopped (every connection dropped) for 2 s while a job runs: the job is tried again
    with backoff and finishes, with one result; the web answers again once the database is back."""
    app = job_app(**LONG_JOB)
    client = app.test_client()
    alice = dev_login(client)
    job_id = submit(client, alice, data=long_photo(), long_side="original").get_json()["id"]
    wait_until(lambda: job_row(app, job_id)["status"] == "running", 60, "the job did not start")
    postgres.restart(down_seconds=2.0)
    job = wait_job(client, alice, job_id, timeout=120)
    assert job["status"] == "done", job
    row = job_row(app, job_id)
    assert row["results"] == 1 and row["attempts"] == 2, row  # the run the drop broke, then one more


def age(app, job_id, minutes, column="created_at"):
    """Moves a job's `column` `minutes` into the past."""
    with app.app_context():
        value = utcnow() - timedelta(minutes=minutes)
        db.session.execute(db.update(Job).where(Job.id == job_id).values({column: value}))
        db.session.commit()


def deliver(app, job_id, dispatch, worker="worker"):
    """Message number `dispatch` of a job reaching a worker process (backend.worker's task). The
    tests below deliver the messages themselves: their jobs go through redis-server to no worker
    (`celery_app(concurrency=0)`; not kombu's in-memory broker, whose connections Celery would
    keep for the whole process)."""
    with app.app_context():
        return execution.execute(job_id, Generators(app.config["INFERENCE_VARIANT"]), worker, None, dispatch)


TEN_MINUTES, TWENTY_FIVE_MINUTES = timedelta(minutes=10), timedelta(minutes=25)


@pytest.mark.databases("sqlite", "postgresql")
def test_lost_messages_are_sent_again_and_one_message_runs_a_job(celery_app):
    """`resend_lost`, as Celery beat has the maintenance worker call it: jobs queued longer than the
    visibility timeout are sent again, numbered, once however many callers meet; whichever message
    comes first runs a job, a later one does nothing, and only a delivery of the message that runs
    it runs it again (its worker died). No worker takes the messages."""
    app = celery_app(concurrency=0)
    client = app.test_client()
    alice = dev_login(client)
    late, lost, running, fresh = (submit(client, alice).get_json()["id"] for _ in range(4))
    for minutes, job_id in ((22, late), (21, lost), (20, running)):  # the oldest is sent first
        age(app, job_id, minutes)
    sent = []

    def send(job_id, dispatch):
        sent.append((job_id, dispatch))
        if len(sent) == 1:  # a second caller at the same moment, between the first's query and its sends
            assert execution.resend_lost(send, TEN_MINUTES, TWENTY_FIVE_MINUTES) == [lost, running]
        return True

    with app.app_context():
        assert execution.resend_lost(send, TEN_MINUTES, TWENTY_FIVE_MINUTES) == [late]
        assert sorted(sent) == sorted([(late, 1), (lost, 1), (running, 1)])  # each once
        assert execution.resend_lost(send, TEN_MINUTES, TWENTY_FIVE_MINUTES) == []  # sent a moment ago
    assert deliver(app, late, 0) == "done"  # the first message was late, not lost: it runs the job
    assert deliver(app, late, 1) == "done"  # the second finds it done
    assert deliver(app, lost, 1) == "done"
    with app.app_context():
        assert execution.claim(running, "first", None, 0).status == "running"  # message 0 runs it
    assert deliver(app, running, 1) is None  # message 1 leaves it to message 0
    assert job_row(app, running)["worker_id"] == "first"
    assert deliver(app, running, 0, "second") == "done"  # message 0 again: its worker died
    with app.app_context():
        assert execution.resend_lost(send, TEN_MINUTES, TWENTY_FIVE_MINUTES) == []
    rows = {job_id: job_row(app, job_id) for job_id in (late, lost, running, fresh)}
    assert [(row["status"], row["attempts"], row["results"], row["dispatch"]) for row in rows.values()] == [
        ("done", 1, 1, 0),
        ("done", 1, 1, 1),
        ("done", 2, 1, 0),
        ("queued", 0, 0, 0),
    ], rows
    assert rows[running]["worker_id"] == "second"


@pytest.mark.databases("sqlite", "postgresql")
def test_a_running_job_whose_message_was_lost_is_sent_again(celery_app):
    """A job left `running` longer than anything alive can take (its worker died, and the message
    to be delivered again was lost) is sent again: the new message runs it, one more attempt, and
    the old one, should it come back, does nothing; at JOB_MAX_ATTEMPTS it fails `interrupted`."""
    app = celery_app(concurrency=0, JOB_MAX_ATTEMPTS=2)
    client = app.test_client()
    alice = dev_login(client)
    dead, tried, alive = (submit(client, alice).get_json()["id"] for _ in range(3))
    with app.app_context():
        for job_id in (dead, tried, tried, alive):  # `tried` twice: its second attempt
            execution.claim(job_id, "vanished", None, 0)
    age(app, dead, 30, "started_at")
    age(app, tried, 30, "started_at")
    age(app, alive, 20, "started_at")  # within the time a job can take
    sent = []
    with app.app_context():
        assert execution.resend_lost(
            lambda *message: sent.append(message) or True, TEN_MINUTES, TWENTY_FIVE_MINUTES
        ) == [
            dead,
            tried,
        ]
        assert execution.resend_lost(lambda *_: True, TEN_MINUTES, TWENTY_FIVE_MINUTES) == []  # sent a moment ago
    assert sent == [(dead, 1), (tried, 1)]
    assert deliver(app, dead, 0) is None  # the old message back after all: not this job's any more
    assert deliver(app, dead, 1) == "done"
    assert deliver(app, tried, 1) == "failed"
    rows = [job_row(app, job_id) for job_id in (dead, tried, alive)]
    assert [(row["status"], row["attempts"], row["results"]) for row in rows] == [
        ("done", 2, 1),
        ("failed", 2, 0),
        ("running", 1, 0),
    ], rows
    with app.app_context():
        assert db.session.get(Job, tried).error_code == "interrupted"


def test_a_job_the_broker_refused_is_sent_again_by_the_next_call(celery_app):
    """A send that fails (the broker down) leaves the job as it was for the next call, and the
    call stops there: the jobs after it are not tried."""
    app = celery_app(concurrency=0)
    client = app.test_client()
    alice = dev_login(client)
    job_id, next_id = (submit(client, alice).get_json()["id"] for _ in range(2))
    age(app, job_id, 21)
    age(app, next_id, 20)
    tried = []
    with app.app_context():
        assert execution.resend_lost(lambda *message: tried.append(message), TEN_MINUTES, TWENTY_FIVE_MINUTES) == []
        assert tried == [(job_id, 1)]
        assert db.session.get(Job, next_id).dispatch == 0
        assert execution.resend_lost(lambda *_: True, TEN_MINUTES, TWENTY_FIVE_MINUTES) == [job_id, next_id]
        assert execution.resend_lost(lambda *_: True, TEN_MINUTES, TWENTY_FIVE_MINUTES) == []  # sent: now
        assert db.session.get(Job, job_id).dispatch == 2


@pytest.mark.databases("sqlite", "postgresql")
def test_two_runs_of_a_job_at_once_keep_one_result(celery_app, monkeypatch):
    """A job's message put back while the job runs (a worker's connection cut, Redis up) runs it a
    second time at once (docs/deploy.md). The run that saves second keeps nothing: no second
    result, its picture deleted, and it reports the job done."""
    app = celery_app(concurrency=0)
    client = app.test_client()
    alice = dev_login(client)
    job_id = submit(client, alice).get_json()["id"]
    with app.app_context():
        execution.claim(job_id, "first", None, 0)  # the first run, in another process
        user_id = db.session.get(Job, job_id).user_id
    run = Generators.run

    def first_run_saves_meanwhile(self, style, rgb, network):
        with db.engine.begin() as connection:
            now = utcnow()
            values = {"job_id": job_id, "user_id": user_id, "width": 1, "height": 1, "created_at": now}
            connection.execute(db.insert(Result).values(id="first", path="results/first.png", expires_at=now, **values))
            connection.execute(db.update(Job).where(Job.id == job_id).values(status="done", finished_at=now))
        return run(self, style, rgb, network)

    monkeypatch.setattr(Generators, "run", first_run_saves_meanwhile)
    assert deliver(app, job_id, 0, "second") == "done"  # the message put back
    row = job_row(app, job_id)
    assert (row["status"], row["attempts"], row["results"]) == ("done", 2, 1), row
    with app.app_context():
        assert db.session.scalar(db.select(Result.id).where(Result.job_id == job_id)) == "first"
    results = Path(app.config["RESULTS_DIR"]) / "results"
    assert results.is_dir() and list(results.iterdir()) == []  # the second picture, written, then deleted


def test_a_result_the_database_refuses_otherwise_fails_the_job(celery_app, monkeypatch):
    """An IntegrityError with no other run's result (a constraint the run broke itself): the job
    fails with a reason, its picture deleted, rather than staying `running`."""
    app = celery_app(concurrency=0)
    client = app.test_client()
    alice = dev_login(client)
    job_id = submit(client, alice).get_json()["id"]

    def refused(job, result):
        raise IntegrityError("INSERT INTO results", {}, Exception("FOREIGN KEY constraint failed"))

    monkeypatch.setattr(execution, "save", refused)
    assert deliver(app, job_id, 0) == "failed"
    row = job_row(app, job_id)
    assert (row["status"], row["results"]) == ("failed", 0), row
    with app.app_context():
        assert db.session.get(Job, job_id).error_code == "stylize_failed"
    assert list((Path(app.config["RESULTS_DIR"]) / "results").iterdir()) == []
