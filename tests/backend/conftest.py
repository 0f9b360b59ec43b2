"""Fixtures of the backend tests: a tiny model zoo, a fake WeChat server, the test's database, the
app and its client (pytest-flask's `client` fixture uses `app`).

The tests run on SQLite; `@pytest.mark.databases("sqlite", "postgresql")` on a test (or
`pytestmark = ...` on a module) runs it once on each database: on PostgreSQL in an empty database
made by the migrations, on a server that the session starts (`postgres`)."""

import pytest
import sqlalchemy
from alembic.runtime.migration import MigrationContext

from backend import create_app, schema
from backend.extensions import db
from modelzoo.tinyzoo import build_tiny_zoo
from tests.backend.conformance import ConformingClient
from tests.backend.fakewechat import FakeWeChat
from tests.backend.helpers import WECHAT_SETTINGS
from tests.backend.services import CeleryWorker, PostgresServer, RedisServer, S3Server, free_port

MIGRATED, TESTS = "migrated", "tests"  # PostgreSQL databases: the one the migrations made, its copy for tests


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("databases")
    if marker is not None:
        assert "database" in metafunc.fixturenames, f"{metafunc.function.__name__} uses no database"
        metafunc.parametrize("database", marker.args, indirect=True)


@pytest.fixture(scope="session")
def zoo_dir(tmp_path_factory):
    return build_tiny_zoo(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="session")
def wechat_server():
    server = FakeWeChat().start()
    yield server
    server.stop()


@pytest.fixture
def wechat(wechat_server):
    wechat_server.reset()
    return wechat_server


@pytest.fixture(scope="session")
def postgres(tmp_path_factory, zoo_dir):
    """A PostgreSQL server for the session, with the database MIGRATED made by the migrations and
    TESTS, its copy, which the tests use."""
    server = PostgresServer().start()
    folder = tmp_path_factory.mktemp("postgres-migrations")
    url = server.create_database(MIGRATED)
    settings = {"SECRET_KEY": "k", "DATABASE_URL": url, "RESULTS_DIR": str(folder), "MODELZOO_DIR": str(zoo_dir)}
    app = create_app({**settings, "RATELIMIT_STORAGE_URI": "memory://", "JOBS_ENABLED": False})
    with app.app_context():
        schema.upgrade()
        db.engine.dispose()  # a database being copied has no connection
    server.create_database(TESTS, template=MIGRATED)
    yield server
    server.remove()


def reset(postgres):
    """TESTS as the migrations made it, for the next test: its tables emptied (far quicker than a
    new database), or a new copy of MIGRATED when the test changed the schema (the migrations'
    tests) or left a connection holding a table."""
    engine = sqlalchemy.create_engine(postgres.database_url(TESTS), poolclass=sqlalchemy.NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            tables = set(sqlalchemy.inspect(connection).get_table_names())
            revision = MigrationContext.configure(connection).get_current_revision()
            intact = tables == {*db.metadata.tables, "alembic_version"} and revision == schema.head()
            if intact:
                connection.exec_driver_sql(f"TRUNCATE {', '.join(db.metadata.tables)} RESTART IDENTITY")
    except sqlalchemy.exc.OperationalError:  # lock_timeout
        intact = False
    finally:
        engine.dispose()
    if not intact:
        postgres.create_database(TESTS, template=MIGRATED)  # the old one dropped, its connections ended


@pytest.fixture
def database(request, tmp_path):
    """This test's DATABASE_URL: a new SQLite file, or with the `databases` marker's "postgresql"
    the session's PostgreSQL database TESTS, empty, made by the migrations."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'backend.sqlite'}"
        return
    postgres = request.getfixturevalue("postgres")
    yield postgres.database_url(TESTS)
    reset(postgres)


@pytest.fixture
def base_settings(tmp_path, zoo_dir, wechat, database):
    """The settings of this test's apps and workers: its database and folders, development mode,
    WeChat not configured."""
    return {
        "TESTING": True,
        "APP_ENV": "development",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database,
        "RESULTS_DIR": str(tmp_path / "results"),
        "RATELIMIT_STORAGE_URI": f"sqlite:///{tmp_path / 'ratelimits.sqlite'}",
        "MODELZOO_DIR": str(zoo_dir),
        "WECHAT_API_BASE": wechat.url,
        "WORKER_HEARTBEAT_SECONDS": 0.2,
    }


@pytest.fixture
def make_app(base_settings):
    """`make_app(**settings)`: an app on this test's database and folders (`base_settings`), whose
    test clients check every answer against the OpenAPI description; its job runner is stopped
    after the test."""
    apps = []

    def make(**settings):
        app = create_app({**base_settings, **settings})
        app.test_client_class = ConformingClient
        apps.append(app)
        return app

    yield make
    for app in apps:
        if "jobs" in app.extensions:
            app.extensions["jobs"].shutdown()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.remove()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.remove()


@pytest.fixture
def s3_prefix(tmp_path):
    """This test's own prefix in s3rver's bucket."""
    return tmp_path.name


@pytest.fixture
def s3_settings(s3_server, s3_prefix):
    """Settings that keep this test's uploads and results in s3rver's bucket, under its prefix."""
    return s3_server.settings(s3_prefix)


@pytest.fixture
def workers(tmp_path, base_settings):
    """`workers(concurrency=1, queues=None, beat=False, **settings)`: a Celery worker (a subprocess)
    with this test's settings, taking jobs or the `queues` given, serving its metrics on
    `worker.settings["WORKER_METRICS_PORT"]`, with Celery beat when `beat`; stopped after the test."""
    started = []

    def start(concurrency=1, queues=None, beat=False, **settings):
        metrics = tmp_path / f"worker-metrics-{len(started)}"
        metrics.mkdir()
        worker = CeleryWorker(
            {**base_settings, "WORKER_METRICS_PORT": free_port(), **settings},
            tmp_path / (f"celery-{queues}.log" if queues else "celery.log"),
            concurrency,
            {"PROMETHEUS_MULTIPROC_DIR": str(metrics)},
            queues,
            beat,
        )
        started.append(worker)  # stopped, its log closed, even when it does not start
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_app(make_app, workers, redis_server):
    """`celery_app(concurrency=1, maintenance=False, **settings)`: an app whose jobs go through
    redis-server to a Celery worker started with the same settings (`celery_app.worker` is that
    worker; none with `concurrency=0`, for tests that deliver the messages themselves); with
    `maintenance`, the worker of the maintenance queue with Celery beat as well
    (`celery_app.maintenance`), as deployed (docs/deploy.md)."""
    redis_server.client().flushall()

    def make(concurrency=1, maintenance=False, **settings):
        settings = {"CELERY_BROKER_URL": f"{redis_server.url}/0", **settings}
        app = make_app(**settings)
        make.worker = workers(concurrency, **settings) if concurrency else None
        if maintenance:
            from backend.worker import MAINTENANCE_QUEUE

            make.maintenance = workers(1, MAINTENANCE_QUEUE, True, **settings)
        return app

    return make


@pytest.fixture(params=["in_process", "celery"])
def job_app(request, base_settings):
    """`job_app(**settings)`: an app whose jobs run on the in-process runner, or on a Celery worker:
    a test using it runs once on each path (on the test's database, `base_settings`)."""
    return request.getfixturevalue("make_app" if request.param == "in_process" else "celery_app")


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def wechat_app(make_app):
    """An app in production mode with WeChat configured against the fake server."""
    return make_app(**WECHAT_SETTINGS)
