"""Absolute URLs for what clients fetch: behind a proxy set PUBLIC_BASE_URL; model files can be
served from elsewhere (a CDN or bucket holding a copy of MODELZOO_DIR) with MODELS_BASE_URL."""

from urllib.parse import quote

from flask import current_app, url_for

LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def public_url(endpoint, **values):
    """PUBLIC_BASE_URL (with any path prefix) and the route; without it, the request's own host,
    which is then one of TRUSTED_HOSTS (see `init_app`)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if base:
        return base + current_app.url_map.bind("").build(endpoint, values)
    return url_for(endpoint, _external=True, **values)


def init_app(app):
    """Links are made from the Host header only when it is trusted: TRUSTED_HOSTS (comma-separated,
    '.example.com' for subdomains) is enforced by Flask (400 for others); without it and without
    PUBLIC_BASE_URL, production answers only loopback names, development any host."""
    hosts = app.config["TRUSTED_HOSTS"]
    if isinstance(hosts, str):
        hosts = [host.strip() for host in hosts.split(",") if host.strip()]
    if not hosts and not app.config["PUBLIC_BASE_URL"] and not app.config["DEVELOPMENT"]:
        hosts = list(LOOPBACK)
    app.config["TRUSTED_HOSTS"] = hosts or None


def model_file_url(style_id, version, path):
    base = current_app.config["MODELS_BASE_URL"].rstrip("/")
    if base:
        return f"{base}/{quote(style_id)}/{quote(version)}/{quote(path)}"
    return public_url("styles.model_file", style_id=style_id, version=version, path=path)
