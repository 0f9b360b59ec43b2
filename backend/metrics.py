"""Prometheus metrics, defined once per process. Under gunicorn with several workers, set
PROMETHEUS_MULTIPROC_DIR (backend/gunicorn.conf.py does) and /metrics adds up all processes."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS = Counter("jobs_total", "Server-side jobs by final or rejected state", ["status"])
JOB_SECONDS = Histogram(
    "job_duration_seconds", "Time to stylize one job", buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128)
)
QUEUE_DEPTH = Gauge("job_queue_depth", "Jobs waiting in this process's queue", multiprocess_mode="livesum")
WECHAT_CALLS = Counter("wechat_calls_total", "Calls to WeChat APIs by outcome", ["api", "outcome"])


def render():
    """The exposition text and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
