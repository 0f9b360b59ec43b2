"""Comparing a generator with a reference generator: `python -m training evaluate`.

    python -m training evaluate --model training/students/hayao.keras --reference models/hayao.keras \\
        --photos ../shared/photos --held-out [--long-side 512] [--output runs/evaluate]

For each photo (resized to `--long-side`): PSNR and SSIM of the model's picture against the
reference's, the same for the untouched photo (the floor a model must beat), and both latencies.
Prints a table with the means, and writes `OUTPUT/<model name>/grid.png` (photo | reference |
model, one row per photo) and `figures.json` (every figure).
"""

import json
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from training.demo import comparison_grid
from training.imaging import load_photo, resize_long_side
from training.quality import psnr, ssim
from training.stylize import Stylizer, list_inputs

DEFAULT_LONG_SIDE = 512
GRID_PHOTOS = 6


def timed(stylizer, rgb):
    started = time.perf_counter()
    picture = stylizer(rgb)
    return picture, time.perf_counter() - started


def evaluate(model, reference, photos, long_side=DEFAULT_LONG_SIDE):
    """Per-photo figures of `model` against `reference` (two `Stylizer`s) on photo paths.

    Returns `(rows, pictures)`: one dict of figures per photo, and `(photo, reference, model)`
    uint8 arrays for the first `GRID_PHOTOS` photos. The first photo is run twice by each
    generator so that latencies leave out the one-time graph tracing.
    """
    if not photos:
        raise ValueError("no photos to evaluate on")
    rows, pictures = [], []
    for index, path in enumerate(photos):
        photo = np.asarray(resize_long_side(load_photo(path), long_side))
        if index == 0:
            model(photo), reference(photo)
        made, model_seconds = timed(model, photo)
        wanted, reference_seconds = timed(reference, photo)
        rows.append(
            {
                "photo": Path(path).name,
                "size": f"{photo.shape[1]}x{photo.shape[0]}",
                "psnr_db": round(psnr(made, wanted), 3),
                "ssim": round(ssim(made, wanted), 4),
                "photo_psnr_db": round(psnr(photo, wanted), 3),
                "photo_ssim": round(ssim(photo, wanted), 4),
                "model_seconds": round(model_seconds, 4),
                "reference_seconds": round(reference_seconds, 4),
            }
        )
        if len(pictures) < GRID_PHOTOS:
            pictures.append((photo, wanted, made))
    return rows, pictures


def summarize(rows):
    """Means of the figures, latencies as medians."""
    summary = {
        key: round(statistics.fmean(row[key] for row in rows), 4)
        for key in ("psnr_db", "ssim", "photo_psnr_db", "photo_ssim")
    }
    for key in ("model_seconds", "reference_seconds"):
        summary[key] = round(statistics.median(row[key] for row in rows), 4)
    summary["photos"] = len(rows)
    return summary


def format_table(rows, summary):
    header = (
        f"{'photo':<14} {'size':>9} {'PSNR dB':>8} {'SSIM':>6} {'photo dB':>9} {'photo SSIM':>10}"
        f" {'model s':>8} {'ref s':>7}"
    )
    lines = [header]
    for row in [*rows, {"photo": "mean", "size": "", **summary}]:
        lines.append(
            f"{row['photo']:<14} {row['size']:>9} {row['psnr_db']:>8.2f} {row['ssim']:>6.3f}"
            f" {row['photo_psnr_db']:>9.2f} {row['photo_ssim']:>10.3f}"
            f" {row['model_seconds']:>8.3f} {row['reference_seconds']:>7.3f}"
        )
    return "\n".join(lines)


def model_label(path):
    """A model file named by its folder and name (`models/hayao.keras`, `students/hayao.keras`):
    a teacher and its student share their file name."""
    return "/".join(Path(path).parts[-2:])


def add_arguments(parser):
    parser.add_argument("--model", required=True, help="the generator to evaluate (.keras)")
    parser.add_argument("--reference", required=True, help="the generator it is compared with (.keras)")
    parser.add_argument("--photos", required=True, help="a photo or a folder of photos")
    parser.add_argument("--held-out", action="store_true", help="only the photos `distill` holds out of a folder")
    parser.add_argument("--long-side", type=int, default=DEFAULT_LONG_SIDE, help="(default: %(default)s)")
    parser.add_argument(
        "--output", default="runs/evaluate", help="folder for the grid and figures (default: %(default)s)"
    )


def run(args):
    if args.long_side < 8:
        raise ValueError(f"--long-side must be at least 8 pixels, got {args.long_side}")
    if args.held_out:
        from training.distill import split_photos

        photos = split_photos(args.photos)[1]
    else:
        photos = list_inputs(args.photos)
    model, reference = Stylizer.load(args.model), Stylizer.load(args.reference)
    rows, pictures = evaluate(model, reference, photos, args.long_side)
    summary = summarize(rows)
    print(format_table(rows, summary))
    output = Path(args.output) / Path(args.model).stem
    output.mkdir(parents=True, exist_ok=True)
    grid = comparison_grid(
        [[Image.fromarray(image) for image in triple] for triple in pictures],
        ["photo", f"reference: {model_label(args.reference)}", f"model: {model_label(args.model)}"],
    )
    grid.save(output / "grid.png")
    figures = {
        "model": str(args.model),
        "reference": str(args.reference),
        "long_side": args.long_side,
        "summary": summary,
        "photos": rows,
    }
    (output / "figures.json").write_text(json.dumps(figures, indent=2))
    print(f"grid: {output / 'grid.png'}, figures: {output / 'figures.json'}")
    return 0
