"""How much of a student's distance to its teacher is one colour transform of the whole picture.

    python bench/student_colour_gap.py                     # the committed students, every style
    python bench/student_colour_gap.py --style hayao --students runs/students2/students

A published generator normalizes its features over the whole picture (instance normalization), so
its palette follows the statistics of the whole photo; a student, built to be stylized in tiles,
sees only its receptive field. For each held-out photo (`training.distill.split_photos`, resized to
`--long-side`) this fits, by least squares, one affine colour transform per picture (a 3x3 matrix
and an offset, `training.quality.colour_fit`) from the student's picture to the teacher's, and
prints PSNR and SSIM before and after: the part of the gap that whole-picture statistics would
close. The same for the untouched photo (the floor). A second table gives the student's figures on
the training photos, plain and colour fitted: a student that matches its teacher's palette there but
not on the held-out photos has learnt those photos' palettes rather than the rule.

"predicted" is what a cheap mechanism gets of it: the colour transform predicted from the photo's
own statistics (per-channel mean, spread and 10th / 90th percentiles) by a ridge regression fitted
on the training photos (their teacher pictures computed once into `--cache`, which `python -m
training distill --cache` shares), and applied to the student's picture. Figures, not a test.
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from training import settings  # noqa: E402
from training.distill import cache_teacher_pictures, split_photos  # noqa: E402
from training.imaging import load_photo, resize_long_side  # noqa: E402
from training.pretrained import STYLES, import_published  # noqa: E402
from training.quality import apply_colour_transform, colour_fit, colour_transform, psnr, ssim  # noqa: E402
from training.stylize import Stylizer  # noqa: E402

RIDGE = 1.0  # on standardized statistics


def photo_statistics(photo):
    """Per-channel mean, standard deviation and 10th / 90th percentiles of an RGB uint8 photo, in [0, 1]."""
    pixels = np.asarray(photo, dtype=np.float64).reshape(-1, 3) / 255
    return np.concatenate([pixels.mean(0), pixels.std(0), *np.percentile(pixels, [10, 90], axis=0)])


def fit_colour_predictor(photos, students, teachers):
    """`predict(photo) -> colour transform`: a ridge regression from `photo_statistics` to the
    colour transform from the student's picture to the teacher's, over the given pictures."""
    features = np.stack([photo_statistics(photo) for photo in photos])
    targets = np.stack([colour_transform(made, wanted).ravel() for made, wanted in zip(students, teachers)])
    centre, scale = features.mean(0), features.std(0) + 1e-9
    design = np.concatenate([(features - centre) / scale, np.ones((len(features), 1))], axis=1)
    penalty = RIDGE * np.diag([1.0] * features.shape[1] + [0.0])  # the intercept is not shrunk
    weights = np.linalg.solve(design.T @ design + penalty, design.T @ targets)

    def predict(photo):
        row = np.append((photo_statistics(photo) - centre) / scale, 1.0)
        return (row @ weights).reshape(4, 3)

    return predict


def plain_and_fitted(made, wanted):
    """PSNR and SSIM of a picture against the wanted one, as it is and with its colour fitted."""
    fitted = colour_fit(made, wanted)
    return psnr(made, wanted), psnr(fitted, wanted), ssim(made, wanted), ssim(fitted, wanted)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", action="append", choices=sorted(STYLES), help="(default: every published style)")
    parser.add_argument("--students", default=str(settings.students_dir()), help="(default: %(default)s)")
    parser.add_argument("--long-side", type=int, default=512, help="(default: %(default)s)")
    parser.add_argument("--photos", default=str(settings.photos_dir()), help="(default: %(default)s)")
    parser.add_argument(
        "--cache",
        default=str(settings.REPOSITORY_ROOT / "runs" / "cache"),
        help="teacher pictures of the training photos (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    training_photos, held_out = split_photos(args.photos)
    photos = [np.asarray(resize_long_side(load_photo(path), args.long_side)) for path in held_out]
    rows, training_rows = [], []
    for style in args.style or list(STYLES):
        model, metadata = import_published(style)
        teacher = Stylizer(model, metadata)
        student = Stylizer.load(Path(args.students) / f"{style}.keras")
        pairs = cache_teacher_pictures(
            {style: (model, metadata)}, training_photos, (args.long_side,), Path(args.cache), f"{style} training photos"
        )
        made_training = [student(photo) for photo, _ in tqdm(pairs, desc=f"{style} student, training photos")]
        wanted_training = [pictures[style] for _, pictures in pairs]
        predict = fit_colour_predictor([photo for photo, _ in pairs], made_training, wanted_training)
        figures = [plain_and_fitted(made, wanted) for made, wanted in zip(made_training, wanted_training)]
        training_rows.append((style, [statistics.fmean(column) for column in zip(*figures)]))
        figures = []
        for photo in tqdm(photos, desc=style):
            wanted, made = teacher(photo), student(photo)
            fitted, predicted = colour_fit(made, wanted), apply_colour_transform(made, predict(photo))
            figures.append(
                [
                    psnr(made, wanted),
                    psnr(fitted, wanted),
                    psnr(predicted, wanted),
                    ssim(made, wanted),
                    ssim(fitted, wanted),
                    ssim(predicted, wanted),
                    psnr(photo, wanted),
                    psnr(colour_fit(photo, wanted), wanted),
                ]
            )
        rows.append((style, [statistics.fmean(column) for column in zip(*figures)]))
    print(f"\nstudent and photo against the teacher ({len(photos)} held-out photos, long side {args.long_side})\n")
    print(
        "| style | student | student, colour fitted | student, colour predicted | photo | photo, colour fitted |\n"
        "|---|---|---|---|---|---|"
    )
    for style, (made, fitted, predicted, made_ssim, fitted_ssim, predicted_ssim, photo, photo_fitted) in rows:
        print(
            f"| {style} | {made:.2f} dB / {made_ssim:.3f} | {fitted:.2f} dB / {fitted_ssim:.3f} "
            f"| {predicted:.2f} dB / {predicted_ssim:.3f} | {photo:.2f} dB | {photo_fitted:.2f} dB |"
        )
    print(f"\nthe student on the {len(training_photos)} training photos (long side {args.long_side})\n")
    print("| style | student | student, colour fitted |\n|---|---|---|")
    for style, (made, fitted, made_ssim, fitted_ssim) in training_rows:
        print(f"| {style} | {made:.2f} dB / {made_ssim:.3f} | {fitted:.2f} dB / {fitted_ssim:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
