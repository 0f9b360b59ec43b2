"""The OpenAPI description as the one source: requests refused from it with the codes it names,
answers checked against it (tests/backend/conformance.py), docs/openapi.json identical to it."""

import io
import json

import pytest

from backend import validation
from backend.openapi import default_description
from tests.backend.helpers import PHONE, dev_login, image_bytes
from tests.backend.services import ROOT


def error_code(response, status=400):
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]["code"]


def test_docs_openapi_json_is_the_description():
    written = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert written == default_description(), (
        "docs/openapi.json is out of date: python -c 'import backend.openapi as o; o.main()' > docs/openapi.json"
    )


def test_form_fields_are_checked_with_the_codes_of_the_description(client):
    alice = dev_login(client)

    def post(**form):
        form = {"image": (io.BytesIO(image_bytes()), "a.png"), **form}
        return client.post("/api/v1/jobs", data=form, headers=alice, content_type="multipart/form-data")

    assert error_code(post()) == "missing_style"
    assert error_code(post(style="")) == "missing_style"  # an empty field counts as absent
    for long_side in ("63", "4097", "99999999999999999999", "-512", "original "):
        response = post(style="tiny", long_side=long_side)
        assert error_code(response) == "bad_long_side"
        assert "64 to 4096" in response.get_json()["error"]["message"]
    assert error_code(post(style="tiny", model="quick")) == "bad_model"
    for fine in ({"long_side": "0064"}, {"long_side": ""}, {"model": ""}, {"long_side": "original"}):
        assert post(style="tiny", **fine).status_code == 202, fine
    # Without a token the answer is 401, whatever the form holds.
    bad = {"style": "", "long_side": "x", "image": (io.BytesIO(b""), "a.png")}
    assert error_code(client.post("/api/v1/jobs", data=bad), 401) == "unauthorized"
    picture = client.post("/api/v1/results", data={"image": (io.BytesIO(image_bytes()), "a.png")}, headers=alice)
    assert error_code(picture) == "missing_style"


def test_json_bodies_and_queries_are_checked(client):
    for body in ('{"code": NaN}', '{"code": "x", "n": Infinity}', '{"code": 1e999}', "[1]", "{"):
        response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
        assert error_code(response) == "bad_request", body
        assert response.get_json()["error"]["message"] == "Send a JSON object body."
    for body in ({}, {"code": " \t"}, {"code": "x" * 257}, {"code": ["x"]}):
        assert error_code(client.post("/api/v1/auth/login", json=body)) == "missing_code", body

    for changes in ({"photo": {"width": 1.5, "height": 2}}, {"benchmarkLevel": True}, {"platform": 3}):
        response = client.post("/api/v1/plan", json={**PHONE, **changes})
        assert error_code(response) == "bad_request", changes
    message = client.post("/api/v1/plan", json={**PHONE, "photo": {"width": 0, "height": 3}}).get_json()["error"]
    assert message["message"].startswith("photo.width: 0 is less than the minimum of 1")
    for changes in ({"memorySize": None, "platform": None, "maxTextureSize": 0}, {"inferenceEngine": None}):
        assert client.post("/api/v1/plan", json={**PHONE, **changes}).status_code == 200, changes

    assert error_code(client.get("/api/v1/styles/tiny/manifest?variant=int4")) == "bad_variant"
    assert client.get("/api/v1/styles/tiny/manifest?variant=float16").status_code == 200


def test_a_view_with_input_needs_validated(app):
    validation.init_app(app)  # every view that takes input is @validated
    app.view_functions["plan.plan"] = lambda: "unchecked"
    with pytest.raises(RuntimeError, match="POST /api/v1/plan"):
        validation.init_app(app)


def test_answers_are_checked_against_the_description(make_app):
    app = make_app()
    app.view_functions["ops.healthz"] = lambda: ({"status": "fine"}, 200)
    app.view_functions["ops.readyz"] = lambda: ({"status": "ready", "styles": 2}, 201)
    app.view_functions["styles.list_styles"] = lambda: ("styles", 200, {"Content-Type": "text/plain"})
    app.view_functions["auth.anonymous"] = lambda: ({"error": {"code": "busy", "message": "m"}}, 503)
    client = app.test_client()
    for url, method, why in (
        ("/healthz", "GET", "'ok' was expected"),
        ("/readyz", "GET", "status not documented"),
        ("/api/v1/styles", "GET", "text/plain is not one of"),
        ("/api/v1/auth/anonymous", "POST", "no Retry-After header"),
    ):
        with pytest.raises(AssertionError, match=why):
            client.open(url, method=method)
