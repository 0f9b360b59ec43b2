"""Figures of a model zoo output folder, per style and variant: size on disk and download size,
Node WASM latency and peak tensor bytes, WebGL texture memory in headless Chromium at 256² and
512² (im2col on / off / off with delete threshold 0), and ONNX server latency at 512².

    python bench/bench_modelzoo.py --zoo /tmp/zoo               # figures measured by the build
    python bench/bench_modelzoo.py --zoo /tmp/zoo --measure     # measure again, here and now
    python bench/bench_modelzoo.py --zoo /tmp/zoo --measure --styles hayao --variants uint8

Figures, not a timed test: it fails only when the folder cannot be read.
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modelzoo import profile  # noqa: E402
from modelzoo.constants import WEBGL_CONFIGS, WEBGL_TIMEOUT_S, chromium_path  # noqa: E402

MB = 1e6


def disk_bytes(package_dir, files):
    """Bytes allocated on disk (file system blocks) for a variant's files."""
    return sum((package_dir / f["path"]).stat().st_blocks * 512 for f in files)


def measure(package_dir, variant, args):
    """Fresh figures of one variant, as the build measures them."""
    if variant["format"] == "tfjs-graph-model":
        model_json = package_dir / variant["model"]
        results, missing = [], None
        for limit in args.webgl_limits:
            webgl = profile.webgl(model_json, args.webgl_sizes, WEBGL_CONFIGS, chromium_path(), WEBGL_TIMEOUT_S, limit)
            results += webgl.get("results") or []
            missing = missing or webgl.get("missing")
        wasm = profile.wasm(model_json, args.wasm_sizes, args.runs)
        return {"wasm": wasm, "webgl": None if missing else results, "webgl_missing": missing}
    if variant["format"] == "onnx" and "statistics_model" not in variant:  # onnx_tiles: bench/bench_tiling.py
        return {"server": profile.onnx_server(package_dir / variant["model"], args.server_sizes, 3)}
    return {}


def webgl_cell(entries, limit, size, im2col, threshold):
    entry = next(
        (
            e
            for e in entries or []
            if (e.get("max_texture_size"), e["size"], e["im2col"], e["delete_texture_threshold"])
            == (limit, size, im2col, threshold)
        ),
        None,
    )
    if entry is None:
        return "-"
    side = max(entry.get("max_texture_width") or 0, entry.get("max_texture_height") or 0)
    if not entry["ok"]:
        return f"FAIL(tex {side})" if side else "FAIL"
    return f"{entry['texture_bytes'] / MB:.0f}MB/{side}"


def rows(zoo, args):
    catalogue = json.loads((zoo / "catalogue.json").read_text())
    for style in catalogue["styles"]:
        if args.styles and style["id"] not in args.styles:
            continue
        manifest_path = zoo / style["manifest"]
        package_dir = manifest_path.parent
        data = json.loads(manifest_path.read_text())
        for name, variant in data["variants"].items():
            if args.variants and name not in args.variants:
                continue
            figures = variant.get("profile", {})
            if args.measure:
                figures = measure(package_dir, variant, args)
            yield style["id"], name, variant, disk_bytes(package_dir, variant["files"]), figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, default=Path("/tmp/zoo"), help="output folder of build-all")
    parser.add_argument("--measure", action="store_true", help="measure again instead of reading the manifests")
    parser.add_argument("--styles", type=lambda s: s.split(","), help="comma-separated style ids")
    parser.add_argument("--variants", type=lambda s: s.split(","), help="comma-separated variant names")
    parser.add_argument("--wasm-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[256, 512])
    parser.add_argument("--webgl-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[256, 512])
    parser.add_argument("--webgl-limits", type=lambda s: [int(x) for x in s.split(",")], default=[4096, 8192])
    parser.add_argument("--server-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[512])
    parser.add_argument("--runs", type=int, default=2, help="timed WASM runs per size (median)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON lines")
    args = parser.parse_args(argv)

    results = list(rows(args.zoo, args))
    if args.json:
        for style, name, variant, disk, figures in results:
            line = {"style": style, "variant": name, "bytes": variant["bytes"], "disk_bytes": disk}
            print(json.dumps({**line, "download_bytes": variant.get("download_bytes"), **figures}))
        return 0

    print(
        f"{'style':14} {'variant':10} {'bytes MB':>9} {'disk MB':>8} {'download MB':>11} "
        + " ".join(f"{f'wasm {s} ms/peakMB':>19}" for s in args.wasm_sizes)
        + " "
        + " ".join(f"{f'onnx {s} ms':>11}" for s in args.server_sizes)
    )
    for style, name, variant, disk, figures in results:
        wasm = {e["size"]: e for e in figures.get("wasm") or []}
        server = {e["size"]: e for e in figures.get("server") or []}
        cells = []
        for size in args.wasm_sizes:
            e = wasm.get(size)
            if e is None:
                cells.append("-")
            else:
                cells.append(f"{e['latency_ms']:.0f}/{e['peak_bytes'] / MB:.0f}" if e["ok"] else "FAIL")
        onnx = [f"{server[s]['latency_ms']:.0f}" if s in server else "-" for s in args.server_sizes]
        print(
            f"{style:14} {name:10} {variant['bytes'] / MB:9.2f} {disk / MB:8.2f} "
            f"{(variant.get('download_bytes') or 0) / MB:11.2f} "
            + " ".join(f"{c:>19}" for c in cells)
            + " "
            + " ".join(f"{c:>11}" for c in onnx)
        )

    print(
        f"\n{'style':14} {'variant':10} {'limit':>5} "
        + " ".join(f"{f'{s}² {c}':>16}" for s in args.webgl_sizes for c in ("im2col", "off", "off,del0"))
    )
    webgl_missing = set()
    for style, name, _, _, figures in results:
        if "webgl" not in figures:
            continue
        if figures.get("webgl_missing"):
            webgl_missing.add(figures["webgl_missing"])
        for limit in args.webgl_limits:
            configs = [(s, im2col, t) for s in args.webgl_sizes for im2col, t in WEBGL_CONFIGS]
            cells = [webgl_cell(figures["webgl"], limit, *config) for config in configs]
            print(f"{style:14} {name:10} {limit:>5} " + " ".join(f"{c:>16}" for c in cells))
    print(
        "\nwasm: median ms / tf.profile peakBytes MB (Node, @tensorflow/tfjs 4.22, WASM). onnx: onnxruntime CPU, "
        "median ms. WebGL: peak texture MB / largest texture side, TF.js 4.22 in headless Chromium (SwiftShader) "
        "with WEBGL_MAX_TEXTURE_SIZE = limit; FAIL: the run failed (a texture over the limit); off,del0: "
        "im2col off and WEBGL_DELETE_TEXTURE_THRESHOLD 0."
    )
    for reason in sorted(webgl_missing):
        print(f"WebGL figures missing: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
