"""Real services for the backend tests, on loopback: a redis-server on a free port, Celery worker
subprocesses (`celery -A backend.worker worker`), a PostgreSQL server, an S3-compatible server
(s3rver) and the app served by gunicorn, whose answers to `server.session` are checked against the
OpenAPI description (tests/backend/conformance.py)."""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from unittest import mock

import psutil
import requests

from backend import create_app
from backend.config import LISTEN_VARIABLE
from tests.backend.conformance import check_live
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def redis_server_path():
    path = shutil.which("redis-server") or "/usr/bin/redis-server"
    assert os.path.exists(path), "redis-server is missing: `make install` installs it (apt-get install redis-server)"
    return path


class Server:
    """A server process on a free loopback port with its data in `folder`: `start()` runs
    `command()` (its output in `folder/server.log`) and waits until `answers()`, `stop()` sends
    `stop_signal` and waits for the exit, `restart()` starts it again on the same port with the
    same data, `remove()` stops it and deletes the folder."""

    name = "the server"
    stop_signal = signal.SIGTERM
    user = None  # the user the process runs as, when not this one

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = None

    def command(self):
        raise NotImplementedError

    def answers(self):
        raise NotImplementedError

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, user=self.user, group=self.user
            )
        wait_until(self.ready, 30, f"{self.name} did not start; see {self.log_path}")
        return self

    @property
    def log_path(self):
        return self.folder / "server.log"

    def ready(self):
        if self.process.poll() is not None:
            log = self.log_path.read_text(errors="replace")[-2000:]
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{log}")
        return self.answers()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            self.process.wait(20)

    def restart(self, down_seconds=0.0):
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def remove(self):
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class RedisServer(Server):
    """redis-server with its data in `folder`; every write is in its append-only file before it is
    acknowledged, so a restart loses nothing (it writes its data and exits on SIGTERM)."""

    name = "redis-server"

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def command(self):
        command = [redis_server_path(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        return command + ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no"]

    def answers(self):
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def client(self, db=0):
        import redis

        return redis.Redis.from_url(f"{self.url}/{db}")


# gunicorn serving the app as deployed (backend/gunicorn.conf.py), run from the repository's root.
GUNICORN = [str(Path(sys.executable).parent / "gunicorn"), "-c", "backend/gunicorn.conf.py", "backend:create_app()"]


class Gunicorn:
    """A gunicorn started by `gunicorn()`: its master `process`, `port`, `url`, SQLite `database`
    and `session`, the requests.Session to talk to it with: each request on a new connection (as
    `requests.get`), each answer checked against the OpenAPI description once it is ready."""

    def __init__(self, process, port, database):
        self.process, self.port, self.database = process, port, database
        self.url = f"http://127.0.0.1:{port}"
        self.session = requests.Session()
        self.session.headers["Connection"] = "close"

    def workers(self):
        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def replacement_of(self, old, timeout=30):
        """The worker that took the place of `old`."""
        found = []

        def replaced():
            found[:] = [pid for pid in self.workers() if pid != old]
            return bool(found)

        wait_until(replaced, timeout, f"worker {old} was not replaced")
        return found[0]

    def ready(self):
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False


@contextmanager
def gunicorn(tmp_path, zoo_dir, **settings):
    """gunicorn on a free port with its database, results, rate limits, metrics and log
    (gunicorn.log) in `tmp_path`, in development mode, with `settings` in its environment; ready
    (/readyz answers) when entered, stopped (SIGTERM) on leaving, in a process group of its own."""
    port = free_port()
    env = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "APP_ENV": "development",
        "SECRET_KEY": "s",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'g.sqlite'}",
        "RESULTS_DIR": str(tmp_path / "results"),
        "MODELZOO_DIR": str(zoo_dir),
        "RATELIMIT_STORAGE_URI": f"sqlite:///{tmp_path / 'limits.sqlite'}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        **settings,
    }
    log_path = tmp_path / "gunicorn.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        GUNICORN,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,  # a process group of its own, for a Ctrl-C (SIGINT to the group)
    )
    server = Gunicorn(process, port, tmp_path / "g.sqlite")

    def started():
        assert process.poll() is None, f"gunicorn exited: {log_path.read_text()[-2000:]}"
        return server.ready()

    try:
        wait_until(started, 60, f"gunicorn did not get ready; see {log_path}")
        server.session.hooks["response"].append(partial(check_live, served_app(env)))
        yield server
    finally:
        server.session.close()
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
        log.close()
        # The master stops cleanly while its workers exit together, with nothing left undone.
        assert code == 0 and "Traceback" not in log_path.read_text(), log_path.read_text()[-3000:]


def served_app(env):
    """The app that gunicorn's workers make in the environment `env`, made in this process (where
    conformance.py finds its routes and description): the same settings, the same address."""
    with mock.patch.dict(os.environ, {**env, LISTEN_VARIABLE: env["BIND"]}, clear=True):
        return create_app()


def as_environment(settings):
    """Settings of `create_app` as environment variables (backend.config reads them back)."""

    def text(value):
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {key: text(value) for key, value in settings.items() if key != "TESTING"}


class CeleryWorker:
    """`celery -A backend.worker worker` with `settings` (and `environment`) in its environment,
    `concurrency` processes, taking the jobs or the `queues` given, and with `beat` Celery beat in a
    process of its own (`--beat`)."""

    def __init__(self, settings, log_path, concurrency=1, environment=None, queues=None, beat=False):
        self.settings = settings
        self.environment = environment or {}
        self.log_path = Path(log_path)
        self.concurrency = concurrency
        self.queues = queues
        self.beat = beat
        self.process = None

    def start(self, timeout=60):
        env = {**os.environ, **as_environment(self.settings), **self.environment, "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [sys.executable, "-m", "celery", "-A", "backend.worker", "worker", "--pool", "prefork"]
        command += ["--concurrency", str(self.concurrency), "--loglevel", "INFO", "--without-mingle"]
        command += ["--without-gossip", "--without-heartbeat", "-n", f"test-{os.getpid()}-{free_port()}@%h"]
        command += ["--queues", self.queues] if self.queues else []
        command += ["--beat"] if self.beat else []
        self.log = open(self.log_path, "ab")
        self.log_start = self.log.tell()  # the log may hold an earlier worker's lines
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self.ready, timeout, f"the Celery worker did not start; see {self.log_path}")
        return self

    def ready(self):
        """Started, with each of its processes prepared (backend.worker's `prepare_for_jobs`), as a
        worker that has been running a while: a job the broker hands it starts at once. (One that
        waits for its process is not started when the broker's connection drops: redis gives it
        again only after the visibility timeout.)"""
        assert self.process.poll() is None, f"the Celery worker exited; see {self.log_path}"
        log = self.log_path.read_bytes()[self.log_start :]
        return b"ready." in log and log.count(b"ready for jobs") >= self.concurrency

    def children(self):
        return psutil.Process(self.process.pid).children()

    def stop(self):
        """Warm shutdown (SIGTERM): the worker takes no more jobs, and its pool's processes finish the
        jobs they run and exit (1.3 s when idle); the main process, which would then take 2 s more
        to join its pool's threads (each sleeping in a loop of about a second), is killed. A pool
        process still running after 30 s is killed too."""
        if self.process is not None and self.process.poll() is None:
            pool = self.children()
            self.process.send_signal(signal.SIGTERM)
            _, running = psutil.wait_procs(pool, timeout=30)
            for process in running:
                process.kill()
            self.process.kill()
            self.process.wait(10)
        self.log.close()


class PostgresServer(Server):
    """A PostgreSQL server of its own (Debian's binaries), its data in a new folder under /tmp (as
    root, the tests run it as the `postgres` user, which PostgreSQL requires and which cannot reach
    pytest's folders); SIGINT, its fast shutdown, ends every connection."""

    name = "PostgreSQL"
    stop_signal = signal.SIGINT

    def __init__(self):
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        assert binaries, "PostgreSQL is missing: `make install` installs it (apt-get install postgresql)"
        self.bin = Path(binaries[-1]).parent
        super().__init__(tempfile.mkdtemp(prefix="backend-postgres-"))
        if os.getuid() == 0:
            self.user = "postgres"
            shutil.chown(self.folder, self.user)
        self.data = self.folder / "data"
        initdb = [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        subprocess.run(initdb, user=self.user, group=self.user, check=True, capture_output=True, timeout=120)

    @property
    def url(self):
        return self.database_url("postgres")

    def database_url(self, name):
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def command(self):
        command = [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        return command + ["-c", "listen_addresses=127.0.0.1", "-k", str(self.folder), "-c", "fsync=off"]

    def answers(self):
        import psycopg

        try:
            psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=1").close()
            return True
        except psycopg.OperationalError:
            return False

    def sql(self, *statements):
        """Runs statements outside a transaction (CREATE and DROP DATABASE need that)."""
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.NullPool)
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(sqlalchemy.text(statement))
        engine.dispose()

    def create_database(self, name, template="template1"):
        """A new database `name`, a copy of `template` (which nobody may be connected to)."""
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.database_url(name)


class S3Server(Server):
    """s3rver (the npm package of tests/s3server, which `make install` installs), an S3-compatible
    server on a free loopback port with one bucket, its objects in `folder`. `settings(prefix)`:
    the backend's settings that keep uploads and results there, under `prefix`."""

    name = "s3rver"
    BUCKET = "cartoon"
    ACCESS_KEY = SECRET_KEY = "S3RVER"  # s3rver's own credentials

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def command(self):
        program = ROOT / "tests" / "s3server" / "node_modules" / ".bin" / "s3rver"
        assert program.exists(), "s3rver is missing: `make install` installs it (npm ci --prefix tests/s3server)"
        command = [str(program), "-d", str(self.folder), "-a", "127.0.0.1", "-p", str(self.port), "--silent"]
        return command + ["--configure-bucket", self.BUCKET]

    def answers(self):
        import requests

        try:
            return requests.get(self.url, timeout=1).status_code == 200  # the list of buckets
        except requests.ConnectionError:
            return False

    def settings(self, prefix):
        return {
            "STORAGE_URL": f"s3://{self.BUCKET}/{prefix}",
            "S3_ENDPOINT_URL": self.url,
            "S3_ACCESS_KEY": self.ACCESS_KEY,
            "S3_SECRET_KEY": self.SECRET_KEY,
            "S3_REGION": "us-east-1",
        }

    def keys(self, prefix):
        """The keys of the objects under `prefix` (relative to it), as the bucket lists them."""
        from minio import Minio

        client = Minio(f"127.0.0.1:{self.port}", self.ACCESS_KEY, self.SECRET_KEY, region="us-east-1", secure=False)
        listed = client.list_objects(self.BUCKET, prefix=f"{prefix}/", recursive=True)
        return sorted(item.object_name.removeprefix(f"{prefix}/") for item in listed)
