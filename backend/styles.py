"""The style catalogue, the manifests of the variants clients download, and the model files."""

from flask import Blueprint, current_app, jsonify, request, send_from_directory

from backend.errors import ApiError
from backend.urls import model_file_url
from backend.validation import validated
from backend.zoo import CLIENT_VARIANTS, TEACHER

bp = Blueprint("styles", __name__)

IMMUTABLE = 365 * 24 * 3600
MANIFEST_FILE_MAX_AGE = 60  # manifest.json gains its profile when measured after the build


def zoo():
    zoo = current_app.extensions["zoo"]
    if not zoo.ready:
        raise ApiError(503, "catalogue_unavailable", "The style catalogue is not loaded yet.", 30)
    return zoo


def get_style(style_id):
    style = zoo().get(style_id)
    if style is None:
        raise ApiError(404, "unknown_style", f"There is no style {style_id!r}.")
    return style


def conditional(payload, max_age):
    """A JSON answer with an ETag (If-None-Match gives 304) and a short public cache life."""
    response = jsonify(payload)
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.add_etag()
    return response.make_conditional(request)


def describe(style):
    variants, profile = {}, {}
    for name in CLIENT_VARIANTS:
        variant = style.variant(name)
        if variant:
            variants[name] = {
                "bytes": variant.get("bytes"),
                "download_bytes": variant.get("download_bytes"),
                "network": variant.get("network", TEACHER),
            }
            profile[name] = variant.get("profile")
    return {
        "id": style.id,
        "name": style.name,
        "version": style.version,
        "preview_url": model_file_url(style.id, style.version, style.preview) if style.preview else None,
        "variants": variants,
        "profile": profile,
    }


@bp.get("/api/v1/styles")
def list_styles():
    return conditional({"styles": [describe(style) for style in zoo().styles()]}, 60)


@bp.get("/api/v1/styles/<style_id>/manifest")
@validated
def manifest(style_id):
    style = get_style(style_id)
    name = request.args.get("variant", "uint8")  # checked against the description (backend/openapi.py)
    variant = style.variant(name)
    if not variant:
        raise ApiError(404, "variant_unavailable", f"The style {style.id!r} has no {name} variant.")
    network = style.variant_facts(name)
    files = [
        {
            "path": f["path"],
            "url": model_file_url(style.id, style.version, f["path"]),
            "bytes": f["bytes"],
            "sha256": f["sha256"],
        }
        for f in variant["files"]
    ]
    return conditional(
        {
            "id": style.id,
            "name": style.name,
            "version": style.version,
            "variant": name,
            "network": variant.get("network", TEACHER),
            "format": variant.get("format"),
            "input": network.get("input"),
            "model_url": model_file_url(style.id, style.version, variant["model"]) if variant.get("model") else None,
            "files": files,
            "bytes": variant.get("bytes"),
            "parity": variant.get("parity"),
            "webgl_settings": network.get("webgl_settings") or {},
            "signature": variant.get("signature"),
            "engine": variant.get("engine"),
            "tiling": network.get("tiling"),
        },
        60,
    )


@bp.get("/models/<style_id>/<version>/<path:path>")
def model_file(style_id, version, path):
    """A file of a style version: cached for good (the version changes with the content), with
    ETag and Range support; except manifest.json, which gains the profile when the package is
    measured after it was built (`python -m modelzoo profile`)."""
    folder = current_app.extensions["zoo"].version_folder(style_id, version)
    if folder is None or not current_app.extensions["zoo"].servable(folder, path):
        raise ApiError(404, "not_found", "No such model file.")
    immutable = path != "manifest.json"
    response = send_from_directory(
        folder, path, conditional=True, etag=True, max_age=IMMUTABLE if immutable else MANIFEST_FILE_MAX_AGE
    )
    response.cache_control.public = True
    response.cache_control.immutable = immutable
    return response
