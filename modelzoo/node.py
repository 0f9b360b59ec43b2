"""Running the Node.js scripts of `modelzoo/node/` (TF.js in Node with WASM, and in Chromium)."""

import json
import subprocess
import tempfile
from pathlib import Path

from modelzoo.constants import NODE_DIR, node_binary

NPM_HINT = f"install them with `npm ci --prefix {NODE_DIR}`"


class NodeError(RuntimeError):
    """A Node script failed or is not installed."""


def check_installed():
    """Raises `NodeError` when Node or the packages of `modelzoo/node` are missing."""
    for package in ("@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"):
        if not (NODE_DIR / "node_modules" / package / "package.json").is_file():
            raise NodeError(f"{package} is not installed in {NODE_DIR}: {NPM_HINT}")
    try:
        subprocess.run([node_binary(), "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise NodeError(f"cannot run Node.js ({node_binary()}): {error}") from None


def run_script(script, arguments, timeout=None):
    """Runs `node modelzoo/node/<script> ARGUMENTS --result FILE` and returns the JSON object the
    script wrote to FILE (modelzoo/node/lib/result.js); what it prints is not read. Node runs in
    the caller's working directory, so relative paths mean what they mean to the caller."""
    check_installed()
    with tempfile.TemporaryDirectory(prefix="modelzoo-node-") as folder:
        result_path = Path(folder) / "result.json"
        command = [node_binary(), str(NODE_DIR / script), *map(str, arguments), "--result", str(result_path)]
        try:
            finished = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise NodeError(f"{script} timed out after {timeout} s") from None
        if finished.returncode != 0:
            lines = finished.stderr.strip().splitlines()
            message = next((line for line in lines if line.startswith("error:")), "\n".join(lines[-10:]))
            raise NodeError(f"{script} failed (exit {finished.returncode}): {message}")
        if not result_path.is_file():
            raise NodeError(f"{script} wrote no result file; its output ended with {finished.stdout[-500:]!r}")
        return json.loads(result_path.read_text())


def run_wasm(model_json, io_pairs=(), sizes=(), runs=2, timeout=None):
    """Runs a TF.js graph model with the WASM backend: for each `(inputs, output.npy)` pair, where
    `inputs` is `{input name: input.npy}`, writes the output; and profiles each square size.
    Returns the script's JSON result."""
    arguments = ["--model", Path(model_json), "--runs", runs]
    for sources, target in io_pairs:
        feed = ",".join(f"{name}:{path}" for name, path in sources.items())
        arguments += ["--io", f"{feed}={target}"]
    for size in sizes:
        arguments += ["--size", size]
    return run_script("run_wasm.js", arguments, timeout=timeout)


def run_webgl(model_json, chromium, sizes, configs, timeout_s, max_texture_size):
    """Profiles a TF.js graph model's WebGL textures in headless Chromium. `configs` are
    `(im2col, delete_texture_threshold)` pairs; `max_texture_size` is set as TF.js's
    WEBGL_MAX_TEXTURE_SIZE (a phone's limit). Returns the script's JSON result."""
    arguments = [
        "--model",
        Path(model_json),
        "--chromium",
        chromium,
        "--timeout-s",
        timeout_s,
        "--max-texture-size",
        max_texture_size,
    ]
    for size in sizes:
        arguments += ["--size", size]
    for im2col, threshold in configs:
        arguments += ["--config", f"{'on' if im2col else 'off'}:{threshold}"]
    budget = timeout_s * len(sizes) * len(configs) + 120
    return run_script("profile_webgl.js", arguments, timeout=budget)
