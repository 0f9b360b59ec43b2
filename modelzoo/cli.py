"""`python -m modelzoo <command>`: build, build-all, profile, verify and prune model zoo packages.

TensorFlow is imported only by the commands that convert, so `--help`, `verify` and `prune` are quick.
"""

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

# TensorFlow's C++ start-up chatter (CUDA plugins on a machine without a GPU) and its Python
# warnings about loading SavedModels are not for users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
logging.getLogger("tensorflow").setLevel(logging.ERROR)

from modelzoo.constants import (  # noqa: E402
    DEFAULT_ONNX_OPSET,
    DEFAULT_PROFILE_SIZES,
    DEFAULT_SHARD_BYTES,
    LIGHT_COLOR_ORDER,
    PARITY_PHOTOS,
    PARITY_THRESHOLDS_DB,
)
from training.conventions import COLOR_ORDERS, SIZE_MULTIPLE  # noqa: E402


def _sizes(text):
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"a comma-separated list of sizes, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return sizes


def _threshold(text):
    name, _, value = text.partition("=")
    if name not in PARITY_THRESHOLDS_DB or not value:
        raise argparse.ArgumentTypeError(f"VARIANT=DB with VARIANT one of {', '.join(PARITY_THRESHOLDS_DB)}")
    return name, float(value)


def add_profile_options(parser):
    parser.add_argument(
        "--profile-sizes",
        type=_sizes,
        default=DEFAULT_PROFILE_SIZES,
        metavar="N,N",
        help="square input sizes profiled in WASM, WebGL and onnxruntime "
        f"(default {','.join(map(str, DEFAULT_PROFILE_SIZES))}; add 1024 for the full profile, "
        "minutes per network on 2 cores; empty for none)",
    )
    parser.add_argument(
        "--webgl-sizes",
        type=_sizes,
        metavar="N,N",
        help="sizes profiled in Chromium/WebGL (default: the profile sizes; SwiftShader needs minutes per size)",
    )
    parser.add_argument(
        "--chromium",
        type=Path,
        help="Chromium for the WebGL profile "
        "(default: $MODELZOO_CHROMIUM or /usr/bin/chromium; if missing, WebGL figures are "
        "recorded as missing)",
    )


def profile_options(args, **more):
    from modelzoo.build import BuildOptions

    return BuildOptions(
        profile_sizes=args.profile_sizes, webgl_sizes=args.webgl_sizes, chromium=args.chromium, force=args.force, **more
    )


def add_build_options(parser):
    parser.add_argument("--output", required=True, type=Path, help="output folder (catalogue.json at its top)")
    parser.add_argument(
        "--shard-bytes",
        type=int,
        default=DEFAULT_SHARD_BYTES,
        help=f"TF.js weight shard size in bytes (default {DEFAULT_SHARD_BYTES}: 1 MiB, see docs)",
    )
    parser.add_argument(
        "--onnx-opset", type=int, default=DEFAULT_ONNX_OPSET, help=f"ONNX opset (default {DEFAULT_ONNX_OPSET})"
    )
    parser.add_argument(
        "--photos-dir", type=Path, help="sample photos for parity and preview (default: training.settings.photos_dir())"
    )
    parser.add_argument(
        "--parity-photos",
        type=int,
        default=PARITY_PHOTOS,
        help=f"photos compared per variant (default {PARITY_PHOTOS})",
    )
    parser.add_argument(
        "--threshold",
        type=_threshold,
        action="append",
        default=[],
        metavar="VARIANT=DB",
        help="parity threshold in dB PSNR of a variant (defaults: "
        + ", ".join(f"{k}={v:g}" for k, v in PARITY_THRESHOLDS_DB.items())
        + ")",
    )
    add_profile_options(parser)
    parser.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="package without measuring the profile (which takes minutes to an hour); "
        "`python -m modelzoo profile` measures it later",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even when the package is up to date")


def build_options(args):
    return profile_options(
        args,
        shard_bytes=args.shard_bytes,
        onnx_opset=args.onnx_opset,
        photos_dir=args.photos_dir,
        parity_photos=args.parity_photos,
        thresholds_db={**PARITY_THRESHOLDS_DB, **dict(args.threshold)},
        profile=args.profile,
    )


def add_build_arguments(parser):
    sources = parser.add_mutually_exclusive_group(required=True)
    sources.add_argument("--keras", type=Path, metavar="FILE", help="a .keras generator saved by training")
    sources.add_argument(
        "--saved-model", type=Path, metavar="DIR", help="a SavedModel folder (give --id and the input convention)"
    )
    sources.add_argument("--published", metavar="STYLE", help="a published CartoonGAN style (hayao, hosoda, ...)")
    parser.add_argument(
        "--weights-dir",
        type=Path,
        help="with --published: the style's .npy folder (default: training.settings.published_weights_dir(STYLE))",
    )
    parser.add_argument("--id", help="with --saved-model: the style id ([a-z0-9_-])")
    parser.add_argument("--name", help="with --saved-model: the display name")
    parser.add_argument(
        "--color-order",
        choices=COLOR_ORDERS,
        default=LIGHT_COLOR_ORDER,
        help=f"with --saved-model: the channel order (default {LIGHT_COLOR_ORDER})",
    )
    parser.add_argument(
        "--value-range",
        type=float,
        nargs=2,
        default=(-1.0, 1.0),
        metavar=("LOW", "HIGH"),
        help="with --saved-model: the value range of input and output (default -1 1)",
    )
    parser.add_argument(
        "--size-multiple",
        type=int,
        default=SIZE_MULTIPLE,
        help=f"with --saved-model: the multiple sides are padded to (default {SIZE_MULTIPLE})",
    )
    parser.add_argument("--signature", default="serving_default", help="with --saved-model: the signature")
    parser.add_argument(
        "--student",
        type=Path,
        metavar="FILE",
        help="the style's student (.keras, same style id), packaged beside the generator for phones",
    )
    add_build_options(parser)


def run_build(args):
    from modelzoo import sources
    from modelzoo.build import build

    if args.keras:
        source = sources.from_keras_file(args.keras)
    elif args.saved_model:
        if not args.id:
            raise ValueError("--saved-model needs --id")
        source = sources.from_saved_model(
            args.saved_model,
            args.id,
            args.color_order,
            args.value_range,
            args.size_multiple,
            name=args.name,
            signature=args.signature,
        )
    else:
        source = sources.from_published(args.published, args.weights_dir)
    student = sources.from_keras_file(args.student) if args.student else None
    data, package_dir, built = build(source, args.output, build_options(args), student=student)
    print(f"{data['id']} {data['version']}: {'built' if built else 'up to date'} at {package_dir}")
    return 0


def add_build_all_arguments(parser):
    parser.add_argument(
        "--pretrained-dir",
        type=Path,
        help="published weights, one folder per style (default: training.settings.pretrained_dir())",
    )
    parser.add_argument(
        "--light-dir",
        type=Path,
        help="the light generators' SavedModels (default: training.settings.shared_dir()/pretrained/light)",
    )
    parser.add_argument(
        "--students-dir",
        type=Path,
        help="the students packaged beside their teachers, <style>.keras (default: training.settings.students_dir(), "
        "$CARTOON_STUDENTS_DIR or training/students; styles without one have none)",
    )
    parser.add_argument("--styles", help="comma-separated subset of style ids to build (default: all six)")
    add_build_options(parser)


def run_build_all(args):
    from modelzoo import sources
    from modelzoo.build import build
    from training import settings
    from training.pretrained import STYLES

    light_dir = args.light_dir or settings.shared_dir() / "pretrained" / "light"
    students_dir = args.students_dir or settings.students_dir()
    wanted = set(args.styles.split(",")) if args.styles else None
    makers = [
        (style, lambda s=style: sources.from_published(s, settings.published_weights_dir(s, args.pretrained_dir)))
        for style in STYLES
    ]
    makers += [(s.id, lambda s=s: s) for s in sources.light_sources(light_dir)]
    makers = [(style, make) for style, make in makers if wanted is None or style in wanted]
    if wanted and wanted - {style for style, _ in makers}:
        raise ValueError(f"unknown styles: {', '.join(sorted(wanted - {s for s, _ in makers}))}")

    options = build_options(args)
    summary = []
    for k, (style, make) in enumerate(makers, 1):
        step = f"[{k}/{len(makers)}]"
        started = time.monotonic()
        print(f"{step} {style}: packaging", flush=True)
        student_path = students_dir / f"{style}.keras"
        student = sources.from_keras_file(student_path) if student_path.is_file() else None
        data, _, built = build(
            make(),
            args.output,
            options,
            log=lambda line, step=step: print(f"{step} {line}", flush=True),
            student=student,
        )
        print(f"{step} {style}: {'built' if built else 'up to date'} in {time.monotonic() - started:.0f} s", flush=True)
        summary.append((style, data["version"], built))
    for style, version, built in summary:
        print(f"{style:15} {version}  {'built' if built else 'up to date'}")
    print(f"catalogue: {args.output / 'catalogue.json'}")
    return 0


def add_profile_arguments(parser):
    parser.add_argument("path", type=Path, help="an output folder of build-all (with catalogue.json)")
    parser.add_argument("--styles", help="comma-separated subset of style ids to measure (default: every style)")
    add_profile_options(parser)
    parser.add_argument("--force", action="store_true", help="measure again the packages that have figures")


def run_profile(args):
    from modelzoo.build import profile_zoo

    styles = [s for s in args.styles.split(",") if s] if args.styles else None
    measured = profile_zoo(args.path, profile_options(args), styles, log=lambda line: print(line, flush=True))
    print(f"{len(measured)} package(s) measured in {args.path}")
    return 0


def add_verify_arguments(parser):
    parser.add_argument("path", type=Path, help="an output folder of build-all (with catalogue.json)")


def run_verify(args):
    from modelzoo.verify import verify

    problems = verify(args.path)
    for path, reason in problems:
        print(f"{args.path / path}: {reason}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {args.path}", file=sys.stderr)
        return 1
    print(f"{args.path}: every file matches its size and sha256")
    return 0


def add_prune_arguments(parser):
    parser.add_argument("path", type=Path, help="an output folder of build-all")
    parser.add_argument(
        "--keep", type=int, default=1, help="versions kept per style, the catalogue's current one included (default 1)"
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")


def run_prune(args):
    from modelzoo.verify import prune

    if args.keep < 1:
        raise ValueError("--keep must be at least 1 (the current version is never removed)")
    removed = prune(args.path, keep=args.keep, dry_run=args.dry_run)
    for path in removed:
        print(f"{'would remove' if args.dry_run else 'removed'} {path}")
    print(f"{len(removed)} folder(s) {'to remove' if args.dry_run else 'removed'}")
    return 0


COMMANDS = {
    "build": (add_build_arguments, run_build, "package one generator (.keras, SavedModel or published style)"),
    "build-all": (
        add_build_all_arguments,
        run_build_all,
        "package the four published styles and the two light generators into one catalogue",
    ),
    "profile": (
        add_profile_arguments,
        run_profile,
        "measure the profile (WASM, WebGL, onnxruntime) of the packages built without it",
    ),
    "verify": (add_verify_arguments, run_verify, "check every file of every package against its size and sha256"),
    "prune": (add_prune_arguments, run_prune, "remove old versions of each style (and interrupted builds)"),
}


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m modelzoo", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (add_arguments, _, help_text) in COMMANDS.items():
        add_arguments(subparsers.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return run_command(args)
    except KeyboardInterrupt:
        print("\nstopped by Ctrl-C", file=sys.stderr)
        return 128 + signal.SIGINT


def run_command(args):
    from modelzoo.convert import ConversionError
    from modelzoo.node import NodeError
    from modelzoo.parity import ParityError

    try:
        return COMMANDS[args.command][1](args) or 0
    except (ValueError, FileNotFoundError, ParityError, ConversionError, NodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
