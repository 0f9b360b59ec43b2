"""Operations: liveness, readiness, Prometheus metrics, the OpenAPI description, request logs.

Every answer says `X-Content-Type-Options: nosniff`, and `Cache-Control: no-store` unless its view
chose its caching. Request logs name the route pattern (`/s/<token>`, never the token), the status and the time;
no address, no user, no query string, no header.
"""

import logging
import time

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import text

from backend import metrics
from backend.extensions import db, limiter
from backend.models import Job
from backend.openapi import description

log = logging.getLogger("backend.requests")
bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    problems = []
    zoo = current_app.extensions["zoo"]
    if not zoo.ready:
        problems.append(f"catalogue not loaded: {zoo.error}")
    try:
        db.session.execute(text("SELECT 1"))
        schema = current_app.extensions["schema"].problem()  # PostgreSQL not yet upgraded
        if schema:
            problems.append(f"database: {schema}")
    except Exception as error:  # any database failure means not ready
        problems.append(f"database: {type(error).__name__}")
    storage = current_app.extensions["storage"].problem()
    if storage:
        problems.append(f"storage: {storage}")
    if problems:
        return jsonify(status="unavailable", problems=problems), 503, {"Retry-After": "10"}
    return jsonify(status="ready", styles=len(zoo.styles()))


@bp.get("/metrics")
@limiter.exempt
def prometheus():
    try:
        queued = db.session.scalar(db.select(db.func.count(Job.id)).where(Job.status == "queued"))
    except Exception:  # the database is down: the other figures still answer
        db.session.rollback()
        queued = None
    body, content_type = metrics.render(queued)
    return body, 200, {"Content-Type": content_type}


@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify(description(current_app))


def start_timer():
    g.started = time.perf_counter()


def log_request(response):
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
    metrics.REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    metrics.LATENCY.labels(endpoint).observe(seconds)
    log.info("%s %s %d %.1fms", request.method, endpoint, response.status_code, seconds * 1000)
    return response


def protective_headers(response):
    """No content sniffing anywhere; answers that set no caching of their own (tokens, jobs,
    errors) are never stored by a browser or a proxy."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app):
    app.before_request(start_timer)
    app.after_request(log_request)
    app.after_request(protective_headers)
    app.register_blueprint(bp)
