"""The conventions every part of the project shares, each in one place.

A generator takes its pictures in a channel order (`"RGB"`, or `"BGR"` like the published
CartoonGAN weights) and a value range (usually [-1, 1]), and sides that are multiples of
`SIZE_MULTIPLE`. Files are identified by their sha256. `training` and `modelzoo` (which imports
`training`, never the other way round) both use the functions here; this module imports nothing
heavy, so the model zoo and the backend can use it without loading Keras.
"""

import hashlib

COLOR_ORDERS = ("RGB", "BGR")
# The generator downsamples twice by 2, so it maps a side to a multiple of 4 (exactly the side
# when the side is a multiple of 4).
SIZE_MULTIPLE = 4
PIXEL_PEAK = 255.0
# The value range of a tanh output: the range every generator trained here takes and gives.
TANH_RANGE = (-1.0, 1.0)


def check_color_order(color_order):
    """Returns `color_order`; `ValueError` unless it is one of `COLOR_ORDERS`."""
    if color_order not in COLOR_ORDERS:
        raise ValueError(f"color_order must be one of {COLOR_ORDERS}, got {color_order!r}")
    return color_order


def swap_channels(pixels, color_order):
    """RGB pixels in `color_order`, or pixels in `color_order` back to RGB (the swap is its own
    inverse). Works on NumPy arrays and TensorFlow or Keras tensors whose last axis is the channel."""
    return pixels[..., ::-1] if check_color_order(color_order) == "BGR" else pixels


def to_value_range(pixels, value_range, peak=PIXEL_PEAK):
    """Pixel values in [0, `peak`] mapped linearly onto `value_range` = `(low, high)`."""
    low, high = value_range
    return low + pixels * ((high - low) / peak)


def from_value_range(values, value_range, peak=PIXEL_PEAK):
    """Values in `value_range` = `(low, high)` mapped linearly onto [0, `peak`] (not clipped)."""
    low, high = value_range
    return (values - low) * (peak / (high - low))


def sha256_file(path):
    """The hex sha256 of the file `path`."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
