"""Animated GIFs on the server: time and peak memory of a GIF job against its frame count.

    .venv/bin/python bench/bench_gif.py [--sizes 480x360,960x720] [--frames 10,50,100]
        [--long-side 512] [--zoo modelzoo-build --style light_paprika] [--work runs/bench-gif]

Each row is one fresh process running `backend.gifs.stylize_animation` on a GIF of that many
frames, as the job runner does (decode a frame, fit it to `--long-side`, stylize, quantize, write,
then the next frame). Without `--zoo` the stylization is the identity, so the figures are those of
the GIF machinery alone; with `--zoo DIR --style ID` it is the style's ONNX generator through
`backend.inference.Generators`, as a job runs. The GIFs are written by Pillow (delta frames, as other
software writes them) from a shared sample photo panned across the frames.

Printed: the input's size, frames and bytes; the output's size and bytes; wall and CPU seconds,
milliseconds of CPU per frame; the process's peak RSS (VmHWM) and its growth over the start-up.
Memory should not grow with the frame count: frames are handled one at a time.

Measured on the 2-core development machine (busy with five other engineers' work: times are
pessimistic), the GIF machinery alone (`bench/bench_gif.py`, identity stylization, long side 512):

         input frames   in KB    output  out KB  wall s  CPU s CPU ms/frame  peak MB growth MB
       480x360     10    1799   480x360    1800    0.60   0.20         19.8       76       6.3
       480x360     50    9013   480x360    9014    2.45   0.95         19.1       84      14.6
       480x360    100   18305   480x360   18306    4.66   1.91         19.1       86      15.8
       960x720     10    6061   512x384    2065    1.98   1.29        129.4       91      20.6
       960x720     50   30055   512x384   10252    5.48   4.60         92.0       98      27.8
       960x720    100   60666   512x384   20654   20.84  16.19        161.9      100      29.5

Peak memory grows by about 10 MB from 10 to 100 frames (holding the frames would take 50 to 200 MB
more): one frame at a time. The machinery costs 20 ms a frame at 480x360 and 90-160 ms when frames
are shrunk from 960x720 (bicubic resize, then quantization to 256 colours); a model adds its own
time per frame, as for a photo of the frame's size (backend/inference.py: about 1.1 s for the
published generator at 512x512), so a job of F frames takes about F times a photo's. (The
larger inputs here exceed the upload limits, 10 MiB and GIF_MAX_PIXELS, on purpose.)
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def vm_hwm():
    """This process's peak resident memory in bytes (VmHWM, since it started)."""
    line = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    return int(line.split()[1]) * 1024


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_gif(path, width, height, frames):
    """A GIF of `frames` frames, a sample photo panned across them, 40 ms a frame, looping."""
    from PIL import Image, ImageOps

    from training import settings

    photo_path = sorted(settings.photos_dir().glob("*.jpg"))[0]
    with Image.open(photo_path) as photo:
        wide = ImageOps.fit(photo.convert("RGB"), (width * 2, height), Image.BICUBIC)
    pictures = (wide.crop((step, 0, step + width, height)) for step in range(0, width, max(1, width // frames)))
    pictures = [next(pictures) for _ in range(frames)]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=40, loop=0)


def child(args):
    """One measurement, printed as a JSON line."""
    import numpy as np
    from PIL import Image

    from backend import gifs

    if args.zoo:
        from backend.inference import Generators
        from backend.zoo import ModelZoo

        zoo = ModelZoo(args.zoo)
        zoo.refresh(force=True)
        style = zoo.get(args.style)
        if style is None:
            raise SystemExit(f"no style {args.style!r} in {args.zoo}")
        generators = Generators("onnx", 1, 1024)
        generators.run(style, np.zeros((64, 64, 3), np.uint8))  # loaded before the measurement

        def stylize_rgb(rgb):
            return generators.run(style, rgb)
    else:

        def stylize_rgb(rgb):
            return rgb.copy()

    start_memory, start_wall, start_cpu = vm_hwm(), time.perf_counter(), cpu_seconds()
    target = Path(args.work) / f"out-{Path(args.child).stem}.gif"
    with open(target, "wb") as file:
        width, height = gifs.stylize_animation(args.child, file, stylize_rgb, args.long_side)
    wall, cpu = time.perf_counter() - start_wall, cpu_seconds() - start_cpu
    with Image.open(target) as output:
        frames = output.n_frames
    print(
        json.dumps(
            {
                "output": f"{width}x{height}",
                "frames": frames,
                "output_bytes": target.stat().st_size,
                "wall_s": wall,
                "cpu_s": cpu,
                "peak_mb": vm_hwm() / 2**20,
                "growth_mb": (vm_hwm() - start_memory) / 2**20,
            }
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="480x360,960x720")
    parser.add_argument("--frames", default="10,50,100")
    parser.add_argument("--long-side", type=int, default=512)
    parser.add_argument("--zoo", help="a model zoo folder (default: no model, the GIF machinery alone)")
    parser.add_argument("--style", default="light_paprika")
    parser.add_argument("--work", default=str(ROOT / "runs" / "bench-gif"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    Path(args.work).mkdir(parents=True, exist_ok=True)
    stylizer = f"{args.style} (ONNX)" if args.zoo else "identity (GIF machinery alone)"
    print(f"stylization: {stylizer}; long side {args.long_side}")
    print(
        f"{'input':>10} {'frames':>6} {'in KB':>7} {'output':>9} {'out KB':>7} {'wall s':>7} {'CPU s':>6} "
        f"{'CPU ms/frame':>12} {'peak MB':>8} {'growth MB':>9}"
    )
    for size in args.sizes.split(","):
        width, height = (int(side) for side in size.split("x"))
        for frames in (int(count) for count in args.frames.split(",")):
            source = Path(args.work) / f"{width}x{height}-{frames}.gif"
            if not source.is_file():
                write_gif(source, width, height, frames)
            command = [
                sys.executable,
                __file__,
                "--child",
                str(source),
                "--long-side",
                str(args.long_side),
                "--work",
                args.work,
                "--style",
                args.style,
            ] + (["--zoo", args.zoo] if args.zoo else [])
            result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=os.environ)
            if result.returncode:
                raise SystemExit(result.stderr)
            row = json.loads(result.stdout.strip().splitlines()[-1])
            print(
                f"{size:>10} {row['frames']:>6} {source.stat().st_size / 1024:>7.0f} {row['output']:>9} "
                f"{row['output_bytes'] / 1024:>7.0f} {row['wall_s']:>7.2f} {row['cpu_s']:>6.2f} "
                f"{1000 * row['cpu_s'] / row['frames']:>12.1f} {row['peak_mb']:>8.0f} {row['growth_mb']:>9.1f}"
            )


if __name__ == "__main__":
    main()
