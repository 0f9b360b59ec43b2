"""The student candidates side by side: cost, memory and speed where they run, and quality after
the same training budget. Prints a Markdown table (the one in docs/students.md).

    python bench/bench_students.py                       # students of runs/ablation/<arch>-g1-f0
    python bench/bench_students.py --runs runs/ablation --size 512

Each candidate is packaged by the model zoo (`modelzoo.build.build`: TF.js uint8 and float16, ONNX)
into a temporary folder, which measures it as for any style: WASM latency in Node (one thread),
WebGL texture bytes and largest texture in headless Chromium under a 4096 texture limit with the
manifest's settings, and ONNX Runtime latency on this machine. Quality is the validation PSNR that
`python -m training distill` recorded for the candidate's run (held-out photos at long side 384,
against the teacher), with the steps and seconds it had. A candidate without a run is measured
with random weights and has no quality figure. Figures, not a timed test.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modelzoo import sources  # noqa: E402
from modelzoo.build import BuildOptions, build  # noqa: E402
from modelzoo.constants import MOBILE_MAX_TEXTURE_SIZE  # noqa: E402
from training.models import build_generator  # noqa: E402
from training.saving import load_generator, make_metadata  # noqa: E402
from training.students import ARCHITECTURES, build_student, count_multiply_adds  # noqa: E402

MB = 1e6


def candidate(architecture, runs_dir):
    """`(model, metadata, quality)` of a candidate: its trained student when its run exists."""
    run = Path(runs_dir) / f"{architecture}-g1-f0"
    students = sorted((run / "students").glob("*.keras"))
    if not students:
        return build_student((architecture.replace("-", "_"),), architecture), make_metadata("random", "BGR"), None
    model, metadata = load_generator(students[0])
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines() if line.strip()]
    last = history[-1]
    psnr = next(value for key, value in last.items() if key.startswith("val_psnr_"))
    return model, metadata, {"psnr_db": psnr, "steps": last["steps"], "seconds": last["seconds"]}


def figures(model, metadata, size, work):
    """The package's measured figures at `size` (a square side)."""
    source = sources.from_keras(model, {**metadata, "style": "candidate"}, origin="bench_students")
    options = BuildOptions(
        profile_sizes=(size,), webgl_sizes=(size,), webgl_max_texture_sizes=(MOBILE_MAX_TEXTURE_SIZE,)
    )
    data, package_dir, _ = build(source, work, options, log=lambda message: print(f"  {message}", file=sys.stderr))
    variants = data["variants"]
    wasm = next(e for e in variants["uint8"]["profile"]["wasm"] if e["size"] == size)
    server = next(e for e in variants["onnx"]["profile"]["server"] if e["size"] == size)
    settings = data["webgl_settings"]
    webgl = next(
        (
            e
            for e in variants["uint8"]["profile"]["webgl"] or []
            if e["size"] == size
            and e["im2col"] == settings["WEBGL_CONV_IM2COL"]
            and e["delete_texture_threshold"] == settings["WEBGL_DELETE_TEXTURE_THRESHOLD"]
        ),
        None,
    )
    return {
        "uint8_bytes": variants["uint8"]["bytes"],
        "wasm_ms": wasm["latency_ms"] if wasm["ok"] else None,
        "server_ms": server["latency_ms"],
        "webgl_texture_bytes": webgl["texture_bytes"] if webgl and webgl["ok"] else None,
        "webgl_largest_texture": max(webgl["max_texture_width"], webgl["max_texture_height"]) if webgl else None,
    }


def cell(value, scale=1.0, digits=0, unit=""):
    return "-" if value is None else f"{value / scale:,.{digits}f}{unit}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/ablation", help="folder of the candidates' distill runs")
    parser.add_argument("--size", type=int, default=512, help="side of the square picture measured (default 512)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    teacher_macs = count_multiply_adds(build_generator(), 256, 256)
    rows = {}
    for architecture in ARCHITECTURES:
        print(f"{architecture}:", file=sys.stderr)
        model, metadata, quality = candidate(architecture, args.runs)
        with tempfile.TemporaryDirectory(prefix="bench-students-") as work:
            measured = figures(model, metadata, args.size, work)
        rows[architecture] = {
            "parameters": model.count_params(),
            "macs_256": count_multiply_adds(model, 256, 256),
            "macs_512": count_multiply_adds(model, 512, 512),
            **measured,
            "quality": quality,
        }

    size = args.size
    print(
        f"| student | parameters | uint8 package | GMAC 256² (teacher ÷) | GMAC 512² | server {size}² (ONNX) "
        f"| WebGL textures {size}² | largest texture | WASM {size}² | val PSNR (steps, s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for architecture, row in rows.items():
        quality = row["quality"]
        print(
            f"| {architecture} | {row['parameters']:,} | {cell(row['uint8_bytes'], MB, 2, ' MB')} "
            f"| {row['macs_256'] / 1e9:.2f} (÷{teacher_macs / row['macs_256']:.0f}) | {row['macs_512'] / 1e9:.2f} "
            f"| {cell(row['server_ms'], 1, 0, ' ms')} | {cell(row['webgl_texture_bytes'], MB, 0, ' MB')} "
            f"| {cell(row['webgl_largest_texture'])} | {cell(row['wasm_ms'], 1, 0, ' ms')} "
            + (
                f"| {quality['psnr_db']:.2f} dB ({quality['steps']}, {quality['seconds']:.0f}) |"
                if quality
                else "| - |"
            )
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
