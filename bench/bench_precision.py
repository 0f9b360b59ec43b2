"""Seconds per distillation step under each precision of `python -m training distill --precision`.

    .venv/bin/python bench/bench_precision.py [--architecture sep-m] [--context-size 64]
        [--styles 4] [--batch-size 8] [--crop-size 160] [--steps 5] [--gradient-weight 1]
        [--ssim-weight 0] [--precisions float32 mixed_bfloat16]

`--gradient-weight` and `--ssim-weight` set the loss's terms as `distill`'s flags of those names do,
so the cost of a term is the difference of two runs (`--precisions float32 --ssim-weight 0`, then 1).

For each precision a fresh student of the run's shape (one head per style, the distillation loss
of `training.distill`, Adam) is built under that Keras dtype policy, one step is run to trace and
compile it, then `--steps` steps on the same random batch are timed; the CPU time of the process
is printed beside the wall time, since wall time grows when other processes share the cores. Each
precision runs in a child process of its own, so that one's threads and caches do not weigh on the
next. Prints figures; not a test.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def time_steps(args, precision):
    """`(wall seconds, CPU seconds)` per step of a student trained under `precision`."""
    import keras
    import numpy as np

    from training.distill import DistillSettings, build_run_student, run_losses

    styles = tuple(f"style{index}" for index in range(args.styles))
    settings = DistillSettings(
        styles=styles,
        color_order="BGR",
        architecture=args.architecture,
        crop_size=args.crop_size,
        batch_size=args.batch_size,
        context_size=args.context_size,
        precision=precision,
        gradient_weight=args.gradient_weight,
        ssim_weight=args.ssim_weight,
    )
    student = build_run_student(settings)
    student.compile(optimizer=keras.optimizers.Adam(), loss=run_losses(settings))
    rng = np.random.default_rng(0)
    shape = (args.batch_size, args.crop_size, args.crop_size, 3)
    image = rng.uniform(-1, 1, shape).astype(np.float32)
    inputs = image
    if args.context_size:
        context = rng.uniform(-1, 1, (args.batch_size, args.context_size, args.context_size, 3)).astype(np.float32)
        inputs = [image, context]
    targets = {style: rng.uniform(-1, 1, shape).astype(np.float32) for style in styles}
    targets = targets if len(styles) > 1 else targets[styles[0]]
    student.train_on_batch(inputs, targets)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        student.train_on_batch(inputs, targets)
    return (time.perf_counter() - wall) / args.steps, (time.process_time() - cpu) / args.steps


def main(argv=None):
    from training.distill import PRECISIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architecture", default="sep-m")
    parser.add_argument("--context-size", type=int, default=64)
    parser.add_argument("--styles", type=int, default=4, help="heads (styles) of the student")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop-size", type=int, default=160)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per precision")
    parser.add_argument("--gradient-weight", type=float, default=1.0)
    parser.add_argument("--ssim-weight", type=float, default=0.0)
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=PRECISIONS, help="(default: all)")
    parser.add_argument("--child-precision", choices=PRECISIONS, help=argparse.SUPPRESS)  # a child's precision
    args = parser.parse_args(argv)
    if args.child_precision:
        print(json.dumps(time_steps(args, args.child_precision)))
        return 0
    import keras

    print(
        f"{args.architecture}, {args.styles} styles, context {args.context_size}, batch {args.batch_size} "
        f"of {args.crop_size}², loss L1 + {args.gradient_weight} gradients + {args.ssim_weight} (1 - SSIM), "
        f"Keras {keras.__version__} ({keras.backend.backend()} backend), {os.cpu_count()} cores"
    )
    for precision in args.precisions:
        child = [
            sys.executable,
            __file__,
            *(argv if argv is not None else sys.argv[1:]),
            "--child-precision",
            precision,
        ]
        result = subprocess.run(child, capture_output=True, text=True, check=False)
        if result.returncode:
            print(f"  {precision:15s} failed: {result.stderr.strip().splitlines()[-1:]}")
            continue
        wall, cpu = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"  {precision:15s} {wall:6.2f} s a step ({cpu:6.2f} s of CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
