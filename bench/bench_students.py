"""The student candidates side by side: cost, memory and speed where they run, and quality after
the same training budget. Prints a Markdown table (the one in docs/students.md).

    python bench/bench_students.py                       # students of runs/ablation/<arch>-g1-f0
    python bench/bench_students.py --runs runs/ablation --size 512
    python bench/bench_students.py --zoo modelzoo-build  # issue 9's targets against the packaged students

With `--zoo`, it reads the model zoo's packages instead (`make zoo` or `make run` package each
published style with its student) and prints, per style, each target of issue 9 beside what was
measured: the student's uint8 package, its MACs against its teacher's, its WebGL textures and
largest texture at 512² under a 4096 limit with its manifest settings, WASM and server latency
at 512², and PSNR / SSIM against the teacher on the held-out photos (training/students/evaluation.json).

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


# Issue 9's targets per style (printed, not asserted): (name, target text, passes(measured)).
TARGET_SIZE = 512
TARGETS = (
    ("uint8 package", "≤ 1.5 MB", lambda v: v <= 1.5 * MB, lambda v: cell(v, MB, 2, " MB")),
    ("MACs", "≤ 1/10 of the teacher's", lambda v: v <= 0.1, lambda v: f"{v:.3f} of the teacher's"),
    (f"WebGL textures {TARGET_SIZE}²", "≤ 150 MB", lambda v: v <= 150 * MB, lambda v: cell(v, MB, 0, " MB")),
    (f"largest texture {TARGET_SIZE}²", f"≤ {MOBILE_MAX_TEXTURE_SIZE}", lambda v: v <= MOBILE_MAX_TEXTURE_SIZE, cell),
    (f"WASM {TARGET_SIZE}² (one thread)", "≤ 1 s", lambda v: v <= 1000, lambda v: cell(v, 1, 0, " ms")),
    (f"server {TARGET_SIZE}² (ONNX)", "≤ 0.35 s", lambda v: v <= 350, lambda v: cell(v, 1, 0, " ms")),
    ("PSNR against the teacher", "≥ 26 dB", lambda v: v >= 26, lambda v: f"{v:.2f} dB"),
    ("SSIM against the teacher", "≥ 0.85", lambda v: v >= 0.85, lambda v: f"{v:.3f}"),
)


def packaged_figures(zoo, style_id, evaluation):
    """The target figures of a style's packaged student (None where the package has no figure)."""
    from modelzoo import manifest as manifests
    from training import settings

    entry = next(s for s in manifests.read_catalogue(zoo)["styles"] if s["id"] == style_id)
    data = manifests.read_json(Path(zoo) / entry["manifest"])
    variants, student = data["variants"], data["student"]
    uint8 = variants["student_uint8"].get("profile") or {}
    config = student["webgl_settings"]
    webgl = next(
        (
            e
            for e in uint8.get("webgl") or []
            if e["size"] == TARGET_SIZE
            and e.get("max_texture_size") == MOBILE_MAX_TEXTURE_SIZE
            and e["im2col"] == config["WEBGL_CONV_IM2COL"]
            and e["delete_texture_threshold"] == config["WEBGL_DELETE_TEXTURE_THRESHOLD"]
        ),
        None,
    )
    wasm = next((e for e in uint8.get("wasm") or [] if e["size"] == TARGET_SIZE and e["ok"]), None)
    server = (variants["student_onnx"].get("profile") or {}).get("server") or []
    server = next((e for e in server if e["size"] == TARGET_SIZE), None)
    student_model, _ = load_generator(settings.students_dir() / f"{style_id}.keras")
    summary = (evaluation.get(style_id) or {}).get("summary") or {}
    largest = max(webgl["max_texture_width"] or 0, webgl["max_texture_height"] or 0) if webgl else None
    return [
        variants["student_uint8"]["bytes"],
        count_multiply_adds(student_model, TARGET_SIZE, TARGET_SIZE)
        / count_multiply_adds(build_generator(), TARGET_SIZE, TARGET_SIZE),
        webgl["texture_bytes"] if webgl and webgl["ok"] else None,
        largest,
        wasm["latency_ms"] if wasm else None,
        server["latency_ms"] if server else None,
        summary.get("psnr_db"),
        summary.get("ssim"),
    ]


def print_targets(zoo):
    """Per style with a packaged student: each target, what was measured, and whether it is met."""
    from modelzoo import manifest as manifests
    from training import settings

    evaluation = json.loads((settings.students_dir() / "evaluation.json").read_text())
    styles = [s["id"] for s in manifests.read_catalogue(zoo)["styles"] if "student_uint8" in s.get("variants", {})]
    if not styles:
        print(f"no style of {zoo} has a student: package them with `make zoo` (training/students/)")
        return 1
    print("| style | " + " | ".join(f"{name} ({target})" for name, target, _, _ in TARGETS) + " |")
    print("|---|" + "---|" * len(TARGETS))
    for style_id in styles:
        cells = []
        for (_, _, passes, text), value in zip(TARGETS, packaged_figures(zoo, style_id, evaluation), strict=True):
            cells.append("not measured" if value is None else f"{text(value)} {'met' if passes(value) else 'MISSED'}")
        print(f"| {style_id} | " + " | ".join(cells) + " |")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/ablation", help="folder of the candidates' distill runs")
    parser.add_argument("--size", type=int, default=512, help="side of the square picture measured (default 512)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--zoo", type=Path, help="print issue 9's targets against the students packaged in this zoo")
    args = parser.parse_args(argv)
    if args.zoo:
        return print_targets(args.zoo)

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
