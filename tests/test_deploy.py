"""docker-compose.yml and deploy/Dockerfile (docs/deploy.md). Docker does not run on the development
machine or in CI, so the files are checked, not started: the YAML parses, the topology is there,
every setting given to the backend is one it reads, web and workers share the same services, and
every file they name exists."""

import re
from pathlib import Path

import yaml

from backend.config import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
# Read by something other than backend/config.py: gunicorn (backend/gunicorn.conf.py), prometheus_client.
OTHER_VARIABLES = {"BIND", "PORT", "WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR"}


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_topology_is_there():
    services = compose()["services"]
    assert {"lb", "web", "worker", "worker-gpu", "maintenance", "redis", "postgres", "minio", "minio-bucket"} <= set(
        services
    )
    assert "gunicorn" in services["web"]["command"] and "backend:create_app()" in services["web"]["command"]
    for name in ("worker", "worker-gpu"):
        assert services[name]["command"].startswith("celery -A backend.worker worker")
        assert services[name]["build"]["args"]["ROLE"] == "worker"
    # The maintenance queue's worker and Celery beat: lost jobs sent again (backend/worker.py).
    assert services["maintenance"]["command"].startswith("celery -A backend.worker worker --queues maintenance ")
    assert "--beat" in services["maintenance"]["command"].split()
    assert services["web"]["build"]["args"]["ROLE"] == "server"
    assert services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert services["lb"]["network_mode"] == "service:web"  # deploy/nginx.conf's upstream is 127.0.0.1:8000
    assert services["web"]["environment"]["BIND"] == "127.0.0.1:8000"
    # The database's migrations run first, once: web and workers wait until they are done.
    assert services["migrate"]["command"] == "flask --app backend db upgrade"
    for name in ("web", "worker", "worker-gpu", "maintenance"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_web_and_workers_share_their_services_and_settings_exist():
    services = compose()["services"]
    shared = ("DATABASE_URL", "CELERY_BROKER_URL", "MODELZOO_DIR", "STORAGE_URL", "S3_ENDPOINT_URL", "SECRET_KEY")
    for key in shared:
        values = {
            services[name]["environment"][key] for name in ("migrate", "web", "worker", "worker-gpu", "maintenance")
        }
        assert len(values) == 1, key
    assert services["web"]["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert services["web"]["environment"]["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert "postgres:5432" in services["web"]["environment"]["DATABASE_URL"]
    assert services["web"]["environment"]["S3_ENDPOINT_URL"] == "http://minio:9000"  # no disk shared
    assert services["web"]["environment"]["STORAGE_URL"].startswith("s3://cartoon/")  # minio-bucket makes it
    assert "RESULTS_DIR" not in services["web"]["environment"]
    for name in ("migrate", "web", "worker", "worker-gpu", "maintenance"):
        for key in services[name]["environment"]:
            assert key in DEFAULTS or key in OTHER_VARIABLES, f"{name}: {key} is read by nothing"


def test_the_files_named_exist():
    services = compose()["services"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and source != "./modelzoo-build":  # that one is built by `make zoo`
                assert (ROOT / source).exists(), (name, source)
        if "build" in service:
            assert (ROOT / service["build"]["dockerfile"]).is_file()
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    for role in ("server", "worker"):
        assert (ROOT / "requirements" / f"{role}.txt").is_file()
    for source in re.findall(r"^COPY (?!--from=)(.+) \S+$", dockerfile, re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), path
    assert "requirements/${ROLE}.txt" in dockerfile


def test_the_image_builds_and_serves_the_web_app():
    """A Node stage builds web/ as `make install` does; the image gets web/dist, where WEB_DIR
    points by default, so the container serves `/`."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    stage = re.search(r"^FROM node:\S+ AS (\w+)$(.*?)^FROM ", dockerfile, re.MULTILINE | re.DOTALL)
    assert stage, "no Node stage before the Python one"
    name, steps = stage.groups()
    assert "npm ci --prefix web" in steps and "npm ci --prefix miniprogram" in steps
    assert "npm run build --prefix web" in steps
    for package in ("web", "miniprogram"):  # npm ci needs the lock files
        assert f"COPY {package}/package.json {package}/package-lock.json {package}/" in steps
    assert f"COPY --from={name} /src/web/dist/ web/dist/" in dockerfile
    assert DEFAULTS["WEB_DIR"] == str(ROOT / "web" / "dist")  # in the image: /app/web/dist
    # Every local module the build reads is in what the stage copies.
    lines = re.findall(r"^COPY (?!--from=)(.+) \S+$", steps, re.MULTILINE)
    copied = [(ROOT / path).resolve() for line in lines for path in line.split()]
    sources = [ROOT / "web" / "build.js", *(ROOT / "web" / "src").glob("*.js")]
    seen = set(sources)
    while sources:
        source = sources.pop()
        for target in re.findall(r"(?:require\(|from )'(\.{1,2}/[^']+)'", source.read_text()):
            module = (source.parent / target).resolve()
            module = module if module.suffix == ".js" else module.with_suffix(".js")
            assert any(module.is_relative_to(folder) or module == folder for folder in copied), (source, target)
            if module not in seen:
                seen.add(module)
                sources.append(module)
    assert ROOT / "miniprogram" / "core" / "gif.js" in seen
