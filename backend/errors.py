"""JSON errors: `{"error": {"code", "message"}}`, with Retry-After on 429 and 503."""

import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException, SecurityError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "upload_too_large",
    415: "unsupported_format",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answer: `raise ApiError(404, "unknown_style", "No style named 'x'.")`."""

    def __init__(self, status, code, message, retry_after=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def error_response(status, code, message, retry_after=None):
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(int(retry_after))
    return response


def handle_api_error(error):
    return error_response(error.status, error.code, error.message, error.retry_after)


def handle_http_exception(error):
    status = error.code or 500
    message = error.description or error.name
    if isinstance(error, SecurityError):  # a Host header outside TRUSTED_HOSTS
        log.info("request for an untrusted host refused (see TRUSTED_HOSTS and PUBLIC_BASE_URL)")
        return error_response(400, "untrusted_host", "This server does not answer for that host name.")
    if status == 413:
        message = "The upload is larger than this server accepts."
    elif status == 429:
        message = f"Too many requests ({error.description}); try again later."
    response = error_response(status, HTTP_CODES.get(status, "error"), message)
    # Keep the headers Werkzeug or Flask-Limiter set (Allow on 405, Retry-After on 429).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    if status == 429 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(rate_limit_reset())
    return response


def rate_limit_reset():
    """Seconds until the rate limit that was just hit lets requests through again."""
    import time

    from backend.extensions import limiter

    current = limiter.current_limit
    return max(1, int(current.reset_at - time.time()) + 1) if current else 60


def handle_unexpected(error):
    log.exception("unhandled error")
    return error_response(500, "internal_error", "Something went wrong on our side.")


def init_app(app):
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
