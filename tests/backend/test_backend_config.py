"""Configuration from environment variables, and the app served by gunicorn with its config file."""

import logging
import os
import re
import runpy
import signal
import time
from types import SimpleNamespace

import pytest

from backend import create_app
from backend.config import DEFAULTS, LISTEN_VARIABLE, database_uri, from_environ, gunicorn_bind
from backend.launch import STOP_SIGNALS, Stop, first_styles, local_url, raise_stop, server_ended
from tests.backend.services import ROOT, gunicorn


def test_every_setting_is_documented():
    """backend/README.md's settings table lists every setting and no other (docs/deploy.md says it
    lists them all)."""
    rows = [line for line in (ROOT / "backend/README.md").read_text().splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}
    assert sorted(set(DEFAULTS) - documented) == [] and sorted(documented - set(DEFAULTS)) == []


def test_storage_gives_up_before_the_clients_do():
    """A bucket that cannot be reached or stays silent answers 503 within (S3_RETRIES + 1) tries of
    at most S3_CONNECT_TIMEOUT + S3_READ_TIMEOUT each: sooner than the clients' request timeout, so
    that they see `storage_unavailable` and its Retry-After rather than a timeout of their own."""
    client_seconds = int(re.search(r"timeout = (\d+)", (ROOT / "miniprogram/core/api.js").read_text())[1]) / 1000
    tries = DEFAULTS["S3_RETRIES"] + 1
    assert tries * (DEFAULTS["S3_CONNECT_TIMEOUT"] + DEFAULTS["S3_READ_TIMEOUT"]) + 1 < client_seconds  # 1 s: backoff


def test_settings_come_from_the_environment(monkeypatch, tmp_path, zoo_dir):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    monkeypatch.setenv("RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("MODELZOO_DIR", str(zoo_dir))
    monkeypatch.setenv("WECHAT_APPID", "wx-env")
    monkeypatch.setenv("WECHAT_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("JOB_QUEUE_SIZE", "3")
    monkeypatch.setenv("JOBS_ENABLED", "false")
    monkeypatch.setenv("PLAN_POLICY", '{"force": "server"}')
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.sqlite")
    assert app.config["JOB_QUEUE_SIZE"] == 3 and app.config["JOBS_ENABLED"] is False
    assert app.config["PLAN_POLICY"] == {"force": "server"}
    assert app.extensions["wechat"].api_base == "http://127.0.0.1:9"
    assert app.config["WECHAT_API_BASE"] == "http://127.0.0.1:9"
    assert app.test_client().get("/readyz").status_code == 200


def test_bad_environment_values_are_named():
    with pytest.raises(ValueError, match="JOB_WORKERS"):
        from_environ({"JOB_WORKERS": "many"})
    with pytest.raises(ValueError, match="JOBS_ENABLED"):
        from_environ({"JOBS_ENABLED": "perhaps"})


def test_database_urls(tmp_path):
    assert database_uri("", tmp_path) == f"sqlite:///{tmp_path / 'backend.sqlite'}"
    assert database_uri("postgres://u:p@db/app", tmp_path) == "postgresql://u:p@db/app"


def test_gunicorn_tells_its_workers_where_it_listens(monkeypatch, tmp_path):
    """The addresses in effect (a -b option included), which decide the development login."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.delenv(LISTEN_VARIABLE, raising=False)
    hooks = runpy.run_path(str(ROOT / "backend" / "gunicorn.conf.py"))
    hooks["on_starting"](SimpleNamespace(cfg=SimpleNamespace(bind=["0.0.0.0:8000", "[::1]:8001"])))
    assert os.environ[LISTEN_VARIABLE] == "0.0.0.0:8000 [::1]:8001"


def test_the_master_releases_an_ended_workers_jobs_outside_its_signal_handler(monkeypatch, tmp_path, caplog):
    # child_exit runs in the master's SIGCHLD handler, which the next worker's exit can interrupt:
    # it only notes the worker, whose jobs are released before the replacement is forked, or at exit.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.delenv(LISTEN_VARIABLE, raising=False)
    released = []

    def forget_process(pid):
        if pid == 104:
            raise OSError("the database is down")
        released.append(pid)

    monkeypatch.setattr("backend.runner.forget_process", forget_process)
    hooks = runpy.run_path(str(ROOT / "backend" / "gunicorn.conf.py"))
    server = SimpleNamespace(cfg=SimpleNamespace(bind=["127.0.0.1:8000"]), log=logging.getLogger("master"), WORKERS={})
    hooks["on_starting"](server)
    for pid in (101, 102):
        hooks["child_exit"](server, SimpleNamespace(pid=pid))
    assert released == []
    hooks["pre_fork"](server, SimpleNamespace(pid=None))
    assert sorted(released) == [101, 102]

    # gunicorn runs the file again on a reload (SIGHUP), and not on_starting: nothing is lost.
    hooks = runpy.run_path(str(ROOT / "backend" / "gunicorn.conf.py"))
    for pid in (103, 104):
        hooks["child_exit"](server, SimpleNamespace(pid=pid))
    server.WORKERS = {105: None}  # killed at the graceful timeout, the master exiting before its end is seen
    hooks["on_exit"](server)  # a failure is logged, not raised: it would stop the master
    assert sorted(released) == [101, 102, 103, 105]
    assert "could not release the jobs of worker 104" in caplog.text


def test_the_main_command_finds_the_server_and_serves_the_light_styles_first():
    assert gunicorn_bind({}) == "127.0.0.1:8000" and gunicorn_bind({"PORT": "9000"}) == "127.0.0.1:9000"
    assert gunicorn_bind({"BIND": "0.0.0.0:80", "PORT": "9000"}) == "0.0.0.0:80"
    assert local_url("127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert local_url("0.0.0.0:80") == "http://127.0.0.1:80"
    assert local_url("[::1]:8000") == "http://[::1]:8000"
    assert local_url("unix:/run/backend.sock") is None
    assert first_styles(None) == ["light_paprika", "light_shinkai"]
    assert first_styles(["hayao", "light_shinkai"]) == ["light_shinkai"]
    assert first_styles(["hosoda", "hayao"]) == ["hosoda"]


def test_the_main_command_says_why_the_backend_ended(capsys):
    # gunicorn exits 0 only when it was told to stop (a signal sent to it alone): not an error.
    assert server_ended(SimpleNamespace(returncode=0)) == 0
    assert capsys.readouterr().out == "[run] the backend was stopped; stopping the rest\n"
    assert server_ended(SimpleNamespace(returncode=3), "; is 127.0.0.1:8000 in use?") == 3
    assert capsys.readouterr().out == "error: the backend stopped (exit 3); is 127.0.0.1:8000 in use?\n"
    assert server_ended(SimpleNamespace(returncode=-9)) == 137  # killed, as a shell reports it
    assert capsys.readouterr().out == "error: the backend stopped (exit -9)\n"


def test_the_main_command_stops_once_however_often_it_is_told():
    # The first SIGINT or SIGTERM raises Stop, so that `finally` stops the server and the builds; a
    # second one (Ctrl-C pressed again) must not cut that short and leave the server running.
    # `raise_signal` delivers each signal to this thread and runs its handler before it returns,
    # so that none can be handled after the handlers are restored (a KeyboardInterrupt in a later
    # test).
    saved = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    try:
        for number in STOP_SIGNALS:
            signal.signal(number, raise_stop)
        with pytest.raises(Stop, match="SIGINT"):
            signal.raise_signal(signal.SIGINT)
            time.sleep(5)
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)
        time.sleep(0.1)  # nothing raised
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


@pytest.mark.slow
def test_gunicorn_serves_the_factory(tmp_path, zoo_dir):
    with gunicorn(tmp_path, zoo_dir, WEB_CONCURRENCY="1", APP_ENV="", RATELIMIT_STORAGE_URI="") as server:  # defaults
        assert server.session.get(f"{server.url}/readyz", timeout=5).json() == {"status": "ready", "styles": 2}
        metrics = server.session.get(f"{server.url}/metrics", timeout=5).content
        assert b'http_requests_total{endpoint="/readyz"' in metrics  # through the multiprocess folder
    assert server.process.returncode == 0
