"""Flask extensions, created unbound here and bound to the app in `create_app` with `init_app`."""

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from backend import ratelimit  # noqa: F401 (registers the sqlite:// storage of the limiter)


class Base(DeclarativeBase):
    pass


def remote_address():
    return request.remote_addr or "127.0.0.1"


def user_or_address():
    """The rate-limit key of a signed-in user, else of the client address."""
    user = g.get("user")
    return f"user:{user.id}" if user is not None else f"ip:{remote_address()}"


db = SQLAlchemy(model_class=Base)
# Limits count per signed-in user, else per address (many phones can share one carrier address).
# The default limit is read from the app's config at each request (Flask-Limiter would otherwise
# keep the first app's value for good); an empty RATELIMIT_DEFAULT switches it off.
limiter = Limiter(
    key_func=user_or_address,
    default_limits=[lambda: current_app.config["RATELIMIT_DEFAULT"] or "1/day"],
    default_limits_exempt_when=lambda: not current_app.config["RATELIMIT_DEFAULT"],
)
