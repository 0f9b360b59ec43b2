"""Reading ordinary photos into RGB arrays, and the model's tensor conventions.

Users pass whatever their phone or camera wrote: EXIF-rotated JPEGs, grayscale, alpha, palette,
16-bit and CMYK images. `load_photo` turns each into an upright 8-bit RGB image or raises
`PhotoError` with a one-line message naming the file.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from training.conventions import from_value_range, swap_channels, to_value_range

# Decoding is refused above this many pixels (about 36 megapixels: 7360 x 4912 still passes),
# which stops decompression bombs before any pixel is decoded.
DEFAULT_MAX_PIXELS = 40_000_000
TRANSPARENT_BACKGROUND = (255, 255, 255)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")  # what a folder of photos is read for (Pillow)
# What `train`'s TensorFlow pipeline decodes (`tf.io.decode_image` has no WebP): `prepare` and `train`.
TRAINING_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class PhotoError(ValueError):
    """A file that cannot be used as a photo; the message names the file and the reason."""


def list_images(folder, suffixes=IMAGE_SUFFIXES):
    """The visible image files (named with one of `suffixes`) of `folder`, not recursive, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such folder")
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in suffixes and not path.name.startswith(".")
    )


def to_rgb(image):
    """Any Pillow mode -> 8-bit RGB; transparency is composited onto white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit and 32-bit grayscale: scale the used range into 8 bits instead of clipping.
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        gray = np.clip(np.rint(values / top * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, TRANSPARENT_BACKGROUND + (255,))
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")


def load_photo(path, max_pixels=DEFAULT_MAX_PIXELS):
    """Reads an image file as an upright `PIL.Image` in RGB mode.

    Raises `PhotoError` for a missing, empty, truncated or non-image file, or one with more than
    `max_pixels` pixels (checked from the header, before decoding).
    """
    path = Path(path)
    if not path.is_file():
        raise PhotoError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise PhotoError(f"{path}: empty file (0 bytes)")
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise PhotoError(
                    f"{path}: {width}x{height} is {width * height:,} pixels, over the limit of {max_pixels:,}"
                )
            image.load()
            return to_rgb(ImageOps.exif_transpose(image))
    except UnidentifiedImageError:
        raise PhotoError(f"{path}: not an image file Pillow can read") from None
    except Image.DecompressionBombError as error:
        raise PhotoError(f"{path}: refused as a decompression bomb ({error})") from None
    except (OSError, SyntaxError, ValueError) as error:
        if isinstance(error, PhotoError):
            raise
        raise PhotoError(f"{path}: damaged or truncated image ({error})") from None


def resize_long_side(image, long_side):
    """Resizes so the longer side is `long_side`, bicubic, rounding the other side down.

    This is the preprocessing of the CartoonGAN authors' own test script (their `load_size`),
    reproduced expression for expression so that the same photo gives the same pixel size.
    """
    if long_side < 1:
        raise ValueError(f"long_side must be a positive number of pixels, got {long_side!r}")
    width, height = image.size
    ratio = width * 1.0 / height
    if ratio > 1:
        new_width = long_side
        new_height = int(new_width * 1.0 / ratio)
    else:
        new_height = long_side
        new_width = int(new_height * ratio)
    return image.resize((max(new_width, 1), max(new_height, 1)), Image.BICUBIC)


def to_model_input(rgb, color_order, value_range):
    """uint8 RGB (H, W, 3) -> float32 (1, H, W, 3) in the model's color order and value range."""
    pixels = swap_channels(np.asarray(rgb, dtype=np.float32), color_order)
    return to_value_range(pixels, value_range)[None]


def from_model_output(output, color_order, value_range):
    """float (1, H, W, 3) in the model's convention -> uint8 RGB (H, W, 3), rounded to nearest."""
    pixels = swap_channels(from_value_range(np.asarray(output[0], dtype=np.float32), value_range), color_order)
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def context_thumbnail(rgb, size):
    """The whole picture (uint8 RGB) squeezed to `size` x `size`, width and height independently,
    by PIL's BOX filter (each output pixel the mean of the source pixels whose centres fall in its
    footprint), uint8 RGB: the second input of a network that sees its whole picture (a context
    student, `training.students`), computed once per picture and given to every tile. The clients
    compute the same (miniprogram/core/image.js `contextThumbnail`, within 1 of it)."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"a context thumbnail's size must be a positive whole number of pixels, got {size!r}")
    return np.asarray(Image.fromarray(np.asarray(rgb, dtype=np.uint8)).resize((size, size), Image.Resampling.BOX))


def context_input(rgb, size, color_order, value_range):
    """The context input of a network for a whole uint8 RGB picture: its `context_thumbnail` in the
    network's convention, (1, size, size, 3) float32."""
    return to_model_input(context_thumbnail(rgb, size), color_order, value_range)
