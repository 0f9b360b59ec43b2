"""Photos in and out of a generator: loading sample photos, the input convention, the preview."""

from pathlib import Path

import numpy as np
from PIL import Image

from modelzoo.constants import PHOTO_SUFFIXES, PREVIEW_QUALITY
from training.conventions import from_value_range, swap_channels
from training.imaging import to_model_input


def sample_photos(photos_dir, count):
    """The first `count` photos of `photos_dir` in name order (deterministic)."""
    photos_dir = Path(photos_dir)
    photos = sorted(p for p in photos_dir.glob("*") if p.suffix.lower() in PHOTO_SUFFIXES)
    if len(photos) < count:
        raise FileNotFoundError(f"{photos_dir}: {count} sample photos needed, found {len(photos)}")
    return photos[:count]


def fit_size(width, height, long_side, multiple):
    """`(width, height)` scaled so that the long side is `long_side`, each a multiple of `multiple`."""
    scale = long_side / max(width, height)
    return tuple(max(multiple, int(round(side * scale / multiple)) * multiple) for side in (width, height))


def load_photo(path, long_side, multiple):
    """An RGB photo as float32 HxWx3 in [0, 1], resized to `long_side` and sides multiple of `multiple`."""
    with Image.open(path) as image:
        image = image.convert("RGB").resize(fit_size(*image.size, long_side, multiple), Image.LANCZOS)
        return np.asarray(image, dtype=np.float32) / 255.0


def to_network(rgb, convention):
    """An RGB [0, 1] HxWx3 image as the 1xHxWx3 float32 input a generator expects."""
    return to_model_input(np.asarray(rgb) * 255.0, convention["color_order"], convention["value_range"])


def to_unit(output, convention):
    """A generator's output (its value range) mapped to [0, 1], clipped, in its own channel order."""
    unit = from_value_range(np.asarray(output, dtype=np.float64), convention["value_range"], peak=1.0)
    return np.clip(unit, 0.0, 1.0)


def from_network(output, convention):
    """A 1xHxWx3 generator output as an RGB [0, 1] HxWx3 image."""
    return swap_channels(to_unit(output, convention)[0], convention["color_order"])


def write_jpeg(rgb, path, long_side, quality=PREVIEW_QUALITY):
    """Writes an RGB [0, 1] image as a JPEG whose long side is at most `long_side`."""
    image = Image.fromarray(np.round(rgb * 255).astype(np.uint8))
    image.thumbnail((long_side, long_side), Image.LANCZOS)
    image.save(path, "JPEG", quality=quality, optimize=True)
    return Path(path)
