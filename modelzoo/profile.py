"""The measured profile of a package: what running a variant costs, where and at which size.

- TF.js variants in Node with the WASM backend: median latency and `tf.profile` peakBytes.
- TF.js variants in headless Chromium with the WebGL backend (SwiftShader): peak texture bytes,
  the largest texture requested, for `WEBGL_CONV_IM2COL` on and off and a small
  `WEBGL_DELETE_TEXTURE_THRESHOLD`, and which sizes fail, under each texture limit of
  `WEBGL_MAX_TEXTURE_SIZES` (set as TF.js's `WEBGL_MAX_TEXTURE_SIZE`: TF.js lays textures out
  within it, as on a phone with that limit). Without Chromium the figures are `None` with the
  reason.
- The ONNX model in onnxruntime on the server: median latency.

TF.js dequantizes weights to float32 when it loads a model, so the float16 and uint8 variants of
one network graph run the same kernels: their figures are measured once per graph and size, and
cached (in `<output>/.cache/`) for every variant and style that shares the graph.

A package built without its profile (`--no-profile`) has no `profile` in its variants until
`python -m modelzoo profile` measures it (`modelzoo.build.profile_zoo`).
"""

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from modelzoo import node
from modelzoo.constants import (
    DEFAULT_WEBGL_SETTINGS,
    MOBILE_MAX_TEXTURE_SIZE,
    ONNX_VARIANT,
    STUDENT_PREFIX,
    TFJS_VARIANTS,
)

WEBGL_KEYS = (
    "size",
    "im2col",
    "delete_texture_threshold",
    "ok",
    "error",
    "texture_bytes",
    "texture_bytes_end",
    "tensor_bytes",
    "max_texture_width",
    "max_texture_height",
    "max_texture_size",
    "latency_ms",
)


def is_measured(manifest):
    """Whether the variants the profile measures (the TF.js ones and the ONNX model, the student's
    too) have their figures."""
    variants = manifest["variants"]
    names = [prefix + name for prefix in ("", STUDENT_PREFIX) for name in (*TFJS_VARIANTS, ONNX_VARIANT)]
    return all("profile" in variants[name] for name in names if name in variants)


def cached(cache_dir, kind, key, compute):
    """`compute()`'s JSON result, stored as `cache_dir/<kind>-<hash of key>.json` for next time
    (unless it says that something was `missing`: that is tried again)."""
    if cache_dir is None:
        return compute()
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    path = Path(cache_dir) / f"{kind}-{digest}.json"
    if path.is_file():
        return json.loads(path.read_text())
    result = compute()
    if isinstance(result, dict) and result.get("missing"):
        return result
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    return result


def wasm(model_json, sizes, runs):
    """`[{"size", "latency_ms", "peak_bytes", "runs", "ok", "error"}]` in Node with WASM."""
    if not sizes:
        return []
    result = node.run_wasm(model_json, sizes=sizes, runs=runs)
    return [
        {key: entry[key] for key in ("size", "latency_ms", "peak_bytes", "runs", "ok", "error")}
        for entry in result["profile"]
    ]


def chromium_missing(chromium):
    """Why the WebGL profile cannot run with `chromium`, or None when it can."""
    chromium = Path(chromium)
    if not chromium.is_file() or not os.access(chromium, os.X_OK):
        return f"no Chromium at {chromium} (install Debian's chromium or set MODELZOO_CHROMIUM)"
    if not (node.NODE_DIR / "node_modules" / "playwright-core" / "package.json").is_file():
        return f"playwright-core is not installed in {node.NODE_DIR}: {node.NPM_HINT}"
    return None


def webgl(model_json, sizes, configs, chromium, timeout_s, max_texture_size=MOBILE_MAX_TEXTURE_SIZE):
    """`{"renderer", "results": [...]}` measured in headless Chromium, or `{"missing": reason}`."""
    missing = chromium_missing(chromium)
    if missing:
        return {"missing": missing}
    if not sizes:
        return {"renderer": None, "results": []}
    try:
        result = node.run_webgl(model_json, chromium, sizes, configs, timeout_s, max_texture_size)
    except node.NodeError as error:
        return {"missing": f"the WebGL profile failed: {error}"}
    results = [{key: entry.get(key) for key in WEBGL_KEYS} for entry in result["results"]]
    return {"renderer": result["renderer"], "results": results}


def recommend(results):
    """The WebGL flags to use, and the largest measured size that runs with them under each
    texture limit measured (`{limit: size or None}`): the setting under which the most
    (limit, size) pairs run, then the one with the fewest texture bytes."""
    if not results:
        return dict(DEFAULT_WEBGL_SETTINGS), {}
    by_config = {}
    for entry in results:
        by_config.setdefault((entry["im2col"], entry["delete_texture_threshold"]), []).append(entry)

    def score(item):
        entries = item[1]
        return (sum(e["ok"] for e in entries), -sum(e["texture_bytes"] or 0 for e in entries if e["ok"]))

    (im2col, threshold), entries = max(by_config.items(), key=score)
    settings = {"WEBGL_CONV_IM2COL": bool(im2col), "WEBGL_DELETE_TEXTURE_THRESHOLD": int(threshold)}
    limits = sorted({e.get("max_texture_size") for e in results if e.get("max_texture_size")})
    max_sizes = {}
    for limit in limits:
        sizes = [e["size"] for e in entries if e.get("max_texture_size") == limit and e["ok"]]
        max_sizes[str(limit)] = max(sizes) if sizes else None
    return settings, max_sizes


def random_feed(session, size):
    """Random inputs in [-1, 1] for every input of an onnxruntime session, by name: each free side
    `size` (the picture), each fixed side kept (a context's), one picture."""
    rng = np.random.default_rng(0)
    feed = {}
    for item in session.get_inputs():
        shape = [1 if axis == 0 else side if isinstance(side, int) else size for axis, side in enumerate(item.shape)]
        feed[item.name] = rng.uniform(-1, 1, shape).astype(np.float32)
    return feed


def onnx_server(onnx_path, sizes, runs):
    """`[{"size", "latency_ms", "runs", "threads"}]` of an ONNX model in onnxruntime (CPU)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    entries = []
    for size in sizes:
        feed = random_feed(session, size)
        session.run(None, feed)  # warm-up
        latencies = []
        for _ in range(runs):
            start = time.perf_counter()
            session.run(None, feed)
            latencies.append((time.perf_counter() - start) * 1000)
        entries.append(
            {
                "size": int(size),
                "latency_ms": round(float(np.median(latencies)), 1),
                "runs": runs,
                "threads": os.cpu_count(),
            }
        )
    return entries
