"""Photos in and out of a generator: loading sample photos, the input convention, the preview."""

from pathlib import Path

import numpy as np
from PIL import Image

from modelzoo.constants import PHOTO_SUFFIXES, PREVIEW_QUALITY
from training.conventions import from_value_range, swap_channels
from training.imaging import context_input, load_photo, resize_long_side, to_model_input


def sample_photo_paths(photos_dir, count):
    """The paths of the first `count` photos of `photos_dir` in name order (deterministic)."""
    photos_dir = Path(photos_dir)
    photos = sorted(p for p in photos_dir.glob("*") if p.suffix.lower() in PHOTO_SUFFIXES)
    if len(photos) < count:
        raise FileNotFoundError(f"{photos_dir}: {count} sample photos needed, found {len(photos)}")
    return photos[:count]


def load_photo_array(path, long_side, multiple):
    """A photo as a float32 HxWx3 RGB array in [0, 1]: read upright by `training.imaging.load_photo`,
    resized by `resize_long_side` (as `stylize` does), then cropped at the bottom and right to sides
    that are multiples of `multiple`."""
    rgb = np.asarray(resize_long_side(load_photo(path), long_side), dtype=np.float32) / 255.0
    height, width = (side - side % multiple for side in rgb.shape[:2])
    if not height or not width:
        raise ValueError(f"{path}: too small for sides that are multiples of {multiple} at long side {long_side}")
    return rgb[:height, :width]


def to_network(rgb, convention):
    """An RGB [0, 1] HxWx3 image as the 1xHxWx3 float32 input a generator expects."""
    return to_model_input(np.asarray(rgb) * 255.0, convention["color_order"], convention["value_range"])


def context_to_network(rgb, convention):
    """The context input (`convention["context"]`, docs/modelzoo-format.md) of a network that sees its
    whole picture, for an RGB [0, 1] HxWx3 picture: `training.imaging.context_input`."""
    pixels = np.rint(np.asarray(rgb) * 255.0).astype(np.uint8)
    return context_input(pixels, convention["context"]["size"], convention["color_order"], convention["value_range"])


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
