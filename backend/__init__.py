"""The backend of the cartoon mini-program: WeChat login, the style catalogue and model files,
where-to-stylize plans, server-side stylization jobs, results and share links.

    flask --app backend run --debug          # development server (development login enabled)
    gunicorn -c backend/gunicorn.conf.py 'backend:create_app()'
    flask --app backend db upgrade           # the database's tables (SQLite: done at start)
    flask --app backend cleanup
"""

import logging
import os
import sqlite3
import threading

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from backend import (
    auth,
    cli,
    content,
    errors,
    jobs,
    ops,
    pictures,
    plan,
    results,
    schema,
    storage,
    styles,
    uploads,
    urls,
    validation,
    web,
)
from backend.config import (
    DEFAULTS,
    LISTEN_VARIABLE,
    database_uri,
    development_login,
    from_environ,
    instance_secret_key,
)
from backend.extensions import db, limiter
from backend.inference import check_model
from backend.runner import JobRunner
from backend.wechat import WeChat
from backend.zoo import ModelZoo

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(connection, record):
    """SQLite: write-ahead logging so readers don't block the writer, and wait instead of failing
    when another thread or process holds the write lock."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def configure(app, test_config):
    config = app.config
    config.from_mapping(DEFAULTS)
    config.update(from_environ())
    if test_config:
        config.update(test_config)
    if not (
        config["SECRET_KEY"]
        and config["DATABASE_URL"]
        and config["RESULTS_DIR"]
        and (config["RATELIMIT_STORAGE_URI"] or config["REDIS_URL"])
    ):
        os.makedirs(app.instance_path, exist_ok=True)  # the embedded defaults live there
    listen = os.environ.get(LISTEN_VARIABLE, "").split()
    config["DEVELOPMENT_REASON"] = "flask runs with --debug" if app.debug else development_login(config, listen)
    config["DEVELOPMENT"] = config["DEVELOPMENT_REASON"] is not None
    config["SECRET_KEY"] = config["SECRET_KEY"] or instance_secret_key(app.instance_path)
    config["SQLALCHEMY_DATABASE_URI"] = database_uri(config["DATABASE_URL"], app.instance_path)
    # A connection the database dropped (restarted, failed over) is replaced before use, not reported.
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    config["RESULTS_DIR"] = config["RESULTS_DIR"] or os.path.join(app.instance_path, "results")
    config["RATELIMIT_STORAGE_URI"] = (
        config["RATELIMIT_STORAGE_URI"]
        or config["REDIS_URL"]
        or "sqlite:///" + os.path.join(app.instance_path, "ratelimits.sqlite")
    )
    # Room for the multipart framing around the largest accepted photo.
    config["MAX_CONTENT_LENGTH"] = config["MAX_UPLOAD_BYTES"] + 64 * 1024
    config["RATELIMIT_HEADERS_ENABLED"] = False  # Retry-After is set by backend.errors
    check_model(config["SERVER_MODEL"])
    # While the limits' storage (Redis) cannot be reached, each process counts them in memory.
    config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True


def configure_logging(app):
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("backend").setLevel(app.config["LOG_LEVEL"])


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    configure(app, test_config)
    app.json.sort_keys = False
    configure_logging(app)
    urls.init_app(app)
    if app.config["PROXY_FIX"]:
        hops = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    schema.init_app(app)  # migrations; SQLite is upgraded here
    storage.init_app(app)
    auth.init_app(app)  # before the limiter: per-user limits need g.user
    limiter.init_app(app)
    errors.init_app(app)
    ops.init_app(app)
    uploads.init_app(app)
    for module in (styles, plan, jobs, results, pictures, web):
        app.register_blueprint(module.bp)
    content.init_app(app)
    cli.init_app(app)
    validation.init_app(app)  # checks that every view with input is @validated

    app.extensions["zoo"] = ModelZoo(app.config["MODELZOO_DIR"])
    app.extensions["zoo"].refresh(force=True)
    app.extensions["wechat"] = WeChat.from_config(app.config)
    if app.config["JOBS_ENABLED"] and app.config["CELERY_BROKER_URL"]:
        from backend.worker import CeleryQueue

        app.extensions["jobs"] = CeleryQueue(app)  # jobs run on Celery workers
    elif app.config["JOBS_ENABLED"]:
        app.extensions["jobs"] = JobRunner(app)
        start_jobs_on_first_request(app)
    return app


def start_jobs_on_first_request(app):
    """The job runner starts with the first request (gunicorn's config starts it right after a
    worker boots), so that `flask` CLI commands never start worker threads."""
    lock = threading.Lock()

    @app.before_request
    def start_jobs():
        runner = app.extensions["jobs"]
        if not runner.started:
            with lock:
                if not runner.started:
                    runner.start()
