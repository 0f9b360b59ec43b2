"""More whole pictures to distil from: `python -m training crop-photos`.

    python -m training crop-photos --photos ../shared/photos --output runs/crops [--per-photo 1] [--seed 0]
        [--colour 0]

writes random crops of the photos `distill` trains on (never of the held-out ones, `split_photos`)
as JPEGs, for `distill --extra-photos runs/crops`. A crop is a new whole picture to a teacher: its
instance normalization gives each picture its own palette, so the students' context branch sees
more whole-picture statistics than the photos alone give (docs/students.md). Each crop keeps a
random `smallest` to `largest` part of each side of its photo, at a random place; the same photos,
seed and sizes give the same crops. With `--colour A` each crop's colours also change
(`colour_shift`: a random gain of 1 - A to 1 + A per channel and a random gamma of 1 - A to 1 + A),
so that the teachers, whose palette follows the whole picture, show the students how their palette
answers a photo's exposure and white balance.

The folder's `crops.json` names each crop's photo and that photo's sha256, so `distill` refuses
a crop of a photo that has been held out since (photos added to the folder move the split).
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from training.conventions import sha256_file
from training.imaging import load_photo

JPEG_QUALITY = 95
SMALLEST, LARGEST = 0.55, 0.80  # the part of each side of a photo that a crop keeps
# {"seed", "per_photo", "colour", "crops": {crop name: {"photo", "photo_sha256", "box"[, "gains", "gamma"]}}}
MANIFEST = "crops.json"


def crop_box(width, height, rng, smallest=SMALLEST, largest=LARGEST):
    """`(left, top, right, bottom)`: a random crop keeping `smallest` to `largest` of each side (to
    the nearest pixel, at least one)."""
    if not 0 < smallest <= largest <= 1:
        raise ValueError(f"crop sides must satisfy 0 < smallest <= largest <= 1, got {smallest} and {largest}")
    crop_width = max(1, round(width * rng.uniform(smallest, largest)))
    crop_height = max(1, round(height * rng.uniform(smallest, largest)))
    left = int(rng.integers(0, width - crop_width + 1))
    top = int(rng.integers(0, height - crop_height + 1))
    return left, top, left + crop_width, top + crop_height


def colour_shift(pixels, gains, gamma):
    """`pixels` (uint8, H x W x 3) with `255 * gain * (value / 255) ** gamma` in each channel,
    rounded and clipped to uint8."""
    values = np.asarray(gains, np.float64) * (np.asarray(pixels, np.float64) / 255) ** gamma
    return np.clip(np.rint(255 * values), 0, 255).astype(np.uint8)


def crop_photos(photos_dir, output_dir, per_photo=1, seed=0, smallest=SMALLEST, largest=LARGEST, colour=0.0):
    """Writes `per_photo` crops of each training photo of `photos_dir` into `output_dir` (a new
    folder, written whole or not at all) as `<photo>-crop<N>.jpg`; returns their paths. Which
    photos are held out is decided by the folder as it is now: crop again after adding photos.
    `colour` > 0 also shifts each crop's colours (`colour_shift`, gains and gamma in 1 ± colour)."""
    from training.distill import split_photos  # imports Keras: only when crops are made

    if int(per_photo) != per_photo or per_photo < 1:
        raise ValueError(f"--per-photo must be a positive integer, got {per_photo!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {seed!r}")
    if not 0 <= colour < 1:
        raise ValueError(f"--colour must be at least 0 and below 1, got {colour!r}")
    per_photo, seed = int(per_photo), int(seed)
    output = Path(output_dir)
    if output.exists():
        raise ValueError(f"{output} exists: remove it or choose another folder (crops go into a new folder)")
    training, _ = split_photos(photos_dir)
    rng = np.random.default_rng(seed)
    colour_rng = np.random.default_rng([seed, 1])  # its own draws: with colour or without, the same boxes
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{output.name}.partial-", dir=output.parent))
    try:
        partial.chmod(0o777 & ~current_umask())  # as a folder made with mkdir (mkdtemp's is private)
        sources = {}
        for path in training:
            photo, digest = load_photo(path), sha256_file(path)
            for number in range(1, per_photo + 1):
                box = crop_box(*photo.size, rng, smallest, largest)
                name = f"{path.stem}-crop{number}.jpg"
                sources[name] = {"photo": path.name, "photo_sha256": digest, "box": list(box)}
                crop = photo.crop(box)
                if colour:
                    gains = colour_rng.uniform(1 - colour, 1 + colour, 3)
                    gamma = colour_rng.uniform(1 - colour, 1 + colour)
                    crop = Image.fromarray(colour_shift(np.asarray(crop), gains, gamma))
                    sources[name].update(gains=[round(float(gain), 6) for gain in gains], gamma=round(float(gamma), 6))
                crop.save(partial / name, quality=JPEG_QUALITY)
        manifest = {"seed": seed, "per_photo": per_photo, "colour": colour, "crops": sources}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        partial.rename(output)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return sorted(path for path in output.iterdir() if path.name != MANIFEST)


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def crop_sources(folder):
    """`{crop name: sha256 of its photo}` from the `crops.json` of `folder`; `{}` for a folder
    without one (photos from elsewhere). A damaged manifest is refused."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {}
    try:
        sources = {name: crop["photo_sha256"] for name, crop in json.loads(path.read_text())["crops"].items()}
        if not all(isinstance(digest, str) for digest in sources.values()):
            raise TypeError("photo_sha256 must be a string")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path}: not a crops manifest of crop-photos ({error!r}); make the crops again") from error
    return sources


def add_arguments(parser):
    parser.add_argument("--photos", required=True, help="the folder `distill --photos` trains on")
    parser.add_argument("--output", required=True, help="a new folder for the crops")
    parser.add_argument("--per-photo", type=int, default=1, help="crops of each photo (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    parser.add_argument(
        "--colour",
        type=float,
        default=0.0,
        help="shift each crop's colours: gains and gamma in 1 ± this (default: %(default)s, unchanged)",
    )


def run(args):
    written = crop_photos(args.photos, args.output, args.per_photo, args.seed, colour=args.colour)
    print(f"{len(written)} crops of the training photos of {args.photos} in {args.output}")
    return 0
