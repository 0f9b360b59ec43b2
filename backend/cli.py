"""`flask --app backend <command>`: database set-up and clean-up."""

import click
from flask import current_app

from backend.extensions import db


@click.command("init-db")
@click.option("--drop", is_flag=True, help="Delete every table first (all data is lost).")
def init_db_command(drop):
    """Create the database tables (existing ones are kept unless --drop)."""
    if drop:
        db.drop_all()
    db.create_all()
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("cleanup")
def cleanup_command():
    """Delete expired results, their share links, and old uploads."""
    from backend.results import cleanup

    results, uploads = cleanup()
    click.echo(f"removed {results} expired results and {uploads} old uploads from {current_app.extensions['storage']}")


def init_app(app):
    app.cli.add_command(init_db_command)
    app.cli.add_command(cleanup_command)
