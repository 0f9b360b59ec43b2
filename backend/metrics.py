"""Prometheus metrics, defined once per process. Under gunicorn with several workers, set
PROMETHEUS_MULTIPROC_DIR (backend/gunicorn.conf.py does) and /metrics adds up all processes."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS = Counter("jobs_total", "Server-side jobs by final or rejected state", ["status"])
JOB_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256)
JOB_SECONDS = Histogram("job_duration_seconds", "Time to stylize one job (its run time)", buckets=JOB_BUCKETS)
JOB_WAIT_SECONDS = Histogram(
    "job_wait_seconds", "Time from a job's submission to the start of its last attempt", buckets=JOB_BUCKETS
)
QUEUE_DEPTH = Gauge("job_queue_depth", "Jobs waiting in this process's queue", multiprocess_mode="livesum")
WECHAT_CALLS = Counter("wechat_calls_total", "Calls to WeChat APIs by outcome", ["api", "outcome"])


def render(jobs_queued=None):
    """The exposition text and its content type; `jobs_queued`, when given, is the number of jobs
    accepted and not yet started, counted in the database (all processes and workers alike)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    text = generate_latest(registry)
    if jobs_queued is not None:  # a figure of this scrape: no Gauge, which would leave a multiprocess file
        snapshot = CollectorRegistry()
        snapshot.register(Snapshot(GaugeMetricFamily("jobs_queued", "Jobs accepted and not yet started", jobs_queued)))
        text += generate_latest(snapshot)
    return text, CONTENT_TYPE_LATEST


class Snapshot:
    """A collector of metric families computed at scrape time."""

    def __init__(self, *families):
        self.families = families

    def collect(self):
        return self.families
