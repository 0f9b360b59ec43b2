"""Alembic's environment: the app's engine (DATABASE_URL) and its models' tables. Run by
`flask --app backend db ...` (Flask-Migrate) and backend/schema.py, inside the app's context."""

import logging

from alembic import context
from flask import current_app

logging.getLogger("alembic").setLevel(logging.INFO)  # each revision run is logged
migrate = current_app.extensions["migrate"]
metadata = migrate.db.metadata


def skip_empty_revision(context, revision, directives):
    """`flask db migrate` writes no revision when the models and the database agree."""
    if getattr(context.config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logging.getLogger("alembic").info("No changes in schema detected.")


def run_offline():
    """`flask db upgrade --sql`: the SQL, printed."""
    url = migrate.db.engine.url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=metadata, literal_binds=True, **migrate.configure_args)
    with context.begin_transaction():
        context.run_migrations()


def run_online():
    options = {"process_revision_directives": skip_empty_revision, **migrate.configure_args}
    with migrate.db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # batch migrations copy and drop tables, which foreign keys being enforced would stop
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=metadata, **options)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:  # the connection goes back to the app's pool
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
