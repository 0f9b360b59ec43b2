"""Health, readiness, metrics, request logs without personal data, and the OpenAPI description
kept in step with the app's routes."""

import logging
import re
from urllib.parse import urlsplit

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
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        routes.update((path, method) for method in rule.methods - {"HEAD", "OPTIONS"})
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
