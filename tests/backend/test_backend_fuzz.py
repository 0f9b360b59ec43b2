"""Fuzzing: schemathesis sends requests made from the OpenAPI description (valid ones, and invalid
ones that break it) to every operation of the app, in process through the test client, with a valid token and the tiny
model zoo. No answer may be a 5xx, and every answer must conform to the description (status, media
type, JSON schema, required headers), by schemathesis's checks and by tests/backend/conformance.py.

Bounded and reproducible: EXAMPLES requests per operation and generation mode, derandomized
(the same requests on every run), no example database.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.backend.helpers import dev_login, finished_job, image_bytes

EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# Uploads: now and then a real picture (still or animated), else bytes made up by hypothesis.
schemathesis.openapi.format(
    "binary",
    st.one_of(
        st.sampled_from([image_bytes(), image_bytes(fmt="GIF"), image_bytes(fmt="JPEG")]),
        st.binary(max_size=64),
    ),
)


@pytest.fixture
def fuzzed_app(make_app):
    """The app in development mode, WeChat (login, content checks, message push) on the fake server,
    and limits high enough not to hide the answers behind 429."""
    return make_app(
        WECHAT_APPID="wx-test-app",
        WECHAT_SECRET="APP-SECRET-VALUE",
        WECHAT_PUSH_TOKEN="push-token",
        RATELIMIT_ENABLED=False,
        JOB_DAILY_QUOTA=10_000,
        JOB_QUEUE_SIZE=1000,
        UPLOAD_DECODE_WAIT=30,
    )


@pytest.mark.slow
def test_fuzz_every_operation(fuzzed_app):
    client = fuzzed_app.test_client()  # a ConformingClient (tests/backend/conformance.py)
    token = dev_login(client, "fuzzer")
    job = finished_job(client, token)
    # Values that exist, which three examples in four use in place of made-up ones.
    known = {
        "style": "tiny",
        "style_id": "tiny",
        "job_id": job["id"],
        "result_id": job["result"]["id"],
        "token": "made-up",
    }
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzzed_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    described = {f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items() for method in item}
    assert described - {operation.label for operation in operations} == {"GET /api/v1/openapi.json"}  # the loaded one
    seen = []

    def fuzz(operation, mode):
        @given(case=operation.as_strategy(generation_mode=mode), use_known=st.sampled_from([True, True, True, False]))
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case, use_known):
            if use_known:
                for values in (case.path_parameters, case.body):
                    if isinstance(values, dict):
                        values.update({name: known[name] for name in values if name in known})
            response = case.call(session=client, headers=token)  # the client checks it too
            case.validate_response(response, checks=CHECKS)
            seen.append((operation.label, response.status_code))

        try:
            run()
        except Unsatisfiable:  # nothing in this operation's request can be made invalid
            assert mode == GenerationMode.NEGATIVE, operation.label

    for operation in operations:
        fuzz(operation, GenerationMode.POSITIVE)
        fuzz(operation, GenerationMode.NEGATIVE)
    assert ("POST /api/v1/jobs", 202) in seen and ("POST /api/v1/results", 201) in seen
    assert ("POST /api/v1/plan", 200) in seen and ("GET /api/v1/jobs/{job_id}", 200) in seen
