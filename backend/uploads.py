"""Checking an uploaded photo and turning it into an upright 8-bit RGB picture.

The format is decided from the bytes (Pillow's detection), never from the file name. The pixel
count and side lengths come from the header and are checked before any pixel is decoded, so a
decompression bomb costs nothing. Each refusal is an `ApiError` with a 4xx status saying why.
"""

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import ApiError
from training.imaging import resize_long_side, to_rgb

# MPO is what many phone cameras write: a JPEG with extra pictures appended.
ALLOWED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
MIN_SIDE = 8


def open_upload(data, config):
    """The bytes of an upload -> `(RGB PIL.Image, notes)`; `ApiError` when it cannot be used."""
    if not data:
        raise ApiError(400, "empty_upload", "The uploaded file is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        if isinstance(error, UnidentifiedImageError):
            raise ApiError(415, "unsupported_format", "The file is not a JPEG, PNG, WebP or GIF image.") from None
        raise ApiError(422, "image_too_large", "The image has too many pixels.") from None
    except (OSError, SyntaxError, ValueError):
        raise ApiError(422, "image_corrupt", "The image is damaged and cannot be read.") from None
    if image.format not in ALLOWED_FORMATS:
        raise ApiError(
            415, "unsupported_format", f"{image.format} images are not accepted; send JPEG, PNG, WebP or GIF."
        )

    width, height = image.size
    max_pixels, max_side = config["MAX_IMAGE_PIXELS"], config["MAX_IMAGE_SIDE"]
    if width * height > max_pixels or max(width, height) > max_side:
        raise ApiError(
            422,
            "image_too_large",
            f"The image is {width}x{height}; at most {max_pixels:,} pixels and {max_side} pixels a side are accepted.",
        )
    if min(width, height) < MIN_SIDE:
        raise ApiError(422, "image_too_small", f"The image is {width}x{height}; each side needs {MIN_SIDE} pixels.")

    notes = []
    if getattr(image, "n_frames", 1) > 1:
        if config["ANIMATED_IMAGES"] == "reject":
            raise ApiError(422, "animated_image", "Animated images are not accepted; send a still photo.")
        image.seek(0)
        notes.append("The image is animated: only its first frame was used.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ApiError(422, "image_too_large", "The image has too many pixels.") from None
    except (OSError, SyntaxError, ValueError, IndexError, EOFError):
        raise ApiError(422, "image_corrupt", "The image is truncated or damaged and cannot be decoded.") from None
    try:
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):
        notes.append("The EXIF orientation could not be read; the picture was used as stored.")
    return to_rgb(image), notes


def fit_long_side(image, long_side):
    """Resized (bicubic) so the longer side is `long_side`; never enlarged."""
    if max(image.size) <= long_side:
        return image
    image = resize_long_side(image, long_side)
    if min(image.size) < MIN_SIDE:
        raise ApiError(422, "image_too_small", "The image is too narrow to stylize at this size.")
    return image
