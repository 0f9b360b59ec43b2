"""Flask extensions, created unbound here and bound to the app in `create_app` with `init_app`."""

from pathlib import Path

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from backend import ratelimit  # noqa: F401 (registers the sqlite:// storage of the limiter)

# Every constraint gets a name, so that a migration can name the one it changes. The names are the
# ones PostgreSQL gives unnamed constraints (users_pkey, users_openid_key, jobs_user_id_fkey), so the
# tables that `create_all` made there before the migrations are alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def remote_address():
    return request.remote_addr or "127.0.0.1"


def user_or_address():
    """The rate-limit key of a signed-in user, else of the client address."""
    user = g.get("user")
    return f"user:{user.id}" if user is not None else f"ip:{remote_address()}"


db = SQLAlchemy(model_class=Base)
# The schema's migrations (Alembic): `flask --app backend db upgrade`, backend/schema.py. Batch mode
# lets a migration alter a table on SQLite too, which has no ALTER COLUMN.
migrate = Migrate(directory=str(Path(__file__).with_name("migrations")), render_as_batch=True)
# Limits count per signed-in user, else per address (many phones can share one carrier address).
# The default limit is read from the app's config at each request (Flask-Limiter would otherwise
# keep the first app's value for good); an empty RATELIMIT_DEFAULT switches it off.
limiter = Limiter(
    key_func=user_or_address,
    default_limits=[lambda: current_app.config["RATELIMIT_DEFAULT"] or "1/day"],
    default_limits_exempt_when=lambda: not current_app.config["RATELIMIT_DEFAULT"],
)
