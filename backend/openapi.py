"""The OpenAPI 3.1 description of the HTTP API, served at /api/v1/openapi.json.

tests/backend/test_openapi.py checks that its paths and methods are exactly the app's routes.
"""

from backend.inference import MODELS
from backend.styles import CLIENT_VARIANTS


def _error(description):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description, schema=None):
    return {"description": description, "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _binary(description, *media):
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"description": description, "content": {kind: binary for kind in media or ("image/png",)}}


def _path_param(name, description):
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


def _op(summary, responses, auth=False, parameters=None, body=None, limited=True):
    """An operation; `limited` ones (all but those exempt from the rate limits) can answer 429."""
    operation = {"summary": summary, "responses": responses}
    responses.setdefault("400", _error("the Host header is not one this server answers for (untrusted_host)"))
    if limited:
        responses.setdefault("429", RATE_LIMITED)
    if auth:
        operation["security"] = [{"bearer": []}]
        operation["responses"].setdefault("401", _error("missing, expired or invalid token"))
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = body
    return operation


def _json_body(properties, required=()):
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


JOB = {"$ref": "#/components/schemas/Job"}
LOGIN = {"$ref": "#/components/schemas/Login"}
RATE_LIMITED = _error("rate limited (Retry-After)")
# model.json, weight shards and .onnx files, the preview picture
MODEL_FILE_TYPES = ("application/json", "application/octet-stream", "image/jpeg", "image/png")
PICTURE_TYPES = ("image/png", "image/gif")  # an animated GIF in gives an animated GIF out (backend/gifs.py)
MEDIA_TYPE = {"enum": list(PICTURE_TYPES), "description": "the picture's Content-Type"}


def _web_file():
    return {
        "200": _binary("the file", "text/html", "text/javascript", "application/manifest+json", "image/png"),
        "503": _error("the web app is not built (web_not_built)"),
    }


def spec(app):
    paths = {
        "/api/v1/auth/login": {
            "post": _op(
                "Exchange a wx.login code for our token (WeChat jscode2session)",
                {
                    "200": _json("logged in", LOGIN),
                    "400": _error("no code"),
                    "401": _error("invalid or used code (invalid_code)"),
                    "403": _error("WeChat blocked this user (user_blocked)"),
                    "429": RATE_LIMITED,
                    "503": _error("WeChat busy or unreachable (Retry-After)"),
                },
                body=_json_body({"code": {"type": "string"}}, ["code"]),
            )
        },
        "/api/v1/auth/anonymous": {
            "post": _op(
                "A token for a visitor of the web app without WeChat (a new anonymous user, daily quota "
                "JOB_DAILY_QUOTA_ANONYMOUS; RATELIMIT_ANONYMOUS new tokens per address)",
                {"200": _json("logged in", LOGIN), "429": RATE_LIMITED},
            )
        },
        "/api/v1/styles": {
            "get": _op("The style catalogue", {"200": _json("styles"), "503": _error("catalogue not loaded")})
        },
        "/api/v1/styles/{style_id}/manifest": {
            "get": _op(
                "What to download for one variant of a style, with sha256",
                {"200": _json("manifest"), "400": _error("bad variant"), "404": _error("unknown style or variant")},
                parameters=[
                    _path_param("style_id", "style id"),
                    {
                        "name": "variant",
                        "in": "query",
                        "schema": {"enum": list(CLIENT_VARIANTS), "default": "uint8"},
                        "description": "the teacher's variants, and the student's (student_uint8, ...) when the style "
                        "has one (docs/modelzoo-format.md)",
                    },
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
                    "404": _error("no such file"),
                    "416": {"description": "range not satisfiable"},
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
                    "200": _json(
                        "the plan",
                        {
                            "type": "object",
                            "properties": {
                                "where": {"enum": ["device", "server"]},
                                "variant": {
                                    "type": ["string", "null"],
                                    "description": "device: the variant to download (student_uint8, ... when the "
                                    "style has a student, which phones always get)",
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
                                "long_side": {"type": "integer"},
                                "tile": {
                                    "type": "integer",
                                    "description": "device only, local networks: stylize in tiles of this size",
                                },
                                "overlap": {
                                    "type": "integer",
                                    "description": "with tile: the margin each tile shares with its neighbours",
                                },
                                "reason": {"type": "string"},
                            },
                        },
                    ),
                    "400": _error("bad facts"),
                    "404": _error("unknown style"),
                },
                body=_json_body(
                    {
                        "style": {"type": "string"},
                        "memorySize": {"type": "number"},
                        "benchmarkLevel": {"type": "integer"},
                        "platform": {"type": "string"},
                        "maxTextureSize": {"type": "integer"},
                        "inferenceEngine": {"type": "boolean", "description": "wx.createInferenceSession exists"},
                        "photo": {
                            "type": "object",
                            "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}},
                        },
                    },
                    ["style", "photo"],
                ),
            )
        },
        "/api/v1/jobs": {
            "post": _op(
                "Stylize a photo on the server",
                {
                    "202": _json("queued", JOB),
                    "400": _error("missing image, bad long_side, bad model, empty file, or untrusted_host"),
                    "403": _error("daily quota used (quota_exceeded)"),
                    "404": _error("unknown style (unknown_style)"),
                    "413": _error("upload too large"),
                    "415": _error("not a JPEG, PNG, WebP or GIF"),
                    "422": _error(
                        "too many pixels, too small, damaged, animated (when refused), or an animated GIF over "
                        "GIF_MAX_FRAMES frames (gif_too_many_frames) or GIF_MAX_PIXELS pixels in all (gif_too_large)"
                    ),
                    "429": _error("queue full or rate limited (Retry-After)"),
                    "503": _error(
                        "server jobs switched off, busy reading other uploads, or the database not yet "
                        "upgraded (database_outdated) (Retry-After)"
                    ),
                },
                auth=True,
                body={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "image": {"type": "string", "format": "binary"},
                                    "style": {"type": "string"},
                                    "long_side": {
                                        "oneOf": [
                                            {
                                                "type": "integer",
                                                "minimum": app.config["JOB_MIN_LONG_SIDE"],
                                                "maximum": app.config["JOB_MAX_LONG_SIDE"],
                                            },
                                            {"const": "original"},
                                        ],
                                        "description": "pixels in ASCII digits (default JOB_DEFAULT_LONG_SIDE) or "
                                        "the photo's own size; never enlarged, capped at JOB_MAX_UNTILED_LONG_SIDE "
                                        "for styles the server cannot tile",
                                    },
                                    "model": {
                                        "enum": list(MODELS),
                                        "description": '"fast": the style\'s student (about 25 times less CPU, '
                                        'lower quality); "best": its generator. Default: the SERVER_MODEL setting. '
                                        'A style without a student runs its generator (the job says "best" and a note '
                                        "says why); anything else is refused with 400 bad_model",
                                    },
                                },
                                "required": ["image", "style"],
                            }
                        }
                    },
                },
            )
        },
        "/api/v1/jobs/{job_id}": {
            "get": _op(
                "A job's state",
                {
                    "200": _json("the job", JOB),
                    "404": _error("no such job of yours"),
                    "503": _error("the database not yet upgraded (database_outdated) (Retry-After)"),
                },
                auth=True,
                parameters=[_path_param("job_id", "job id")],
            )
        },
        "/api/v1/results": {
            "post": _op(
                "Upload a picture made on the phone for WeChat's content check (then share it)",
                {
                    "201": _json(
                        "the result",
                        {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "url": {"type": "string"},
                                "width": {"type": "integer"},
                                "height": {"type": "integer"},
                                "media_type": MEDIA_TYPE,
                                "expires_at": {"type": "string"},
                                "check": {"enum": ["none", "pending", "error", "pass", "risky", "review"]},
                            },
                        },
                    ),
                    "400": _error("missing image, empty file"),
                    "403": _error("daily quota used (quota_exceeded)"),
                    "404": _error("unknown style"),
                    "413": _error("upload too large"),
                    "415": _error("not a JPEG, PNG, WebP or GIF"),
                    "422": _error("too many pixels, too small, damaged, or a GIF over the GIF limits"),
                    "429": _error("rate limited (Retry-After)"),
                },
                auth=True,
                body={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "image": {"type": "string", "format": "binary"},
                                    "style": {"type": "string"},
                                },
                                "required": ["image", "style"],
                            }
                        }
                    },
                },
            )
        },
        "/api/v1/results/{result_id}": {
            "delete": _op(
                "Delete a result (its share links die)",
                {"204": {"description": "deleted"}, "404": _error("no such result of yours")},
                auth=True,
                parameters=[_path_param("result_id", "result id")],
            )
        },
        "/api/v1/results/{result_id}/image": {
            "get": _op(
                "The stylized PNG",
                {"200": _binary("the picture", *PICTURE_TYPES), "404": _error("no such result of yours")},
                auth=True,
                parameters=[_path_param("result_id", "result id")],
            )
        },
        "/api/v1/results/{result_id}/share": {
            "post": _op(
                "Public links: the share page (url) and the picture (image_url, a share card's imageUrl)",
                {
                    "201": _json(
                        "the links",
                        {
                            "type": "object",
                            "properties": {
                                "url": {"type": "string"},
                                "image_url": {"type": "string"},
                                "expires_at": {"type": "string"},
                            },
                        },
                    ),
                    "404": _error("no such result of yours"),
                    "409": _error("content_rejected, or content_check_pending (Retry-After)"),
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
                    "404": _error("expired or deleted"),
                },
                parameters=[_path_param("token", "share token")],
            )
        },
        "/s/{token}/image": {
            "get": _op(
                "A shared picture (public), always the picture itself",
                {"200": _binary("the picture", *PICTURE_TYPES), "404": _error("expired or deleted")},
                parameters=[_path_param("token", "share token")],
            )
        },
        "/": {"get": _op("The web app's page", _web_file())},
        "/sw.js": {"get": _op("The web app's service worker", _web_file())},
        "/manifest.webmanifest": {"get": _op("The web app's PWA manifest", _web_file())},
        "/web/{filename}": {
            "get": _op(
                "The web app's other files (scripts, icons)",
                {**_web_file(), "404": _error("no such file")},
                parameters=[_path_param("filename", "file path")],
            )
        },
        "/media/{token}": {
            "get": _op(
                "An uploaded picture, for WeChat's content check only",
                {"200": _binary("the picture", *PICTURE_TYPES), "404": _error("no such picture")},
                parameters=[_path_param("token", "media token")],
                limited=False,
            )
        },
        "/api/v1/wechat/events": {
            "get": _op(
                "WeChat message push URL verification",
                {
                    "200": {"description": "echostr"},
                    "403": _error("bad signature"),
                    "404": _error("push not configured"),
                },
                limited=False,
            ),
            "post": _op(
                "WeChat message push (wxa_media_check verdicts)",
                {
                    "200": {"description": "success"},
                    "403": _error("bad signature"),
                    "404": _error("push not configured"),
                },
                limited=False,
            ),
        },
        "/healthz": {"get": _op("Liveness", {"200": _json("alive")}, limited=False)},
        "/readyz": {
            "get": _op(
                "Readiness: catalogue loaded, database reachable",
                {"200": _json("ready"), "503": _json("not ready")},
                limited=False,
            )
        },
        "/metrics": {
            "get": _op("Prometheus metrics", {"200": {"description": "text exposition format"}}, limited=False)
        },
        "/api/v1/openapi.json": {"get": _op("This document", {"200": _json("OpenAPI 3.1")})},
    }
    if app.config["DEVELOPMENT"]:
        paths["/api/v1/auth/dev-login"] = {
            "post": _op(
                "Development mode only: log in without WeChat",
                {"200": _json("logged in", LOGIN), "400": _error("openid missing or not a string of 1 to 64")},
                body=_json_body({"openid": {"type": "string", "minLength": 1, "maxLength": 64}}, ["openid"]),
            )
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Cartoon backend", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                        }
                    },
                },
                "Login": {
                    "type": "object",
                    "properties": {
                        "token": {"type": "string"},
                        "expires_in": {"type": "integer"},
                        "user": {"type": "object", "properties": {"id": {"type": "integer"}}},
                    },
                },
                "Job": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"enum": ["queued", "running", "done", "failed"]},
                        "style": {"type": "string"},
                        "model": {"enum": list(MODELS), "description": "the model that runs the job"},
                        "long_side": {"type": "integer"},
                        "created_at": {"type": "string"},
                        "notes": {"type": "array", "items": {"type": "string"}},
                        "result": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "url": {"type": "string"},
                                "width": {"type": "integer"},
                                "height": {"type": "integer"},
                                "media_type": MEDIA_TYPE,
                                "expires_at": {"type": "string"},
                            },
                        },
                        "error": {"$ref": "#/components/schemas/Error/properties/error"},
                    },
                },
            },
        },
    }
