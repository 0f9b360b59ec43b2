"""The README's main command, `make run`, on its embedded defaults (no WeChat appid, no APP_ENV,
localhost): from an empty model zoo given as a relative path to /readyz, the development login
and one server job that returns a picture.

It runs the Makefile's `run` target itself (`-o install`: `make test` has just installed), on the
two light generators only (STYLES; the four published ones take minutes more), with the database,
results and secret in the test's folder instead of the checkout's instance/ folder.
"""

import contextlib
import io
import os
import re
import signal
import subprocess
import time

import pytest
import requests
from PIL import Image

from backend.config import LISTEN_VARIABLE, REPOSITORY_ROOT
from tests.ports import free_port

pytestmark = pytest.mark.slow

STYLES = ("light_paprika", "light_shinkai")
HANG_GUARD_SECONDS = 900  # not a speed check: only so that a hung build fails instead of blocking CI
UNSET = ("APP_ENV", "WECHAT_APPID", "WECHAT_SECRET", "BIND", "MODELZOO_DIR", "PROXY_FIX", LISTEN_VARIABLE)


@pytest.fixture
def make_run(tmp_path):
    """`make run` on a fresh zoo in a process group of its own; yields `(base URL, zoo folder,
    process, log path)`; stops the whole group afterwards."""
    port = free_port()
    zoo = tmp_path / "zoo"
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    env.update(
        PORT=str(port),
        DATABASE_URL=f"sqlite:///{tmp_path / 'backend.sqlite'}",
        RESULTS_DIR=str(tmp_path / "results"),
        SECRET_KEY="main-command-test",
    )
    command = [
        "make",
        "--no-print-directory",
        "-o",
        "install",
        "run",
        f"ZOO={os.path.relpath(zoo, REPOSITORY_ROOT)}",  # relative, as the Makefile's default
        f"STYLES={','.join(STYLES)}",
    ]
    log_path = tmp_path / "make-run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPOSITORY_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Ctrl-C reaches every process, as in a terminal, also where the tests run with SIGINT
            # ignored (a script's background job).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        yield f"http://127.0.0.1:{port}", zoo, process, log_path
    finally:
        with contextlib.suppress(ProcessLookupError):  # the test has stopped it
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)


def wait_ready(url, process, log_path):
    guard = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < guard:
        assert process.poll() is None, f"make run stopped:\n{log_path.read_text()[-3000:]}"
        try:
            response = requests.get(f"{url}/readyz", timeout=5)
            if response.status_code == 200:
                return response.json()
        except requests.RequestException:  # not listening yet, or its workers still starting
            pass
        time.sleep(1)
    raise AssertionError(f"no /readyz answer:\n{log_path.read_text()[-3000:]}")


def readme_login_lines():
    """The README's `TOKEN=$(curl ... dev-login ...)` command in the sh block of its "Try it" section."""
    section = (REPOSITORY_ROOT / "README.md").read_text().split("### Try it", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    match = re.search(r"^TOKEN=\$\(.*?\)$", block, re.MULTILINE | re.DOTALL)
    assert match, "README.md's Try it section has no TOKEN=$(...) login command"
    return match[0]


def test_make_run_serves_a_cartoon_from_a_fresh_zoo(make_run, photos):
    url, zoo, process, log_path = make_run
    assert wait_ready(url, process, log_path) == {"status": "ready", "styles": len(STYLES)}
    assert (zoo / "catalogue.json").is_file()  # the relative ZOO is the caller's, not modelzoo/node's
    assert {s["id"] for s in requests.get(f"{url}/api/v1/styles", timeout=10).json()["styles"]} == set(STYLES)

    # The README's own login lines (curl), as a newcomer runs them: on by itself (no appid, localhost only).
    script = f'set -o pipefail\nB={url}\n{readme_login_lines()}\n[ -n "$TOKEN" ] && echo "$TOKEN"'
    token = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert token.returncode == 0, token.stderr
    headers = {"Authorization": f"Bearer {token.stdout.strip()}"}

    photo = photos[0]
    with open(photo, "rb") as file:
        submitted = requests.post(
            f"{url}/api/v1/jobs",
            headers=headers,
            data={"style": STYLES[0]},
            files={"image": (photo.name, file, "image/jpeg")},
            timeout=30,
        )
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    while job["status"] in ("queued", "running"):
        assert process.poll() is None, log_path.read_text()[-3000:]
        time.sleep(0.5)
        job = requests.get(f"{url}/api/v1/jobs/{job['id']}", headers=headers, timeout=10).json()
    assert job["status"] == "done", job

    picture = requests.get(job["result"]["url"], headers=headers, timeout=30)
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(picture.content))
    assert image.size == (job["result"]["width"], job["result"]["height"])
    assert max(image.size) == min(512, max(Image.open(photo).size))  # the default long side

    # Ctrl-C in the terminal: SIGINT to every process of the command. The backend and the builds
    # still running (the phone profiles) stop, and the launcher says so, without a traceback.
    os.killpg(process.pid, signal.SIGINT)
    process.wait(60)
    log = log_path.read_text()
    assert "[run] SIGINT: the backend and the builds are stopped" in log, log[-3000:]
    assert "Shutting down: Master" in log and "was sent SIGKILL" not in log, log[-3000:]
    assert "Traceback" not in log and "error: the backend stopped" not in log, log[-3000:]
    with pytest.raises(ProcessLookupError):  # nothing of the command is left
        os.killpg(process.pid, 0)
