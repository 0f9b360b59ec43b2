"""Health, readiness, metrics, request logs without personal data, and the OpenAPI description
kept in step with the app's routes."""

import logging
import re
from urllib.parse import urlsplit

from backend.openapi import path_of
from tests.backend.helpers import dev_login, finished_job


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {"status": "ready", "styles": 2}


def test_metrics(client):
    client.get("/api/v1/styles")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'http_requests_total{endpoint="/api/v1/styles",method="GET",status="200"}' in text
    assert "job_queue_depth" in text and "http_request_duration_seconds_bucket" in text


def test_errors_are_json(client):
    for response in (client.get("/nowhere"), client.delete("/api/v1/styles"), client.post("/healthz")):
        assert response.is_json and response.get_json()["error"]["code"] in ("not_found", "method_not_allowed")


def test_request_logs_hold_no_personal_data(client, caplog):
    caplog.set_level(logging.INFO, logger="backend")
    alice = dev_login(client, "alice-openid")
    job = finished_job(client, alice)
    link = urlsplit(client.post(f"/api/v1/results/{job['result']['id']}/share", headers=alice).get_json()["url"])
    client.get(link.path + "?utm=private-query")
    lines = [r.getMessage() for r in caplog.records if r.name == "backend.requests"]
    assert any(line.startswith("GET /s/<token> 200") for line in lines)
    text = "\n".join(r.getMessage() for r in caplog.records)
    token = alice["Authorization"].split()[1]
    for private in ("127.0.0.1", "alice-openid", token, job["id"], job["result"]["id"], link.path, "private-query"):
        assert private not in text, private


def test_openapi_matches_the_routes(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    routes = set()
    for rule in app.url_map.iter_rules():
        routes.update((path_of(rule.rule), method) for method in rule.methods - {"HEAD", "OPTIONS"})
    assert documented == routes
    for path, item in spec["paths"].items():  # every path parameter is declared
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{([a-z_]+)}", path)), path


def test_openapi_in_production_has_no_dev_login(make_app):
    app = make_app(APP_ENV="production")
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert "/api/v1/auth/dev-login" not in spec["paths"]
    assert not any(rule.rule == "/api/v1/auth/dev-login" for rule in app.url_map.iter_rules())


def test_answers_to_odd_requests_are_documented(make_app, zoo_dir):
    """(Each answer is checked against the description by the test client: tests/backend/conformance.py.)"""
    import io

    from itsdangerous import URLSafeTimedSerializer

    from tests.backend.helpers import image_bytes

    app = make_app()
    client = app.test_client()
    alice = dev_login(client)

    unknown = client.post(
        "/api/v1/jobs", data={"style": "nope", "image": (io.BytesIO(image_bytes()), "a.png")}, headers=alice
    )
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "unknown_style"

    for body in ({"openid": False}, {}, [], {"openid": []}, {"openid": ""}, {"openid": "x" * 65}):
        response = client.post("/api/v1/auth/dev-login", json=body)
        assert response.status_code == 400, body

    for long_side in ("５１２", "+512", " 512", "512.0", "0x200"):
        form = {"style": "tiny", "long_side": long_side, "image": (io.BytesIO(image_bytes()), "a.png")}
        response = client.post("/api/v1/jobs", data=form, headers=alice)
        assert response.get_json()["error"]["code"] == "bad_long_side", long_side

    secret = app.config["SECRET_KEY"]
    for uid in ({"a": 1}, [1], "1", True, 1.5, None):
        token = URLSafeTimedSerializer(secret, salt="auth-token").dumps({"uid": uid})
        response = client.get("/api/v1/jobs/x", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, uid

    manifest = client.get("/api/v1/styles/tiny/manifest?variant=uint8").get_json()
    preview = client.get("/api/v1/styles").get_json()["styles"][0]["preview_url"]
    for url in [f["url"] for f in manifest["files"]] + [preview]:
        response = client.get(url)
        assert response.status_code == 200


def test_every_rate_limited_route_documents_429(make_app):
    """Each route is called twice under one-a-day limits: the second answer is 429 exactly where
    the description says it can be."""
    app = make_app(
        RATELIMIT_DEFAULT="1/day",
        RATELIMIT_LOGIN="1/day",
        RATELIMIT_JOBS_USER="1/day",
        RATELIMIT_JOBS_IP="1/day",
        RATELIMIT_ANONYMOUS="1/day",
    )
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "x", rule.rule)
            second = [client.open(url, method=method) for _ in range(2)][1]
            responses = spec["paths"][path_of(rule.rule)][method.lower()]["responses"]
            assert ("429" in responses) == (second.status_code == 429), url
