"""Installs per role (requirements/): the web server runs with only requirements/server.txt.

Rather than a fresh virtualenv (a minute of downloads per run), the backend runs in a subprocess in
which importing any module of a distribution that server.txt does not list fails, as it would where
only the server's packages are installed (the standard library and this repository's `backend` and
numpy-only `training` modules and the model zoo's format module `modelzoo.manifest` with its schemas
stay importable; the model zoo's converters are not). It serves a job with the
in-process runner; with a broker, it also runs with ONNX Runtime blocked: web processes load no model.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import importlib.abc, importlib.metadata, json, re, sys, time

allowed, blocked_too, settings = json.loads(sys.argv[1])
owners = importlib.metadata.packages_distributions()
normal = lambda name: re.sub(r"[-_.]+", "-", name).lower()

class ServerPackagesOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if any(name == b or name.startswith(b + ".") for b in blocked_too):
            raise ImportError(f"{name}: not a module the web server may import")
        owned_by = owners.get(top)
        if (owned_by and not any(normal(d) in allowed for d in owned_by)):
            raise ImportError(f"{name}: not a package of requirements/server.txt")
        return None

sys.meta_path.insert(0, ServerPackagesOnly())

from backend import create_app

app = create_app(settings)
client = app.test_client()
token = client.post("/api/v1/auth/dev-login", json={"openid": "role"}).get_json()["token"]
headers = {"Authorization": f"Bearer {token}"}
from PIL import Image
import io
photo = io.BytesIO()
Image.linear_gradient("L").resize((40, 30)).convert("RGB").save(photo, "PNG")
photo.seek(0)
answer = client.post("/api/v1/jobs", data={"style": "tiny", "image": (photo, "p.png")}, headers=headers)
job = answer.get_json()
deadline = time.monotonic() + 60
while not settings.get("CELERY_BROKER_URL") and job["status"] not in ("done", "failed") and time.monotonic() < deadline:
    time.sleep(0.05)
    job = client.get(f"/api/v1/jobs/{job['id']}", headers=headers).get_json()
try:
    import keras  # noqa: F401
    probe = "imported"
except ImportError:
    probe = "blocked"
heavy = ("tensorflow", "keras", "jax", "onnx", "cv2", "modelzoo.build", "modelzoo.convert", "onnxruntime")
heavy = sorted(m for m in heavy if m in sys.modules)
print(json.dumps({"status": answer.status_code, "job": job, "loaded": heavy, "keras": probe}))
if "jobs" in app.extensions:
    app.extensions["jobs"].shutdown()
"""


def server_distributions():
    lines = (ROOT / "requirements" / "server.txt").read_text().splitlines()
    return sorted(re.sub(r"[-_.]+", "-", line.split("==")[0]).lower() for line in lines if "==" in line)


def run_backend(settings, blocked_too=()):
    settings = {key: value for key, value in settings.items() if key != "TESTING"}
    arguments = json.dumps([server_distributions(), ["modelzoo.build", "modelzoo.convert", *blocked_too], settings])
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, arguments], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_the_server_packages_list_no_tensorflow():
    names = server_distributions()
    assert "flask" in names and "onnxruntime" in names
    assert not {"tensorflow", "keras", "tensorflowjs", "tf2onnx", "onnx", "jax"} & set(names)


def test_the_backend_runs_a_job_with_only_the_server_packages(base_settings):
    answer = run_backend(base_settings)
    assert answer["status"] == 202 and answer["job"]["status"] == "done", answer
    assert answer["loaded"] == ["onnxruntime"]
    assert answer["keras"] == "blocked"  # the blocking works


def test_with_a_broker_the_web_process_loads_no_model(base_settings, redis_server):
    answer = run_backend({**base_settings, "CELERY_BROKER_URL": f"{redis_server.url}/5"}, ["onnxruntime"])
    assert answer["status"] == 202 and answer["job"]["status"] == "queued", answer  # left for a worker
    assert answer["loaded"] == []
    redis_server.client(5).flushdb()


def test_results_in_s3_with_only_the_server_packages(base_settings, s3_settings):
    answer = run_backend({**base_settings, **s3_settings})  # the S3 client (minio) is a server package
    assert answer["status"] == 202 and answer["job"]["status"] == "done", answer
