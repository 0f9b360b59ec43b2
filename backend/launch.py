"""`python -m backend.launch --zoo DIR`: the main command (`make run`). Serves the backend as soon
as the first styles are packaged, then packages and measures the others while it serves:

1. package the two light generators (conversion and parity checks, no profile: about a minute),
2. start gunicorn (backend/gunicorn.conf.py) on DIR and wait until /readyz answers,
3. package the other styles, at low priority: the backend serves each one as soon as it is in
   the catalogue (the four published styles: about a minute each),
4. measure the profile of every package (WASM, and WebGL in SwiftShader: most of an hour), at low
   priority; until a style is measured, the plan sends phones to the server for it.

The backend runs until Ctrl-C or SIGTERM, which stop everything: gunicorn (quickly on a Ctrl-C,
which reaches it too; gracefully on a SIGTERM sent to the launcher), and the builds, which run in
a process group of their own, out of the terminal's reach, and are ended by the launcher with
SIGTERM (a KeyboardInterrupt can land in a garbage-collector callback of TensorFlow or JAX, which
Python only prints, and the build goes on; an unfinished package stays as a `.partial-` folder,
which the next build of that version or `python -m modelzoo prune` removes). The launcher then
exits 0 (`make run` reports a Ctrl-C as an interrupt); a second Ctrl-C is ignored while it stops.
It takes Ctrl-C even when started with SIGINT ignored (in the background of a script), as
gunicorn does. Paths are the caller's: DIR is made absolute before it is handed to the child
processes.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from backend.config import GUNICORN_GRACEFUL_SECONDS, REPOSITORY_ROOT, gunicorn_bind
from modelzoo.constants import LIGHT_STYLES

STEPS = 4
LOW_PRIORITY = ["nice", "-n", "10"]  # the builds leave the cores to the server's jobs
POLL_SECONDS = 0.5
BUILD_STOP_SECONDS = 10
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def say(step, text):
    print(f"[run {step}/{STEPS}] {text}", flush=True)


def first_styles(styles):
    """The styles packaged before the server starts: the light generators (the quickest to
    convert) among `styles` (None: all), else the first of `styles`."""
    return [s for s in LIGHT_STYLES if styles is None or s in styles] or styles[:1]


def local_url(bind):
    """The URL at which this machine reaches gunicorn's HOST:PORT bind (None for a socket)."""
    if bind.startswith(("unix:", "fd://")):
        return None
    host, _, port = (bind if ":" in bind else f"{bind}:8000").rpartition(":")
    if host in ("", "0.0.0.0", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def child_env(zoo):
    """The environment of the child processes: the zoo, and this checkout importable from
    wherever the command was started."""
    path = os.pathsep.join(p for p in (str(REPOSITORY_ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "MODELZOO_DIR": str(zoo), "PYTHONPATH": path}


def modelzoo(*arguments):
    return [sys.executable, "-m", "modelzoo", *map(str, arguments)]


def wait_ready(server, url):
    """Waits until `url`/readyz answers 200; returns its answer, or None when the server stopped."""
    while server.poll() is None:
        try:
            response = requests.get(f"{url}/readyz", timeout=5)
            if response.status_code == 200:
                return response.json()
        except requests.RequestException:
            pass
        time.sleep(POLL_SECONDS)
    return None


def run_build(command, env):
    """Runs the build `command`; returns its exit status (the build is stopped with the launcher)."""
    child = None
    try:
        child = subprocess.Popen(command, env=env, process_group=0)
        return child.wait()
    finally:
        stop(child, BUILD_STOP_SECONDS)


def run_beside(server, command, env):
    """Runs the build `command` at low priority while the server serves; returns its exit status,
    or None when the server stopped first (the build is stopped then)."""
    child = None
    try:
        child = subprocess.Popen([*LOW_PRIORITY, *command], env=env, process_group=0)
        while child.poll() is None:
            if server.poll() is not None:
                return None
            time.sleep(POLL_SECONDS)
        return child.returncode
    finally:
        stop(child, BUILD_STOP_SECONDS)


def stop(process, timeout):
    """Sends SIGTERM to `process` (if it runs), then SIGKILL after `timeout` seconds; to its whole
    process group when it leads one (a build: its Node and Chromium processes too)."""
    if process is not None and process.poll() is None:
        group = os.getpgid(process.pid) == process.pid

        def send(number):
            if not group:
                process.send_signal(number)
                return
            with contextlib.suppress(ProcessLookupError):  # the group ended meanwhile
                os.killpg(process.pid, number)

        send(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
            process.wait()


def describe_server(url):
    """What to open, and whether the development login is on (as the server's OpenAPI says)."""
    try:
        paths = requests.get(f"{url}/api/v1/openapi.json", timeout=5).json()["paths"]
    except (requests.RequestException, ValueError, KeyError):
        paths = {}
    login = "on" if "/api/v1/auth/dev-login" in paths else "off (log in through WeChat)"
    return f"open {url}/api/v1/styles, or stylize a photo as README.md's 'Try it' shows; development login {login}"


def serve(zoo, styles):
    started = time.monotonic()
    env = child_env(zoo)
    selection = ["--styles", ",".join(styles)] if styles else []
    first = first_styles(styles)
    say(1, f"packaging {', '.join(first)} into {zoo} (conversion and parity checks, about a minute)")
    status = run_build(modelzoo("build-all", "--output", zoo, "--styles", ",".join(first), "--no-profile"), env)
    if status != 0:
        return status

    bind = gunicorn_bind()
    say(2, f"starting the backend on {bind}")
    config = REPOSITORY_ROOT / "backend" / "gunicorn.conf.py"
    command = [sys.executable, "-m", "gunicorn", "-c", str(config), "backend:create_app()"]
    server = None
    try:
        server = subprocess.Popen(command, env=env)
        url = local_url(bind)
        if url is not None:
            ready = wait_ready(server, url)
            if ready is None:
                return server_ended(server, f"; is {bind} in use? Set PORT or BIND")
            say(2, f"the backend is ready after {time.monotonic() - started:.0f} s with {ready['styles']} styles")
            say(2, describe_server(url))

        say(3, "packaging the other styles while serving (about a minute each; each is served when packaged)")
        status = run_beside(server, modelzoo("build-all", "--output", zoo, *selection, "--no-profile"), env)
        if status == 0:
            say(4, "measuring the packages for phones (WASM and WebGL, most of an hour; `make profile` resumes it)")
            status = run_beside(server, modelzoo("profile", zoo, *selection), env)
        if status is None:
            return server_ended(server)
        if status != 0:
            print(f"warning: exit {status} above; the backend keeps serving what is packaged")
        else:
            say(4, f"every style packaged and measured after {time.monotonic() - started:.0f} s")
        print("serving until Ctrl-C", flush=True)
        server.wait()
        return server_ended(server)
    finally:
        stop(server, GUNICORN_GRACEFUL_SECONDS + 10)  # the master kills a stuck worker before it is killed


def server_ended(server, hint=""):
    """Says why the launcher stops now that gunicorn has ended by itself; returns the exit status.
    gunicorn ends with 0 only when told to stop (SIGINT, SIGTERM or SIGQUIT sent to it alone)."""
    code = server.returncode
    if code == 0:
        print("[run] the backend was stopped; stopping the rest", flush=True)
        return 0
    print(f"error: the backend stopped (exit {code}){hint}", flush=True)
    return code if code > 0 else 128 - code  # -N: killed by signal N


class Stop(BaseException):
    """Raised in the main thread by SIGINT (Ctrl-C) or SIGTERM, so that `finally` stops the server
    and the builds (a BaseException, as KeyboardInterrupt: no `except Exception` takes it)."""


def raise_stop(signal_number, frame):
    for stop_signal in STOP_SIGNALS:  # a second one would cut the stop short, leaving the server running
        signal.signal(stop_signal, already_stopping)
    raise Stop(signal.Signals(signal_number).name)


def already_stopping(signal_number, frame):
    pass


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m backend.launch", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--zoo", type=Path, default=REPOSITORY_ROOT / "modelzoo-build", help="the model zoo folder (built if missing)"
    )
    parser.add_argument("--styles", help="comma-separated style ids (default: the four published and two light)")
    args = parser.parse_args(argv)
    styles = [s for s in args.styles.split(",") if s] if args.styles else None
    # Also when started with SIGINT ignored (in the background of a script): it stops everything.
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, raise_stop)
    try:
        return serve(args.zoo.resolve(), styles)
    except Stop as stopped:
        print(f"\n[run] {stopped}: the backend and the builds are stopped", flush=True)
        return 0  # the way this command is meant to end, as gunicorn's own exit 0


if __name__ == "__main__":
    sys.exit(main())
