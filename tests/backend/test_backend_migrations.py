"""The schema's migrations (backend/migrations): their head is the models, on SQLite and on
PostgreSQL; they go down to nothing and up again; SQLite is upgraded when the app starts, by one
process at a time, adopting the tables made before the migrations; PostgreSQL is upgraded by
`flask db upgrade`, and until then /readyz and the jobs API answer 503 and Celery workers do not
start."""

import threading

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from backend import create_app, schema
from backend.extensions import db
from backend.models import Job, User
from tests.backend.helpers import dev_login, finished_job

pytestmark = pytest.mark.databases("sqlite", "postgresql")

TABLES = {"users", "jobs", "results", "shares", "workers"}
NO_TABLES = "(no tables, or tables older than the migrations)"


def differences(app):
    """What autogenerate would write: the models against the database."""
    with app.app_context(), db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), db.metadata)


def tables(app):
    with app.app_context():
        return set(sqlalchemy.inspect(db.engine).get_table_names()) - {"alembic_version"}


def revision(app):
    with app.app_context():
        return schema.current_revision()


def test_the_head_revision_is_the_models(app):
    assert revision(app) == schema.head()
    assert tables(app) == TABLES == set(db.metadata.tables)
    assert differences(app) == []


def test_down_to_nothing_and_up_again(make_app):
    app = make_app()  # not pytest-flask's `app`: its requests would share one session, left open
    client = app.test_client()
    alice = dev_login(client)
    finished_job(client, alice)
    cli = app.test_cli_runner()
    down = cli.invoke(args=["db", "downgrade", "base"])
    assert down.exit_code == 0, down.output
    assert tables(app) == set() and revision(app) is None
    up = cli.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, up.output
    assert revision(app) == schema.head() and differences(app) == []
    bob = dev_login(client, "bob")  # the app works on the new tables
    assert finished_job(client, bob)["status"] == "done"


def test_init_db_upgrades_and_drop_starts_afresh(make_app):
    app = make_app()
    cli = app.test_cli_runner()
    with app.app_context():
        db.session.add(User(id=7, openid="someone"))
        db.session.flush()
        db.session.add(Job(id="j1", user_id=7, style="tiny", long_side=512, status="failed"))
        db.session.commit()
    answer = cli.invoke(args=["init-db"])
    assert answer.exit_code == 0 and f"database ready at revision {schema.head()}" in answer.output
    with app.app_context():
        assert db.session.get(Job, "j1") is not None  # kept
    assert cli.invoke(args=["init-db", "--drop"]).exit_code == 0
    with app.app_context():
        assert db.session.get(Job, "j1") is None
    assert revision(app) == schema.head() and differences(app) == []


@pytest.mark.databases("postgresql")
def test_postgresql_behind_the_code_serves_no_job(make_app):
    """A PostgreSQL database is never upgraded by the app: until `flask db upgrade`, it is not
    ready and refuses jobs, and says why (no revision, then an older one)."""
    cli = make_app().test_cli_runner()
    assert cli.invoke(args=["db", "downgrade", "base"]).exit_code == 0
    app = make_app()  # a process started on the database as it is now
    client = app.test_client()
    upgrade = "run `flask --app backend db upgrade`"
    for problem, step in [
        (f"the database has no revision {NO_TABLES}: {upgrade}", "0001"),
        (f"the database is at revision 0001, the code needs {schema.head()}: {upgrade}", "head"),
    ]:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["Retry-After"]
        assert ready.get_json()["problems"] == [f"database: {problem}"]
        refused = client.get("/api/v1/jobs/any")
        assert refused.status_code == 503 and refused.get_json()["error"]["code"] == "database_outdated"
        assert refused.headers["Retry-After"] == "60"
        assert not app.extensions["jobs"].started  # the job runner waits for the upgrade too
        upgraded = cli.invoke(args=["db", "upgrade", step])
        assert upgraded.exit_code == 0, upgraded.output
    assert client.get("/readyz").status_code == 200  # asked again, no restart needed
    assert finished_job(client, dev_login(client))["status"] == "done"  # the runner started


@pytest.mark.databases("postgresql")
def test_a_celery_worker_refuses_to_start_on_a_database_behind_the_code(make_app, workers, redis_server, tmp_path):
    """A worker would run its jobs' queries on tables they do not match: it exits at start and says
    why, and starts once the database is upgraded."""
    cli = make_app(JOBS_ENABLED=False).test_cli_runner()
    assert cli.invoke(args=["db", "downgrade", "0001"]).exit_code == 0
    broker = {"CELERY_BROKER_URL": f"{redis_server.url}/0"}
    with pytest.raises(AssertionError, match="the Celery worker exited"):
        workers(**broker)
    needs = f"the database is at revision 0001, the code needs {schema.head()}: run `flask --app backend db upgrade`"
    assert f"the Celery worker cannot run jobs: {needs}" in (tmp_path / "celery.log").read_text()
    assert cli.invoke(args=["db", "upgrade"]).exit_code == 0
    assert workers(**broker).process.poll() is None


@pytest.mark.databases("sqlite")
def test_a_database_newer_than_the_code_is_served(app, monkeypatch):
    """A revision the code does not know is a newer release's: its database was upgraded before its
    code came, and the older code still serves on it."""
    monkeypatch.setattr(schema, "revisions", lambda: ["0000"])
    with app.app_context():
        assert schema.behind() is None


def test_notes_of_any_length(app):
    """Revision 0002: a job's notes are text of any length (they were 300 characters, which
    PostgreSQL enforced: several notes naming a long style id did not fit)."""
    notes = "\n".join([f"The style {'x' * 60!r} has no fast model; its best model is used."] * 6)
    with app.app_context():
        db.session.add(User(id=5, openid="notes"))
        db.session.flush()
        db.session.add(Job(id="long-notes", user_id=5, style="tiny", long_side=512, notes=notes))
        db.session.commit()
    with app.app_context():
        assert db.session.get(Job, "long-notes").notes == notes


def test_jobs_queued_before_revision_0003_run_from_their_first_message(make_app):
    """Revision 0003 numbers a job's messages to the workers (`jobs.dispatch`, backend/execution.py):
    a job queued by the code before it gets number 0, that of the message it was sent, and no
    `sent_at`; downgraded, the columns go."""
    app = make_app(JOBS_ENABLED=False)
    with app.app_context():
        schema.downgrade("0002")
        user = "INSERT INTO users (id, openid, created_at, last_login_at) VALUES (7, 'old', '2026-12-01', '2026-12-01')"
        db.session.execute(sqlalchemy.text(user))
        columns = "id, user_id, style, long_side, model, status, attempts, check_status, created_at"
        values = "'old-job', 7, 'tiny', 512, 'best', 'queued', 0, 'none', '2026-12-01'"
        db.session.execute(sqlalchemy.text(f"INSERT INTO jobs ({columns}) VALUES ({values})"))
        db.session.commit()
        schema.upgrade()
        job = db.session.get(Job, "old-job")
        assert (job.status, job.dispatch, job.sent_at) == ("queued", 0, None)
        db.session.rollback()
        schema.downgrade("0002")
        columns = {column["name"] for column in sqlalchemy.inspect(db.engine).get_columns("jobs")}
        assert not {"dispatch", "sent_at"} & columns
        schema.upgrade()
    assert differences(app) == []


@pytest.mark.databases("sqlite")
def test_sqlite_is_upgraded_by_one_process_at_a_time(make_app):
    """Processes starting together on a new SQLite file (gunicorn's workers) take turns: one makes
    the tables, the others find them made. Threads stand for the processes here, each upgrading as
    `create_app` does."""
    apps = [make_app(JOBS_ENABLED=False) for _ in range(4)]
    with apps[0].app_context():
        schema.downgrade()  # a new database again: no table, no revision
    errors = []

    def start(app):
        try:
            with app.app_context():
                schema.upgrade_sqlite()
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=start, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with apps[0].app_context():
        versions = db.session.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [schema.head()]
    assert differences(apps[0]) == []


# Columns that revisions after 0001 added (0003: jobs.dispatch, jobs.sent_at).
ADDED_LATER = {"jobs": ("dispatch", "sent_at")}


def make_legacy_tables(engine):
    """The tables as `create_all` made them before the migrations: constraints named by the
    database (the indexes had the names they have now), without the columns added since."""
    legacy = sqlalchemy.MetaData()
    for table in db.metadata.sorted_tables:
        for constraint in table.to_metadata(legacy).constraints:
            constraint.name = None
    legacy.create_all(engine)
    with engine.begin() as connection:
        for table, columns in ADDED_LATER.items():
            for column in columns:
                connection.execute(sqlalchemy.text(f"ALTER TABLE {table} DROP COLUMN {column}"))


def test_tables_made_before_the_migrations_are_adopted(base_settings):
    """A database that `create_all` made (the app before migrations, `init-db`) keeps its rows and
    gets the code's revision: at start on SQLite, with `flask db upgrade` on PostgreSQL."""
    url = base_settings["DATABASE_URL"]
    engine = sqlalchemy.create_engine(url)
    db.metadata.drop_all(engine)  # PostgreSQL: this test's copy of the migrated database, emptied
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("DROP TABLE IF EXISTS alembic_version"))
    make_legacy_tables(engine)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.insert(User).values(id=3, openid="before"))
    engine.dispose()
    app = create_app({**base_settings, "JOBS_ENABLED": False})
    if not url.startswith("sqlite"):
        upgraded = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
    assert revision(app) == schema.head()
    with app.app_context():
        assert db.session.get(User, 3).openid == "before"
    # PostgreSQL named the constraints as the models do; SQLite kept its unique constraints unnamed.
    unnamed = [] if not url.startswith("sqlite") else ["jobs_media_token_key", "results_job_id_key", "users_openid_key"]
    assert sorted((kind, constraint.name) for kind, constraint in differences(app)) == [
        ("add_constraint", name) for name in unnamed
    ]
