"""Benchmark of the backend under gunicorn on 127.0.0.1 (a random free port). Prints figures; not a test.

    .venv/bin/python bench/bench_backend.py --zoo modelzoo-build          # a zoo built by modelzoo
    .venv/bin/python bench/bench_backend.py --published hayao             # build a one-style zoo first
    .venv/bin/python bench/bench_backend.py --tiny                        # modelzoo.tinyzoo, as the tests (quick)
    .venv/bin/python bench/bench_backend.py --published hayao --compare-variants
    .venv/bin/python bench/bench_backend.py --zoo modelzoo-build --compare-variants --network student
    .venv/bin/python bench/bench_backend.py --published hayao --build-dir /tmp/zoo-hayao --workers 1

Measures: catalogue and manifest requests per second with p50/p99 latency (--requests requests from
--concurrency client threads), then server jobs at --size x --size (--jobs jobs submitted by
--job-concurrency clients, each polling its job): jobs per minute and p50/p95 time from submission
to done. --compare-variants also times ONNX Runtime against the TensorFlow SavedModel in this
process (load, first run, median run), of the style's generator, or (--network student) ONNX
Runtime's thread settings for its student. --celery measures the jobs instead with the in-process
runner, then with 1 and 2 Celery worker processes (a redis-server of its own as the broker), in one
run. Every loop is bounded in count and time; nothing but 127.0.0.1 is contacted.

    .venv/bin/python bench/bench_backend.py --published hayao --build-dir /tmp/zoo-hayao --celery --jobs 16

measured on the 2-core development machine while other work kept its load average at 6 to 7 (so
pessimistic), 16 jobs of the published Hayao at 512x512 from 4 clients, 2 gunicorn processes:

| jobs run by | jobs/minute | p50 | p95 |
| --- | --- | --- | --- |
| the in-process runner (2 processes x 1 thread) | 9.9 | 23.6 s | 39.4 s |
| 1 Celery worker process | 8.4 | 27.8 s | 31.6 s |
| 2 Celery worker processes | 10.2 | 22.7 s | 28.7 s |

On one machine the paths are about even (the same two cores stylize either way; the broker costs
little); workers gain by running on other machines, leaving the web processes their cores.
"""

import argparse
import http.client
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DEADLINE_S = 900  # the whole run stops by itself after this


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Building a zoo.


def build_published_zoo(style, root):
    """A one-style zoo of a published style, packaged by the model zoo itself (every variant,
    checked; without the profile, which takes many minutes and the server does not need)."""
    from modelzoo import sources
    from modelzoo.build import BuildOptions, build

    build(sources.from_published(style), root, BuildOptions(profile=False))
    return Path(root)


# Talking to the server.


class Client:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method, path, payload=None, headers=None):
        body = None if payload is None else json.dumps(payload)
        status, head, data = self.request(method, path, body, {"Content-Type": "application/json", **(headers or {})})
        return status, head, json.loads(data or b"{}")


def multipart(fields, filename, data):
    boundary = "bench" + os.urandom(8).hex()
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def backend_env(zoo, data_dir, extra_env):
    """The settings of the bench's web processes and Celery workers."""
    return {
        **os.environ,
        "APP_ENV": "development",  # the development login; nothing else changes
        "SECRET_KEY": "bench",
        "DATABASE_URL": f"sqlite:///{data_dir}/bench.sqlite",
        "RESULTS_DIR": str(Path(data_dir) / "results"),
        "MODELZOO_DIR": str(zoo),
        "RATELIMIT_ENABLED": "false",
        "JOB_DAILY_QUOTA": "100000",
        "JOB_QUEUE_SIZE": "64",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_MAX_REQUESTS": "0",  # no worker replaced (and its connections reset) mid-measurement
        **extra_env,
    }


def start_server(zoo, workers, port, data_dir, extra_env):
    env = {**backend_env(zoo, data_dir, extra_env), "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "backend/gunicorn.conf.py", "backend:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(Path(data_dir) / "gunicorn.log", "w"),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {data_dir}/gunicorn.log")
        try:
            if Client(port).request("GET", "/readyz")[0] == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit("the server did not become ready in 120 s")


def start_redis(data_dir):
    """redis-server on a free loopback port (`make install` installs it); returns (process, URL)."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(data_dir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                if connection.recv(16).startswith(b"+PONG"):
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("redis-server did not start")


def start_celery(env, concurrency, data_dir):
    """`celery -A backend.worker worker` with `concurrency` processes; returns once it is ready."""
    log_path = Path(data_dir) / "celery.log"
    command = [sys.executable, "-m", "celery", "-A", "backend.worker", "worker", "--concurrency", str(concurrency)]
    command += ["--loglevel", "INFO", "--without-mingle", "--without-gossip", "--without-heartbeat"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while b"ready." not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"the Celery worker did not start; see {log_path}")
        time.sleep(0.2)
    return process


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()


def job_line(figures):
    p50 = f"{figures['p50_s']:.2f}" if figures["p50_s"] is not None else "-"
    p95 = f"{figures['p95_s']:.2f}" if figures["p95_s"] is not None else "-"
    return (
        f"{figures['jobs_per_minute']:5.1f} jobs/minute, p50 {p50} s, p95 {p95} s from submission to done "
        f"({figures['jobs']} done, {figures['failed']} failed, {figures['queue_full_retries']} queue-full retries)"
    )


JOB_PATHS = (("in-process runner", 0), ("1 Celery worker process", 1), ("2 Celery worker processes", 2))


def compare_job_paths(zoo, style, args, data_dir, deadline):
    """Jobs at --size: the in-process runner (--workers gunicorn processes, one job thread each),
    then Celery workers with 1 and 2 processes behind the same web server, one after the other."""
    photo = bench_photo(args.size)
    redis, broker = start_redis(data_dir)
    print(f"jobs at {args.size}x{args.size}, {args.jobs} jobs from {args.job_concurrency} clients:")
    try:
        for label, concurrency in JOB_PATHS:
            folder = Path(data_dir) / f"path-{concurrency}"
            folder.mkdir()
            extra = {"INFERENCE_VARIANT": args.variant, "CELERY_BROKER_URL": broker if concurrency else ""}
            if args.inference_threads is not None:
                extra["INFERENCE_THREADS"] = str(args.inference_threads)
            port = free_port()
            server = start_server(zoo, args.workers, port, folder, extra)
            worker = start_celery(backend_env(zoo, folder, extra), concurrency, folder) if concurrency else None
            try:
                figures = bench_jobs(port, style, photo, args.jobs, args.job_concurrency, deadline)
            finally:
                if worker is not None:
                    stop(worker)
                stop(server)
            where = f"{args.workers} web processes" + ("" if concurrency else " x 1 job thread")
            print(f"  {label:26s} ({where}): {job_line(figures)}", flush=True)
    finally:
        stop(redis)


def bench_reads(port, style, total, concurrency):
    paths = ["/api/v1/styles", f"/api/v1/styles/{style}/manifest?variant=onnx"]
    figures = {}
    for path in paths:
        latencies, errors = [], []
        lock = threading.Lock()

        def worker(count, path=path, latencies=latencies, errors=errors, lock=lock):
            client = Client(port)
            for _ in range(count):
                started = time.perf_counter()
                status, _, _ = client.request("GET", path)
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if status != 200:
                        errors.append(status)

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(worker, [total // concurrency] * concurrency))
        elapsed = time.perf_counter() - started
        figures[path] = {
            "requests": len(latencies),
            "errors": len(errors),
            "rps": len(latencies) / elapsed,
            "p50_ms": 1000 * percentile(latencies, 0.5),
            "p99_ms": 1000 * percentile(latencies, 0.99),
        }
    return figures


def bench_jobs(port, style, photo, jobs, concurrency, deadline):
    client = Client(port)
    _, _, login = client.json("POST", "/api/v1/auth/dev-login", {"openid": "bench"})
    headers = {"Authorization": f"Bearer {login['token']}"}
    latencies, failures, refusals = [], [], [0]
    lock = threading.Lock()

    def one(_):
        client = Client(port)
        body, content_type = multipart({"style": style, "long_side": "512"}, "photo.jpg", photo)
        started = time.perf_counter()
        while time.monotonic() < deadline:
            status, head, data = client.request("POST", "/api/v1/jobs", body, {**headers, "Content-Type": content_type})
            if status == 202:
                break
            if status != 429:
                raise RuntimeError(f"submission answered {status}: {data[:200]!r}")
            with lock:
                refusals[0] += 1
            time.sleep(float(head.get("Retry-After", "1")))
        job_id = json.loads(data)["id"]
        while time.monotonic() < deadline:
            _, _, job = client.json("GET", f"/api/v1/jobs/{job_id}", headers=headers)
            if job["status"] in ("done", "failed"):
                with lock:
                    (latencies if job["status"] == "done" else failures).append(time.perf_counter() - started)
                return
            time.sleep(0.1)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(jobs)))
    elapsed = time.perf_counter() - started
    return {
        "jobs": len(latencies),
        "failed": len(failures),
        "queue_full_retries": refusals[0],
        "jobs_per_minute": 60 * len(latencies) / elapsed,
        "p50_s": percentile(latencies, 0.5) if latencies else None,
        "p95_s": percentile(latencies, 0.95) if latencies else None,
    }


def bench_photo(size):
    from PIL import Image

    from training import settings

    photos = sorted(settings.photos_dir().glob("*.jpg"))
    if photos:
        image = Image.open(photos[0]).convert("RGB")
        side = min(image.size)
        image = image.crop((0, 0, side, side)).resize((size, size), Image.BICUBIC)
    else:
        image = Image.linear_gradient("L").resize((size, size)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def compare_variants(zoo, size, runs, network="teacher"):
    """Loads the server variants of `network` ("teacher", or "student": the style's student, fed
    its context as the server feeds it; students have no SavedModel, so ONNX Runtime's thread
    settings are compared alone), then alternates their runs, so that the load of other programs
    on a shared machine weighs on both alike."""
    import resource

    import numpy as np

    from backend.inference import load_variant, network_context, network_input
    from backend.zoo import ModelZoo

    model_zoo = ModelZoo(zoo)
    styles = model_zoo.styles()
    if model_zoo.error:
        raise SystemExit(f"the model zoo is not loaded: {model_zoo.error}")
    style = next((s for s in styles if s.network_variant(network, "onnx")[1]), None)
    if style is None:
        raise SystemExit(f"no style of {zoo} has an ONNX variant of its {network}")
    rgb = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    spec = style.facts(network).get("input") or {}
    batch, extra = network_input(rgb, spec), network_context(rgb, spec)
    print(f"  {style.id}'s {network}" + (" (with its context)" if extra else ""))
    generators, outputs, times = {}, {}, {}
    candidates = {"onnx": ("onnx", 1), "onnx-default-threads": ("onnx", 0), "savedmodel": ("savedmodel", 0)}
    for name, (kind, threads) in candidates.items():
        entry = style.network_variant(network, kind)[1]
        if entry is None:
            print(f"  {name:20s} none in the package")
            continue
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        generators[name] = load_variant(style.folder, kind, entry, threads)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        outputs[name] = generators[name](batch, *extra)
        first = time.perf_counter() - started
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
        print(
            f"  {name:20s} load {loaded:5.2f} s (imports included), first run {first:5.2f} s, "
            f"peak memory +{grown:.0f} MB"
        )
        times[name] = []
    for _ in range(runs):
        for name, generator in generators.items():
            started = time.perf_counter()
            generator(batch, *extra)
            times[name].append(time.perf_counter() - started)
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:20s} median of {runs} alternated runs {median:.3f} s (min {min(values):.3f})")
    other = "savedmodel" if "savedmodel" in outputs else "onnx-default-threads"
    difference = float(np.abs(outputs["onnx"] - outputs[other]).max())
    print(f"  largest difference between onnx and {other}: {difference:.2e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--zoo", type=Path, help="a model zoo folder (catalogue.json at its top)")
    source.add_argument("--published", metavar="STYLE", help="build a one-style zoo from the published weights")
    source.add_argument("--tiny", action="store_true", help="modelzoo.tinyzoo, as in the tests (quick)")
    parser.add_argument("--build-dir", type=Path, help="where --published builds (kept; reused when present)")
    parser.add_argument("--style", help="style to benchmark (default: the catalogue's first)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--requests", type=int, default=2000, help="catalogue and manifest requests each")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--job-concurrency", type=int, default=4)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--variant", default="onnx", choices=["onnx", "savedmodel"], help="INFERENCE_VARIANT")
    parser.add_argument("--inference-threads", type=int, help="INFERENCE_THREADS (default: the app's, 1)")
    parser.add_argument("--compare-variants", action="store_true")
    parser.add_argument(
        "--network",
        choices=["teacher", "student"],
        default="teacher",
        help="the network --compare-variants compares (default: %(default)s)",
    )
    parser.add_argument(
        "--celery", action="store_true", help="jobs: the in-process runner against 1 and 2 Celery worker processes"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per variant for --compare-variants")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + DEADLINE_S

    with tempfile.TemporaryDirectory(prefix="bench-backend-") as data_dir:
        if args.published:
            zoo = args.build_dir or Path(data_dir) / "zoo"
            if not (zoo / "catalogue.json").is_file():
                print(f"building a zoo of {args.published} with the model zoo in {zoo} ...", flush=True)
                build_published_zoo(args.published, zoo)
        elif args.tiny:
            from modelzoo.tinyzoo import build_tiny_zoo

            zoo = build_tiny_zoo(Path(data_dir) / "zoo")
        else:
            zoo = args.zoo or Path(os.environ.get("MODELZOO_DIR", ROOT / "modelzoo-build"))
        catalogue = json.loads((Path(zoo) / "catalogue.json").read_text())
        style = args.style or catalogue["styles"][0]["id"]
        print(f"zoo {zoo}, style {style}, {os.cpu_count()} CPUs, {args.workers} gunicorn workers")

        if args.compare_variants:
            print(f"in-process inference at {args.size}x{args.size}:")
            compare_variants(zoo, args.size, args.runs, args.network)

        if args.celery:
            compare_job_paths(zoo, style, args, data_dir, deadline)
            return 0

        port = free_port()
        extra = {"INFERENCE_VARIANT": args.variant}
        if args.inference_threads is not None:
            extra["INFERENCE_THREADS"] = str(args.inference_threads)
        server = start_server(zoo, args.workers, port, data_dir, extra)
        try:
            for path, f in bench_reads(port, style, args.requests, args.concurrency).items():
                print(
                    f"GET {path}: {f['rps']:.0f} requests/s, p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms "
                    f"({f['requests']} requests, {f['errors']} errors, {args.concurrency} clients)"
                )
            figures = bench_jobs(port, style, bench_photo(args.size), args.jobs, args.job_concurrency, deadline)
            clients = f"{args.job_concurrency} clients"
            print(f"jobs at {args.size}x{args.size} ({args.variant}, {clients}): {job_line(figures)}")
        finally:
            stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
