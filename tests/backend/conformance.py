"""Every answer checked against the OpenAPI description (backend/openapi.py): the test client of the
apps that tests/backend/conftest.py makes is `ConformingClient`, and the `session` of each gunicorn
that tests/backend/services.py starts checks its answers with `check_live`, so every backend test
that talks to an app through either is also a conformance test.

An answer conforms when its status is documented for its operation, its media type is one the
description lists for that status, a JSON body is valid against the documented schema, and the
headers the description requires (Retry-After) are there. Requests to no route (404, 405) have no
operation and are not checked here.
"""

from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.test import EnvironBuilder

from backend.openapi import description, path_of


class ConformingClient(FlaskClient):
    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        check_response(self.application, response.request, response)
        return response


def check_live(app, answer, *args, **kwargs):
    """A `requests` response hook: checks the `answer` of a live server that serves `app` (the same
    app, made with the same settings in this process)."""
    request = EnvironBuilder(path=answer.request.path_url, method=answer.request.method).get_request()
    headers = list(answer.headers.items())
    check_response(app, request, app.response_class(answer.content, answer.status_code, headers))


def operation_for(app, request):
    """`(path, method, operation)` of the route that answered `request`; None for no route."""
    adapter = app.url_map.bind_to_environ(request.environ)
    try:
        rule, _ = adapter.match(method=request.method, return_rule=True)
    except (HTTPException, RequestRedirect):
        return None
    method = "get" if request.method == "HEAD" else request.method.lower()
    if method == "options":
        return None
    path = path_of(rule.rule)
    operation = description(app)["paths"].get(path, {}).get(method)
    assert operation is not None, f"{method.upper()} {path} is not in the OpenAPI description"
    return path, method, operation


def check_response(app, request, response):
    """Raises AssertionError, saying why, when `response` does not conform."""
    found = operation_for(app, request)
    if found is None:
        return
    path, method, operation = found
    where = f"{method.upper()} {path} -> {response.status_code}"
    declared = operation["responses"].get(str(response.status_code)) or operation["responses"].get("default")
    assert declared is not None, f"{where}: status not documented"
    for name, header in declared.get("headers", {}).items():
        if header.get("required"):
            assert name in response.headers, f"{where}: no {name} header"
    body = response.get_data()
    content = declared.get("content")
    if not body or request.method == "HEAD":
        return
    assert content, f"{where}: a body where none is documented"
    assert response.mimetype in content, f"{where}: {response.mimetype} is not one of {sorted(content)}"
    schema = content[response.mimetype].get("schema", {})
    if response.mimetype == "application/json":
        data = response.get_json(silent=True)
        assert data is not None, f"{where}: the body is not JSON"
        errors = sorted(validator(app, schema).iter_errors(data), key=lambda e: list(e.path))
        assert not errors, f"{where}: {errors[0].message} at {list(errors[0].absolute_path)}"


def validator(app, schema):
    validators = app.extensions.setdefault("conformance_validators", {})
    if id(schema) not in validators:
        validators[id(schema)] = Draft202012Validator(description(app)).evolve(schema=schema)
    return validators[id(schema)]
