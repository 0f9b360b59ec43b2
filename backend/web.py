"""The web app at `/`: the files `npm run build --prefix web` writes into WEB_DIR (web/dist), served
as they are, at their paths in that folder (`index.html` at `/`). The page talks to the same API as
the mini-program (docs/api.md)."""

from pathlib import Path

from flask import Blueprint, current_app, send_from_directory

from backend.errors import ApiError

bp = Blueprint("web", __name__)


def send_web_file(filename):
    folder = Path(current_app.config["WEB_DIR"])
    if not (folder / "index.html").is_file():
        message = "The web app is not built: run `make install` (npm run build --prefix web)."
        raise ApiError(503, "web_not_built", message)
    response = send_from_directory(folder, filename, max_age=0)  # revalidated by ETag on each visit
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/")
def index():
    return send_web_file("index.html")


@bp.get("/sw.js")
def service_worker():
    """At the root: a service worker's scope is the folder it is served from."""
    return send_web_file("sw.js")


@bp.get("/manifest.webmanifest")
def web_manifest():
    response = send_web_file("manifest.webmanifest")
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/web/<path:filename>")
def asset(filename):
    return send_web_file(f"web/{filename}")
