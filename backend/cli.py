"""`flask --app backend <command>`: database set-up and clean-up (the migrations' own commands:
`flask --app backend db --help`)."""

import click
from flask import current_app
from flask.cli import with_appcontext

from backend import schema
from backend.extensions import db


@click.command("init-db")
@click.option("--drop", is_flag=True, help="Delete every table first (all data is lost).")
@with_appcontext
def init_db_command(drop):
    """Upgrade the database to the code's revision, as `flask db upgrade` does (--drop: from nothing)."""
    if drop:
        schema.downgrade()  # every table dropped
    schema.upgrade()
    click.echo(f"database ready at revision {schema.head()}: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("cleanup")
@with_appcontext
def cleanup_command():
    """Delete expired results, their share links, and old uploads."""
    from backend.results import cleanup

    results, uploads = cleanup()
    click.echo(f"removed {results} expired results and {uploads} old uploads from {current_app.extensions['storage']}")


def init_app(app):
    app.cli.add_command(init_db_command)
    app.cli.add_command(cleanup_command)
