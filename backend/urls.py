"""Absolute URLs for what clients fetch: behind a proxy set PUBLIC_BASE_URL; model files can be
served from elsewhere (a CDN or bucket holding a copy of MODELZOO_DIR) with MODELS_BASE_URL."""

from urllib.parse import quote

from flask import current_app, url_for


def public_url(endpoint, **values):
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def model_file_url(style_id, version, path):
    base = current_app.config["MODELS_BASE_URL"].rstrip("/")
    if base:
        return f"{base}/{quote(style_id)}/{quote(version)}/{quote(path)}"
    return public_url("styles.model_file", style_id=style_id, version=version, path=path)
