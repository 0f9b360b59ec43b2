"""Settings: embedded defaults, overridden by environment variables of the same name.

Every key of `DEFAULTS` can be set in the environment; the value is read with the type of the
default (numbers, `true`/`false`, JSON for dicts). `SECRET_KEY`, `DATABASE_URL`, `MODELZOO_DIR`,
`RESULTS_DIR` default to files under the app's instance folder when left empty.
"""

import ipaddress
import json
import os
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent

# Where gunicorn listens (backend/gunicorn.conf.py sets it for its workers): decides, with the
# settings, whether the development login is on (`development_login`).
LISTEN_VARIABLE = "BACKEND_LISTEN"
APP_ENVS = ("", "development", "production")

DEFAULTS = {
    # "development" turns on the development login (so does `flask run --debug`), "production" keeps
    # it off; empty: on only where nobody else can reach it (see `development_login`).
    "APP_ENV": "",
    "SECRET_KEY": "",
    "DATABASE_URL": "",
    "MODELZOO_DIR": str(REPOSITORY_ROOT / "modelzoo-build"),
    # The web app's built files (`make install` runs `npm run build --prefix web`), served at `/`.
    "WEB_DIR": str(REPOSITORY_ROOT / "web" / "dist"),
    "RESULTS_DIR": "",
    # Where uploads and results are kept (backend/storage.py): empty, the folder RESULTS_DIR;
    # s3://bucket/prefix, an S3-compatible bucket, reached at S3_ENDPOINT_URL (empty: AWS) with
    # these credentials, so that web and worker machines share no disk.
    "STORAGE_URL": "",
    "S3_ENDPOINT_URL": "",
    "S3_ACCESS_KEY": "",
    "S3_SECRET_KEY": "",
    "S3_REGION": "us-east-1",
    # A request to the bucket: seconds to connect and send the request (urllib3 sends the body
    # under the connect timeout: one part of an upload, up to 5 MiB, needs 1.7 MiB/s), seconds of
    # silence from the bucket after that, and tries again after a failed request (refused, timed
    # out, 5xx). A bucket that cannot be reached or stays silent gets 503 storage_unavailable
    # within (S3_RETRIES + 1) x (S3_CONNECT_TIMEOUT + S3_READ_TIMEOUT): keep that under the
    # clients' 20-second request timeout (miniprogram/core/api.js), so that they see the 503.
    # Jobs try again later on their own.
    "S3_CONNECT_TIMEOUT": 3.0,
    "S3_READ_TIMEOUT": 5.0,
    "S3_RETRIES": 1,
    # Absolute base of the links we hand out, with any path prefix; needed for WeChat's content
    # check. Empty: the request's own host, which must be one of TRUSTED_HOSTS.
    "PUBLIC_BASE_URL": "",
    # Host names this app answers for (comma-separated; ".example.com" takes subdomains). Empty:
    # any when PUBLIC_BASE_URL is set or in development, else only localhost and loopback addresses.
    "TRUSTED_HOSTS": "",
    # Where clients download model files from (a CDN or bucket mirroring MODELZOO_DIR); empty: this app.
    "MODELS_BASE_URL": "",
    # Number of proxies in front of the app whose X-Forwarded-* headers are trusted.
    "PROXY_FIX": 0,
    "LOG_LEVEL": "INFO",
    # WeChat.
    "WECHAT_APPID": "",
    "WECHAT_SECRET": "",
    "WECHAT_API_BASE": "https://api.weixin.qq.com",
    "WECHAT_TIMEOUT": 5.0,
    "WECHAT_RETRY_AFTER": 5,
    # The token of the mini-program's message push (content-check results arrive there).
    "WECHAT_PUSH_TOKEN": "",
    # Our own login tokens.
    "TOKEN_TTL_SECONDS": 86400,
    # Uploads.
    "MAX_UPLOAD_BYTES": 10 * 1024 * 1024,
    "MAX_IMAGE_PIXELS": 40_000_000,
    "MAX_IMAGE_SIDE": 12_000,
    # "animate": an animated GIF is stylized frame by frame into an animated GIF (backend/gifs.py;
    # other animated formats give their first frame); "first_frame": only the first frame of any
    # animation is used; "reject": animations are refused (422 animated_image).
    "ANIMATED_IMAGES": "animate",
    # Animated GIFs: at most this many frames, and this many pixels in all frames together
    # (width x height x frames of the upload), which bounds decoding and stylizing time.
    "GIF_MAX_FRAMES": 100,
    "GIF_MAX_PIXELS": 50_000_000,
    # Uploads decoded at the same time by one process (each can cost up to 4 bytes a pixel), and
    # how long an upload waits for its turn before a 503.
    "UPLOAD_DECODERS": 1,
    "UPLOAD_DECODE_WAIT": 10.0,
    # Server-side jobs.
    "JOBS_ENABLED": True,
    "JOB_WORKERS": 1,
    "JOB_QUEUE_SIZE": 8,
    "JOB_RETRY_AFTER": 10,
    "JOB_MAX_ATTEMPTS": 2,
    # Jobs on Celery workers (backend/worker.py) when set, e.g. redis://host:6379/0; empty: each web
    # process runs its own jobs (backend/runner.py). With workers, JOB_QUEUE_SIZE counts the jobs
    # accepted and not yet started by the whole service, and web processes load no model.
    "CELERY_BROKER_URL": "",
    # A job's run, at most (then it fails with `timed_out`); enforced by the Celery workers.
    "JOB_TIME_LIMIT": 600,
    # Tries again, with exponential backoff, when the database or the storage cannot be reached during a job.
    "JOB_RETRIES": 5,
    # A Celery worker serves its Prometheus metrics on this port (0: not at all).
    "WORKER_METRICS_PORT": 0,
    "JOB_DAILY_QUOTA": 50,
    # Visitors of the web app without WeChat (POST /api/v1/auth/anonymous) get a smaller quota.
    "JOB_DAILY_QUOTA_ANONYMOUS": 10,
    "JOB_DEFAULT_LONG_SIDE": 512,
    "JOB_MIN_LONG_SIDE": 64,
    # Styles the server stylizes in tiles (INFERENCE_TILE) take photos up to this long side, also
    # with long_side "original"; memory follows the tile, time the picture (bench/bench_tiling.py:
    # a 4096x3072 job of the published generator in tiles of 1024 peaks at ~2.1 GB, ~175 CPU s).
    "JOB_MAX_LONG_SIDE": 4096,
    # Styles that cannot be tiled (no `tiling` in their manifest) are stylized whole, at most this size.
    "JOB_MAX_UNTILED_LONG_SIDE": 1024,
    "WORKER_HEARTBEAT_SECONDS": 10.0,
    "WORKER_TIMEOUT_SECONDS": 60.0,
    # The model of server jobs whose client does not ask for one (the job's `model` field):
    # "best", the style's generator (the teacher, as before the students), or "fast", its student
    # (~20x less CPU, but 19.3-21.2 dB PSNR against the teacher where the target is 26:
    # docs/students.md). "best" until the students reach their quality targets; "fast" is the
    # lever for an overloaded server. Styles without a student run their generator for both.
    "SERVER_MODEL": "best",
    # "onnx" (ONNX Runtime) or "savedmodel" (TensorFlow); see backend/inference.py for why ONNX.
    "INFERENCE_VARIANT": "onnx",
    # Threads per inference (0: the library's default, one per core). Parallelism comes from
    # gunicorn processes x JOB_WORKERS; one thread each keeps them from fighting over the cores.
    "INFERENCE_THREADS": 1,
    # Pictures with a longer side are stylized in tiles of at most this many pixels (a multiple of
    # 4; 0: never tile). 1024: ~2.1 GB peak per process, 1.5x the CPU of an untiled pass; 512:
    # ~1 GB, 2.5x, and further from the untiled picture (bench/bench_tiling.py).
    "INFERENCE_TILE": 1024,
    # Results and sharing.
    "RESULT_TTL_DAYS": 7,
    # Rate limits (Flask-Limiter syntax). Storage: empty for REDIS_URL when set, else a SQLite file
    # in the instance folder, shared by this machine's processes only (backend/ratelimit.py);
    # redis://host:6379 for several machines; memory:// counts per process (gunicorn refuses it
    # with more than one worker).
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "",
    # A Redis server shared by all web processes, e.g. redis://host:6379/1: rate limits count there.
    "REDIS_URL": "",
    "RATELIMIT_DEFAULT": "600/minute",
    "RATELIMIT_LOGIN": "30/minute",
    # New anonymous tokens per client address.
    "RATELIMIT_ANONYMOUS": "10/hour",
    "RATELIMIT_JOBS_USER": "20/minute",
    "RATELIMIT_JOBS_IP": "60/minute",
    # Where to stylize; see backend/plan.py for the keys.
    "PLAN_POLICY": {},
}


def parse(value, default):
    """An environment string read with the type of `default`."""
    if isinstance(default, bool):
        if value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if value.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"expected true or false, got {value!r}")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, dict):
        return json.loads(value) if value.strip() else {}
    return value


def from_environ(environ=None):
    """The settings of `DEFAULTS` that the environment sets, parsed."""
    environ = os.environ if environ is None else environ
    settings = {}
    for key, default in DEFAULTS.items():
        if key in environ:
            try:
                settings[key] = parse(environ[key], default)
            except ValueError as error:
                raise ValueError(f"environment variable {key}: {error}") from None
    return settings


# How long gunicorn's workers get to finish their requests on a stop before the master kills them.
GUNICORN_GRACEFUL_SECONDS = 30


def gunicorn_bind(environ=None):
    """The address gunicorn listens on: BIND, else 127.0.0.1:PORT (PORT 8000 by default)."""
    environ = os.environ if environ is None else environ
    return environ.get("BIND") or f"127.0.0.1:{environ.get('PORT', '8000')}"


def is_loopback(address):
    """Whether a gunicorn bind address (HOST:PORT, [IPv6]:PORT, HOST, unix:PATH, fd://N) is a
    loopback one, reachable from this machine only."""
    if address.startswith("["):
        host = address[1:].partition("]")[0]
    else:
        host = address.rpartition(":")[0] if ":" in address else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def development_login(settings, listen):
    """Why the development login (POST /api/v1/auth/dev-login, no WeChat) is on, or None when it
    is off. `listen`: the addresses the server listens on (empty when unknown). With APP_ENV empty
    it is on when nobody else can reach it and nothing else could log in: WECHAT_APPID empty,
    no proxy in front (PROXY_FIX 0) and loopback addresses only."""
    app_env = settings["APP_ENV"]
    if app_env not in APP_ENVS:
        raise ValueError(f"APP_ENV must be development, production or empty, got {app_env!r}")
    if app_env == "development":
        return "APP_ENV is development"
    if app_env == "production" or settings["WECHAT_APPID"] or settings["PROXY_FIX"]:
        return None
    if listen and all(is_loopback(address) for address in listen):
        return f"WECHAT_APPID is empty and the server listens only on {', '.join(listen)}"
    return None


def database_uri(url, instance_path):
    """SQLAlchemy's URI for `DATABASE_URL`; SQLite in the instance folder when empty."""
    if not url:
        return f"sqlite:///{Path(instance_path) / 'backend.sqlite'}"
    if url.startswith("postgres://"):  # Heroku-style URLs name the dialect differently
        url = "postgresql://" + url[len("postgres://") :]
    return url


def instance_secret_key(instance_path):
    """A random key kept in the instance folder, created once, so that all processes of one
    installation sign tokens alike without configuration (set SECRET_KEY in production)."""
    import secrets

    path = Path(instance_path) / "secret_key"
    if not path.exists():
        partial = path.with_name(f"secret_key.{os.getpid()}.partial")
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(partial, path)  # atomic: the first process to get here wins
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    return path.read_text().strip()
