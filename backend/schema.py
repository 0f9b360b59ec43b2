"""The database's schema, made by the Alembic migrations of backend/migrations (Flask-Migrate):

- SQLite (the embedded default) is upgraded to the code's revision when the app starts, one
  process at a time (gunicorn's workers start together);
- any other database (PostgreSQL) is upgraded by the deploy step `flask --app backend db upgrade`;
  until it is, /readyz and the jobs API answer 503 and say so, and Celery workers do not start
  (backend/worker.py).

A new migration: change backend/models.py, then `flask --app backend db migrate -m "what changed"`
(docs/deploy.md).
"""

import fcntl
import functools
import logging
from contextlib import nullcontext

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from backend.extensions import db, migrate

log = logging.getLogger(__name__)

UPGRADE = "run `flask --app backend db upgrade`"


@functools.cache
def revisions():
    """The code's revisions, newest first."""
    return [script.revision for script in ScriptDirectory(migrate.directory).walk_revisions()]


def head():
    return revisions()[0]


def current_revision():
    """The database's revision (None: no tables made by the migrations)."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def alembic_config():
    return current_app.extensions["migrate"].migrate.get_config()


def upgrade(revision="head"):
    """Runs the migrations up to `revision` (in an app context)."""
    command.upgrade(alembic_config(), revision)


def downgrade(revision="base"):
    """Undoes the migrations down to `revision` (base: every table dropped)."""
    command.downgrade(alembic_config(), revision)


def behind():
    """Why the database cannot serve this code (it lacks revisions), or None. A revision this code
    does not know is a newer release's, which upgraded the database before its code came: the older
    code still runs on it."""
    revision = current_revision()
    if revision is None:
        return f"the database has no revision (no tables, or tables older than the migrations): {UPGRADE}"
    if revision != head() and revision in revisions():
        return f"the database is at revision {revision}, the code needs {head()}: {UPGRADE}"
    return None


class SchemaCheck:
    """Whether the database has the code's revision; asked again until it has (then, for good)."""

    def __init__(self, ready=False):
        self.ready = ready

    def problem(self):
        if self.ready:
            return None
        problem = behind()
        self.ready = problem is None
        return problem


def upgrade_sqlite():
    """Upgrades the SQLite database to the code's revision, under a lock file beside it."""
    path = db.engine.url.database
    in_file = path not in (None, "", ":memory:")
    with open(f"{path}.migrations-lock", "w") if in_file else nullcontext() as lock:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if behind():
            log.info("upgrading the database %s to revision %s", path, head())
            upgrade()


def init_app(app):
    migrate.init_app(app, db)
    with app.app_context():
        sqlite = db.engine.url.get_backend_name() == "sqlite"
        if sqlite:
            upgrade_sqlite()
    app.extensions["schema"] = SchemaCheck(ready=sqlite)
