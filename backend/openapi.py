"""The OpenAPI 3.1 description of the HTTP API, served at /api/v1/openapi.json: the one description
of every route, its request and its answers.

- `backend/validation.py` checks each request's JSON body, query and form fields against it before
  the view runs. A refused field answers 400 with the error code of the field's (or an enclosing
  schema's) `x-error-code` extension, and its `x-error-message` when it has one.
- tests/backend/conformance.py checks every answer the backend tests receive against it, and
  tests/backend/test_backend_ops.py that its paths and methods are exactly the app's routes.
- docs/openapi.json is it for the default settings in development mode, written by
  `python -c 'import backend.openapi as o; o.main()' > docs/openapi.json` (a test keeps it identical).
"""

import json
import re

from backend.inference import MODELS
from backend.zoo import CLIENT_VARIANTS

RETRY_AFTER = {
    "description": "seconds to wait before trying again",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
# model.json, weight shards and .onnx files, the preview picture
MODEL_FILE_TYPES = ("application/json", "application/octet-stream", "image/jpeg", "image/png")
PICTURE_TYPES = ("image/png", "image/gif")  # an animated GIF in gives an animated GIF out (backend/gifs.py)
MEDIA_TYPE = {"enum": list(PICTURE_TYPES), "description": "the picture's Content-Type"}
STRING = {"type": "string"}
INTEGER = {"type": "integer"}
EVENT = "a wxa_media_check event (JSON); anything else is acknowledged and ignored"
CHECKS = ["none", "pending", "error", "pass", "risky", "review"]


def path_of(rule):
    """The OpenAPI path of a Flask URL rule: `/s/<token>` -> `/s/{token}`."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def _object(properties, required=(), **more):
    return {"type": "object", "properties": properties, "required": list(required), **more}


def _error(description, retry_after=False):
    answer = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if retry_after:
        answer["headers"] = {"Retry-After": RETRY_AFTER}
    return answer


def _json(description, schema, retry_after=False):
    answer = {"description": description, "content": {"application/json": {"schema": schema}}}
    if retry_after:
        answer["headers"] = {"Retry-After": RETRY_AFTER}
    return answer


def _binary(description, *media):
    """A file: OpenAPI 3.1 describes its bytes with no schema."""
    return {"description": description, "content": {kind: {} for kind in media}}


def _text(description, media="text/plain"):
    return {"description": description, "content": {media: {"schema": STRING}}}


def _path_param(name, description):
    return {"name": name, "in": "path", "required": True, "schema": STRING, "description": description}


def _query_param(name, description, schema=STRING, **more):
    return {"name": name, "in": "query", "schema": schema, "description": description, **more}


RATE_LIMITED = _error("rate limited (rate_limited), or the job queue is full (queue_full)", retry_after=True)
CATALOGUE_UNAVAILABLE = _error("the style catalogue is not loaded yet (catalogue_unavailable)", retry_after=True)
STORAGE_UNAVAILABLE = _error("the pictures' storage cannot be reached (storage_unavailable)", retry_after=True)
# The other answers of a picture (backend/storage.py's send_picture): ETag (304) and Range (206, 416).
PICTURE_PARTS = {
    "206": _binary("a range of the picture", *PICTURE_TYPES),
    "304": {"description": "not modified"},
    "416": _error("range not satisfiable"),
}


def _op(summary, responses, auth=False, parameters=None, body=None, limited=True):
    """An operation; `limited` ones (all but those exempt from the rate limits) can answer 429."""
    operation = {"summary": summary, "responses": responses}
    responses.setdefault("400", _error("the Host header is not one this server answers for (untrusted_host)"))
    if limited:
        responses.setdefault("429", RATE_LIMITED)
    if auth:
        operation["security"] = [{"bearer": []}]
        responses.setdefault("401", _error("missing, expired or invalid token (unauthorized)"))
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = body
    return operation


def _json_body(properties, required=()):
    """A JSON object body; anything else is refused with 400 bad_request."""
    schema = _object(
        properties, required, **{"x-error-code": "bad_request", "x-error-message": "Send a JSON object body."}
    )
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _form_body(properties, required=()):
    """A multipart form. Its text fields are checked (an empty one counts as absent; ASCII digits
    are the integer they spell where the field takes one); a file is checked only to be there."""
    schema = _object(properties, required, **{"x-error-code": "bad_request"})
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


def _field(schema, code, message):
    return {**schema, "x-error-code": code, "x-error-message": message}


IMAGE = _field(
    {"type": "string", "format": "binary", "description": "the picture (JPEG, PNG, WebP or GIF)"},
    "missing_image",
    "Send the picture as the multipart field 'image'.",
)
STYLE = _field(
    {"type": "string", "description": "a style id"}, "missing_style", "Send the style id in the field 'style'."
)
UPLOAD_ERRORS = {
    "403": _error("daily quota used (quota_exceeded)"),
    "404": _error("unknown style (unknown_style)"),
    "413": _error("upload too large (upload_too_large)"),
    "415": _error("not a JPEG, PNG, WebP or GIF (unsupported_format)"),
    "422": _error(
        "too many pixels, too small, damaged, animated (when refused), or an animated GIF over "
        "GIF_MAX_FRAMES frames (gif_too_many_frames) or GIF_MAX_PIXELS pixels in all (gif_too_large)"
    ),
}


def _web_file(*media):
    return {"200": _binary("the file", *media), "503": _error("the web app is not built (web_not_built)")}


def _login_body(**more):
    properties = {
        "token": STRING,
        "expires_in": INTEGER,
        "user": _object({"id": INTEGER}, ["id"]),
        **more,
    }
    return _object(properties, ["token", "expires_in", "user", *more])


def _schemas():
    result = _object(
        {
            "id": STRING,
            "url": {"type": "string", "description": "GET it with the Bearer header"},
            "width": INTEGER,
            "height": INTEGER,
            "media_type": MEDIA_TYPE,
            "expires_at": STRING,
        },
        ["id", "url", "width", "height", "media_type", "expires_at"],
    )
    error = _object({"code": STRING, "message": STRING}, ["code", "message"])
    return {
        "Error": _object({"error": {"$ref": "#/components/schemas/ErrorDetail"}}, ["error"]),
        "ErrorDetail": error,
        "Job": _object(
            {
                "id": STRING,
                "status": {"enum": ["queued", "running", "done", "failed"]},
                "style": STRING,
                "model": {"enum": list(MODELS), "description": "the model that runs the job"},
                "long_side": INTEGER,
                "created_at": STRING,
                "notes": {"type": "array", "items": STRING, "description": "only when something was adjusted"},
                "result": {**result, "description": "when done"},
                "error": {"$ref": "#/components/schemas/ErrorDetail", "description": "when failed"},
            },
            ["id", "status", "style", "model", "long_side", "created_at"],
            allOf=[
                {"if": _object({"status": {"const": "done"}}, ["status"]), "then": {"required": ["result"]}},
                {"if": _object({"status": {"const": "failed"}}, ["status"]), "then": {"required": ["error"]}},
            ],
        ),
        "Style": _object(
            {
                "id": STRING,
                "name": STRING,
                "version": STRING,
                "preview_url": {"type": ["string", "null"]},
                "variants": {
                    "type": "object",
                    "additionalProperties": _object(
                        {
                            "bytes": {"type": ["integer", "null"]},
                            "download_bytes": {"type": ["integer", "null"]},
                            "network": {"enum": ["teacher", "student"]},
                        },
                        ["network"],
                    ),
                },
                "profile": {"type": "object", "description": "each variant's manifest profile (or null)"},
            },
            ["id", "name", "version", "preview_url", "variants", "profile"],
        ),
        "Manifest": _object(
            {
                "id": STRING,
                "name": STRING,
                "version": STRING,
                "variant": {"enum": list(CLIENT_VARIANTS)},
                "network": {"enum": ["teacher", "student"]},
                "format": {"type": ["string", "null"]},
                "input": {"type": ["object", "null"], "description": "color_order, value_range, size_multiple, ..."},
                "model_url": {"type": ["string", "null"]},
                "files": {
                    "type": "array",
                    "items": _object(
                        {"path": STRING, "url": STRING, "bytes": INTEGER, "sha256": STRING},
                        ["path", "url", "bytes", "sha256"],
                    ),
                },
                "bytes": {"type": ["integer", "null"]},
                "parity": {"type": ["object", "null"]},
                "webgl_settings": {"type": "object"},
                "signature": {"type": ["object", "null"]},
                "engine": {"type": ["object", "null"]},
                "tiling": {
                    "type": ["object", "null"],
                    "description": "receptive_field, overlap, statistics; null: stylized whole",
                },
            },
            ["id", "name", "version", "variant", "network", "format", "input", "model_url", "files", "bytes"],
        ),
        "Plan": _object(
            {
                "where": {"enum": ["device", "server"]},
                "variant": {
                    "type": ["string", "null"],
                    "description": "device: the variant to download (student_uint8, ... when the style has a "
                    "student, which phones always get); null for the server",
                },
                "network": {"enum": ["teacher", "student"], "description": "device only"},
                "manifest_url": {
                    "type": "string",
                    "description": "device only: GET it for the variant's files, input and tiling",
                },
                "engine": {"enum": ["wechat"], "description": "only for wx.createInferenceSession"},
                "webgl_settings": {
                    "type": "object",
                    "description": "device, TF.js only: the flags to set before loading the model",
                },
                "model": {
                    "enum": list(MODELS),
                    "description": "server only: the model of a job that does not ask (SERVER_MODEL)",
                },
                "precision_level": {"type": "integer", "minimum": 0, "maximum": 4},
                "long_side": INTEGER,
                "tile": {
                    "type": "integer",
                    "description": "device only, local networks: stylize in tiles of this size",
                },
                "overlap": {
                    "type": "integer",
                    "description": "with tile: the margin each tile shares with its neighbours",
                },
                "reason": STRING,
            },
            ["where", "variant", "long_side", "reason"],
            allOf=[
                {
                    "if": _object({"where": {"const": "device"}}, ["where"]),
                    "then": {"required": ["network", "manifest_url"]},
                    "else": {"required": ["model"]},
                }
            ],
        ),
        "Result": _object({**result["properties"], "check": {"enum": CHECKS}}, [*result["required"], "check"]),
        "Login": _login_body(),
    }


def spec(app):
    config = app.config
    long_side_message = (
        f"long_side must be a whole number from {config['JOB_MIN_LONG_SIDE']} to {config['JOB_MAX_LONG_SIDE']}, "
        'or "original".'
    )
    paths = {
        "/api/v1/auth/login": {
            "post": _op(
                "Exchange a wx.login code for our token (WeChat jscode2session)",
                {
                    "200": _json("logged in", {"$ref": "#/components/schemas/Login"}),
                    "400": _error("no code (missing_code), not a JSON object (bad_request), or untrusted_host"),
                    "401": _error("invalid or used code (invalid_code)"),
                    "403": _error("WeChat blocked this user (user_blocked)"),
                    "502": _error("WeChat answered with an error (wechat_error)"),
                    "503": _error("WeChat busy or unreachable, with Retry-After; or not configured"),
                },
                body=_json_body(
                    {
                        "code": _field(
                            {"type": "string", "minLength": 1, "maxLength": 256, "pattern": r"\S"},
                            "missing_code",
                            'Send {"code": "<the code from wx.login>"}.',
                        )
                    },
                    ["code"],
                ),
            )
        },
        "/api/v1/auth/anonymous": {
            "post": _op(
                "A token for a visitor of the web app without WeChat (a new anonymous user, daily quota "
                "JOB_DAILY_QUOTA_ANONYMOUS; RATELIMIT_ANONYMOUS new tokens per address)",
                {
                    "200": _json("logged in", _login_body(anonymous={"const": True})),
                    "503": _error("busy, try again (busy)", retry_after=True),
                },
            )
        },
        "/api/v1/styles": {
            "get": _op(
                "The style catalogue (ETag: If-None-Match gives 304)",
                {
                    "200": _json(
                        "styles",
                        _object(
                            {"styles": {"type": "array", "items": {"$ref": "#/components/schemas/Style"}}}, ["styles"]
                        ),
                    ),
                    "304": {"description": "not modified"},
                    "503": CATALOGUE_UNAVAILABLE,
                },
            )
        },
        "/api/v1/styles/{style_id}/manifest": {
            "get": _op(
                "What to download for one variant of a style, with sha256 (ETag: If-None-Match gives 304)",
                {
                    "200": _json("manifest", {"$ref": "#/components/schemas/Manifest"}),
                    "304": {"description": "not modified"},
                    "400": _error("bad variant (bad_variant), or untrusted_host"),
                    "404": _error("unknown style (unknown_style) or variant (variant_unavailable)"),
                    "503": CATALOGUE_UNAVAILABLE,
                },
                parameters=[
                    _path_param("style_id", "style id"),
                    _query_param(
                        "variant",
                        "the teacher's variants, and the student's (student_uint8, ...) when the style has one "
                        "(docs/modelzoo-format.md)",
                        _field(
                            {"enum": list(CLIENT_VARIANTS), "default": "uint8"},
                            "bad_variant",
                            f"variant must be one of {', '.join(CLIENT_VARIANTS)}.",
                        ),
                    ),
                ],
            )
        },
        "/models/{style_id}/{version}/{path}": {
            "get": _op(
                "A model file; immutable, ETag (304) and Range (206)",
                {
                    "200": _binary("the file", *MODEL_FILE_TYPES),
                    "206": _binary("a range", *MODEL_FILE_TYPES),
                    "304": {"description": "not modified"},
                    "404": _error("no such file (not_found)"),
                    "416": _error("range not satisfiable"),
                },
                parameters=[
                    _path_param("style_id", "style id"),
                    _path_param("version", "style version"),
                    _path_param("path", "file path from the manifest"),
                ],
            )
        },
        "/api/v1/plan": {
            "post": _op(
                "Where to stylize: device (variant, size) or server",
                {
                    "200": _json("the plan", {"$ref": "#/components/schemas/Plan"}),
                    "400": _error("bad facts (bad_request), or untrusted_host"),
                    "404": _error("unknown style (unknown_style)"),
                    "503": CATALOGUE_UNAVAILABLE,
                },
                body=_json_body(
                    {
                        "style": _field(STRING, "bad_request", "style (a style id) is required."),
                        "memorySize": {"type": ["number", "null"], "description": "MB"},
                        "benchmarkLevel": {"type": ["integer", "null"], "description": "wx.getDeviceBenchmarkInfo"},
                        "platform": {"type": ["string", "null"], "description": "ios, android, ..., web"},
                        "maxTextureSize": {"type": ["integer", "null"], "description": "0: unknown"},
                        "inferenceEngine": {
                            "type": ["boolean", "null"],
                            "description": "wx.createInferenceSession exists",
                        },
                        "photo": _field(
                            _object(
                                {
                                    "width": {"type": "integer", "minimum": 1},
                                    "height": {"type": "integer", "minimum": 1},
                                },
                                ["width", "height"],
                            ),
                            "bad_request",
                            "photo {width, height} (positive whole numbers) is required.",
                        ),
                    },
                    ["style", "photo"],
                ),
            )
        },
        "/api/v1/jobs": {
            "post": _op(
                "Stylize a photo on the server",
                {
                    "202": _json("queued", {"$ref": "#/components/schemas/Job"}),
                    "400": _error(
                        "missing image (missing_image) or style (missing_style), bad long_side (bad_long_side), "
                        "bad model (bad_model), empty file (empty_upload), or untrusted_host"
                    ),
                    **UPLOAD_ERRORS,
                    "503": _error(
                        "server jobs switched off (jobs_disabled), busy reading other uploads (busy), the "
                        "catalogue not loaded (catalogue_unavailable), the pictures' storage unreachable "
                        "(storage_unavailable), or the database not yet upgraded (database_outdated)",
                        retry_after=True,
                    ),
                },
                auth=True,
                body=_form_body(
                    {
                        "image": IMAGE,
                        "style": STYLE,
                        "long_side": _field(
                            {
                                "oneOf": [
                                    {
                                        "type": "integer",
                                        "minimum": config["JOB_MIN_LONG_SIDE"],
                                        "maximum": config["JOB_MAX_LONG_SIDE"],
                                    },
                                    {"const": "original"},
                                ],
                                "description": "pixels in ASCII digits (default JOB_DEFAULT_LONG_SIDE) or the "
                                "photo's own size; never enlarged, capped at JOB_MAX_UNTILED_LONG_SIDE for styles "
                                "the server cannot tile",
                            },
                            "bad_long_side",
                            long_side_message,
                        ),
                        "model": _field(
                            {
                                "enum": list(MODELS),
                                "description": '"fast": the style\'s student (about 25 times less CPU, lower '
                                'quality); "best": its generator. Default: the SERVER_MODEL setting. A style '
                                'without a student runs its generator (the job says "best" and a note says why)',
                            },
                            "bad_model",
                            'model must be "fast" (the style\'s student) or "best" (its generator).',
                        ),
                    },
                    ["image", "style"],
                ),
            )
        },
        "/api/v1/jobs/{job_id}": {
            "get": _op(
                "A job's state",
                {
                    "200": _json("the job", {"$ref": "#/components/schemas/Job"}),
                    "404": _error("no such job of yours (not_found)"),
                    "503": _error("the database not yet upgraded (database_outdated)", retry_after=True),
                },
                auth=True,
                parameters=[_path_param("job_id", "job id")],
            )
        },
        "/api/v1/results": {
            "post": _op(
                "Upload a picture made on the phone for WeChat's content check (then share it)",
                {
                    "201": _json("the result", {"$ref": "#/components/schemas/Result"}),
                    "400": _error(
                        "missing image (missing_image) or style (missing_style), empty file (empty_upload), "
                        "or untrusted_host"
                    ),
                    **UPLOAD_ERRORS,
                    "503": _error(
                        "busy reading other uploads (busy), the catalogue not loaded (catalogue_unavailable), or the "
                        "pictures' storage unreachable (storage_unavailable)",
                        retry_after=True,
                    ),
                },
                auth=True,
                body=_form_body({"image": IMAGE, "style": STYLE}, ["image", "style"]),
            )
        },
        "/api/v1/results/{result_id}": {
            "delete": _op(
                "Delete a result (its share links die)",
                {
                    "204": {"description": "deleted"},
                    "404": _error("no such result of yours (not_found)"),
                    "503": STORAGE_UNAVAILABLE,
                },
                auth=True,
                parameters=[_path_param("result_id", "result id")],
            )
        },
        "/api/v1/results/{result_id}/image": {
            "get": _op(
                "The stylized picture: PNG, or GIF for an animated GIF",
                {
                    "200": _binary("the picture", *PICTURE_TYPES),
                    **PICTURE_PARTS,
                    "404": _error("no such result of yours (not_found)"),
                    "503": STORAGE_UNAVAILABLE,
                },
                auth=True,
                parameters=[_path_param("result_id", "result id")],
            )
        },
        "/api/v1/results/{result_id}/share": {
            "post": _op(
                "Public links: the share page (url) and the picture (image_url, a share card's imageUrl)",
                {
                    "201": _json(
                        "the links (the same when asked again)",
                        _object(
                            {"url": STRING, "image_url": STRING, "expires_at": STRING},
                            ["url", "image_url", "expires_at"],
                        ),
                    ),
                    "404": _error("no such result of yours (not_found)"),
                    "409": _error("content_rejected, or content_check_pending (with Retry-After)"),
                    "503": STORAGE_UNAVAILABLE,
                },
                auth=True,
                parameters=[_path_param("result_id", "result id")],
            )
        },
        "/s/{token}": {
            "get": _op(
                "A shared picture (public): a small HTML page with og: tags for browsers (Accept prefers "
                "text/html), the picture itself otherwise",
                {
                    "200": _binary("the page or the picture", "text/html", *PICTURE_TYPES),
                    **PICTURE_PARTS,
                    "404": _error("expired, deleted or flagged (not_found)"),
                    "503": STORAGE_UNAVAILABLE,
                },
                parameters=[_path_param("token", "share token")],
            )
        },
        "/s/{token}/image": {
            "get": _op(
                "A shared picture (public), always the picture itself",
                {
                    "200": _binary("the picture", *PICTURE_TYPES),
                    **PICTURE_PARTS,
                    "404": _error("expired, deleted or flagged (not_found)"),
                    "503": STORAGE_UNAVAILABLE,
                },
                parameters=[_path_param("token", "share token")],
            )
        },
        "/": {"get": _op("The web app's page", _web_file("text/html"))},
        "/sw.js": {"get": _op("The web app's service worker", _web_file("text/javascript"))},
        "/manifest.webmanifest": {"get": _op("The web app's PWA manifest", _web_file("application/manifest+json"))},
        "/web/{filename}": {
            "get": _op(
                "The web app's other files (scripts, styles, icons)",
                {
                    **_web_file("text/javascript", "text/css", "image/png", "image/svg+xml", "application/json"),
                    "404": _error("no such file (not_found)"),
                },
                parameters=[_path_param("filename", "file path")],
            )
        },
        "/media/{token}": {
            "get": _op(
                "An uploaded picture, for WeChat's content check only",
                {
                    "200": _binary("the picture", *PICTURE_TYPES),
                    **PICTURE_PARTS,
                    "404": _error("no such picture (not_found)"),
                    "503": STORAGE_UNAVAILABLE,
                },
                parameters=[_path_param("token", "media token")],
                limited=False,
            )
        },
        "/api/v1/wechat/events": {
            method: _op(
                summary,
                {
                    "200": _text(answer),
                    "403": _error("bad signature (bad_signature)"),
                    "404": _error("push not configured (not_found)"),
                },
                parameters=[
                    _query_param(name, "WeChat's message signature")
                    for name in ("signature", "timestamp", "nonce", *(["echostr"] if method == "get" else []))
                ],
                body=None if method == "get" else {"content": {"application/json": {"schema": {"description": EVENT}}}},
                limited=False,
            )
            for method, summary, answer in (
                ("get", "WeChat message push URL verification", "echostr"),
                ("post", "WeChat message push (wxa_media_check verdicts)", "success"),
            )
        },
        "/healthz": {
            "get": _op(
                "Liveness", {"200": _json("alive", _object({"status": {"const": "ok"}}, ["status"]))}, limited=False
            )
        },
        "/readyz": {
            "get": _op(
                "Readiness: catalogue loaded, database and pictures' storage reachable",
                {
                    "200": _json(
                        "ready", _object({"status": {"const": "ready"}, "styles": INTEGER}, ["status", "styles"])
                    ),
                    "503": _json(
                        "not ready",
                        _object(
                            {"status": {"const": "unavailable"}, "problems": {"type": "array", "items": STRING}},
                            ["status", "problems"],
                        ),
                        retry_after=True,
                    ),
                },
                limited=False,
            )
        },
        "/metrics": {"get": _op("Prometheus metrics", {"200": _text("text exposition format")}, limited=False)},
        "/api/v1/openapi.json": {
            "get": _op(
                "This document",
                {
                    "200": _json(
                        "OpenAPI 3.1",
                        _object(
                            {"openapi": STRING, "info": {"type": "object"}, "paths": {"type": "object"}},
                            ["openapi", "info", "paths"],
                        ),
                    )
                },
            )
        },
    }
    if config["DEVELOPMENT"]:
        paths["/api/v1/auth/dev-login"] = {
            "post": _op(
                "Development mode only: log in without WeChat",
                {
                    "200": _json("logged in", _login_body(development=STRING)),
                    "400": _error("openid missing or not a string of 1 to 64 (bad_request), or untrusted_host"),
                    "503": _error("busy, try again (busy)", retry_after=True),
                },
                body=_json_body(
                    {
                        "openid": _field(
                            {"type": "string", "minLength": 1, "maxLength": 64},
                            "bad_request",
                            'Send {"openid": "<1 to 64 characters>"}.',
                        )
                    },
                    ["openid"],
                ),
            )
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cartoon backend",
            "version": "1",
            "description": 'Errors are {"error": {"code", "message"}}; docs/api.md explains the behaviour.',
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
    }


def description(app):
    """The app's description, made once (it follows the app's settings)."""
    if "openapi" not in app.extensions:
        app.extensions["openapi"] = spec(app)
    return app.extensions["openapi"]


def default_description():
    """The description for the default settings in development mode: docs/openapi.json."""
    from flask import Flask

    from backend.config import DEFAULTS

    app = Flask(__name__)
    app.config.update(DEFAULTS, DEVELOPMENT=True)
    return spec(app)


def main():
    print(json.dumps(default_description(), indent=2, ensure_ascii=False))
