"""How far a published generator's picture moves when the photo moves by a few pixels: the teacher
against itself, the yardstick for the students' PSNR and SSIM targets (issue 9: 26 dB, 0.85).

    python bench/teacher_shift.py                          # every published style, shifts 1 and 4
    python bench/teacher_shift.py --style hayao --shifts 1 2 --long-side 384

For each held-out photo (`training.distill.split_photos`, resized to `--long-side`), the teacher
stylizes the photo and the photo without its first `d` rows and columns; the two pictures are
compared on the pixels they share. A network whose output only followed the scene would give the
same pixels (up to the picture's edges); CartoonGAN's stride-2 down-sampling and its instance
normalization over the whole picture make it follow the pixel grid and the framing too. A student
that reproduces the scene but not that grid is judged against a teacher that disagrees with itself
this much. Prints a Markdown table of mean PSNR and SSIM per style and shift. Figures, not a test.
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
from training.distill import split_photos  # noqa: E402
from training.imaging import load_photo, resize_long_side  # noqa: E402
from training.pretrained import STYLES, import_published  # noqa: E402
from training.quality import shift_agreement  # noqa: E402
from training.stylize import Stylizer  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", action="append", choices=sorted(STYLES), help="(default: every published style)")
    parser.add_argument("--shifts", type=int, nargs="+", default=[1, 4], help="pixels (default: 1 4)")
    parser.add_argument("--long-side", type=int, default=512, help="(default: %(default)s)")
    parser.add_argument("--photos", default=str(settings.photos_dir()), help="(default: %(default)s)")
    args = parser.parse_args(argv)
    photos = [np.asarray(resize_long_side(load_photo(path), args.long_side)) for path in split_photos(args.photos)[1]]
    rows = []
    for style in args.style or list(STYLES):
        stylizer = Stylizer(*import_published(style))
        for shift in args.shifts:
            figures = [shift_agreement(stylizer, photo, shift) for photo in tqdm(photos, desc=f"{style} +{shift} px")]
            rows.append(
                (
                    style,
                    shift,
                    statistics.fmean(value for value, _ in figures),
                    statistics.fmean(value for _, value in figures),
                )
            )
    print(f"\nteacher vs itself, photo moved by d px ({len(photos)} photos, long side {args.long_side})\n")
    print("| style | d | PSNR | SSIM |\n|---|---|---|---|")
    for style, shift, mean_psnr, mean_ssim in rows:
        print(f"| {style} | {shift} | {mean_psnr:.2f} dB | {mean_ssim:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
