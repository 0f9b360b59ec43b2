"""Each request checked against the OpenAPI description (backend/openapi.py) before its view runs:
the query parameters, the JSON body, and the text fields of a multipart form (a file only for being
there, never its content). A refusal is 400 with the `x-error-code` of the field that failed, or of
the nearest schema around it that names one (`bad_request` by default), and its `x-error-message`
when that schema has one. What a schema cannot say (decoding an image, quotas, whether a style
exists) stays in the views.

Views take the check with `@validated`, under the rate limits and `@login_required`: a refused
request counts toward the limits, and one without a valid token gets 401 first. `init_app` refuses
to start an app where a view whose operation takes a body or query parameters lacks it.
"""

import functools
import json
import math
import re

from flask import current_app, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from backend import openapi
from backend.errors import ApiError

DIGITS = re.compile(r"[0-9]{1,18}")  # a form value read as an integer (no signs, spaces or other digits)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
MESSAGE_LIMIT = 200


def validated(view):
    """The view, called once the request conforms to its operation in the description."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        validate_request()
        return view(**kwargs)

    wrapped.validated = True  # functools.wraps carries it to the decorators above
    return wrapped


def init_app(app):
    """Call once every blueprint is registered."""
    paths = openapi.description(app)["paths"]
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths.get(openapi.path_of(rule.rule), {}).get(method.lower(), {})
            takes_input = "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))
            if takes_input and not getattr(app.view_functions[rule.endpoint], "validated", False):
                raise RuntimeError(f"{method} {rule.rule}: its view needs @validated (backend/validation.py)")


def validate_request():
    operation = operation_of(current_app, request)
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            check_query(parameter)
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        check(content["application/json"]["schema"], json_body(), "body")
    for form_type in set(content) & set(FORM_TYPES):
        check(content[form_type]["schema"], form_fields(content[form_type]["schema"]), "form")


def operation_of(app, req):
    """The operation of the description that answers `req` (None for an unknown route)."""
    if req.url_rule is None:
        return None
    method = "get" if req.method == "HEAD" else req.method.lower()
    return openapi.description(app)["paths"].get(openapi.path_of(req.url_rule.rule), {}).get(method)


def validator(schema):
    """A validator of `schema`, a part of the description (its `$ref`s resolve within it)."""
    validators = current_app.extensions.setdefault("openapi_validators", {})
    if id(schema) not in validators:
        validators[id(schema)] = Draft202012Validator(openapi.description(current_app)).evolve(schema=schema)
    return validators[id(schema)]


def check_query(parameter):
    name = parameter["name"]
    if name not in request.args:
        if parameter.get("required"):
            refuse(parameter["schema"], f"The query parameter {name!r} is required.")
        return
    error = best_match(validator(parameter["schema"]).iter_errors(request.args[name]))
    if error is not None:
        refuse(parameter["schema"], f"{name}: {error.message}")


def check(schema, instance, where):
    error = best_match(validator(schema).iter_errors(instance))
    if error is None:
        return
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        path.append(missing[0])
        text = f"{'.'.join(map(str, path))} is required."
    else:
        text = f"{'.'.join(map(str, path)) or where}: {error.message}"
    code, message = schema.get("x-error-code", "bad_request"), schema.get("x-error-message")
    for key in path:  # the innermost schema on the way to the field that names a code
        schema = schema.get("properties", {}).get(key, {}) if isinstance(schema, dict) else {}
        if "x-error-code" in schema:
            code, message = schema["x-error-code"], schema.get("x-error-message")
        else:
            message = None  # an enclosing schema's message does not describe this field
    raise ApiError(400, code, message or text[:MESSAGE_LIMIT])


def refuse(schema, text):
    raise ApiError(
        400, schema.get("x-error-code", "bad_request"), schema.get("x-error-message") or text[:MESSAGE_LIMIT]
    )


def json_body():
    """The JSON body, or None when it is absent, not JSON, or holds NaN or an infinite number."""
    if not request.is_json:
        return None
    try:
        return json.loads(request.get_data(cache=True), parse_constant=_not_json, parse_float=_finite)
    except ValueError:
        return None


def _not_json(constant):
    raise ValueError(f"{constant} is not JSON")


def _finite(text):
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large")
    return number


def form_fields(schema):
    """The form's text fields (an empty one counts as absent), with ASCII digits as the integer they
    spell where the field takes one, and each file as its name."""
    fields = {}
    for name, value in request.form.items():
        if value == "":
            continue
        takes_integer = integer_allowed(schema.get("properties", {}).get(name, {}))
        fields[name] = int(value) if takes_integer and DIGITS.fullmatch(value) else value
    for name, upload in request.files.items():
        fields[name] = upload.filename or ""
    return fields


def integer_allowed(schema):
    types = schema.get("type", [])
    if "integer" in ([types] if isinstance(types, str) else types):
        return True
    return any(integer_allowed(option) for option in schema.get("oneOf", []) + schema.get("anyOf", []))
