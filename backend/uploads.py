"""Checking an uploaded photo and turning it into an upright 8-bit RGB picture.

The format is decided from the bytes (Pillow's detection), never from the file name. The pixel
count and side lengths come from the header and are checked before any pixel is decoded, so a
decompression bomb costs nothing. Each refusal is an `ApiError` with a 4xx status saying why.

Memory: a picture is decoded once in its own mode (1 byte a pixel for grey and palette pictures,
2 for 16-bit grey, 4 for colour and alpha, about 16 for WebP, whose pixel limit is therefore a
quarter). Over EXACT_PIXELS, a JPEG is decoded at 1/2 to 1/8 scale when the job needs no more, and
any picture is shrunk to twice the job's long side while it is turned into 8-bit RGB a band of rows
at a time, so no other full-size copy is made. One process decodes `UPLOAD_DECODERS` uploads at a time.
"""

import io
import threading
import warnings
from contextlib import contextmanager

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import ApiError
from training.imaging import resize_long_side, to_rgb

# MPO is what many phone cameras write: a JPEG with extra pictures appended.
ALLOWED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
MIN_SIDE = 8
BAND_PIXELS = 1 << 18  # pixels converted at a time
# Pillow decodes a WebP picture through about four full-size RGBA copies (libwebp's canvas, the
# frame handed over, the image), so WebP pictures may have a quarter of MAX_IMAGE_PIXELS.
WEBP_COPIES = 4
# Pictures up to this size are converted whole and resized from their full size (as the training
# package does: at most 64 MB decoded plus 64 MB of RGB); larger ones are decoded and shrunk first.
EXACT_PIXELS = 16_000_000


def init_app(app):
    app.extensions["upload_decoders"] = threading.BoundedSemaphore(app.config["UPLOAD_DECODERS"])


@contextmanager
def decoding_slot():
    """One of the process's `UPLOAD_DECODERS` decoding slots; 503 when none frees up in time."""
    slots = current_app.extensions["upload_decoders"]
    if not slots.acquire(timeout=current_app.config["UPLOAD_DECODE_WAIT"]):
        raise ApiError(503, "busy", "The server is busy reading other photos; try again shortly.", 5)
    try:
        yield
    finally:
        slots.release()


def identify(data, config):
    """The upload opened (header only) and checked against the format and size limits."""
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
    if image.format == "WEBP":
        max_pixels //= WEBP_COPIES
    if width * height > max_pixels or max(width, height) > max_side:
        raise ApiError(
            422,
            "image_too_large",
            f"The image is {width}x{height}; at most {max_pixels:,} pixels and {max_side} pixels a side are accepted.",
        )
    if min(width, height) < MIN_SIDE:
        raise ApiError(422, "image_too_small", f"The image is {width}x{height}; each side needs {MIN_SIDE} pixels.")
    # Every 8x8 block of a JPEG costs at least one bit of scan data: a shorter file is a header
    # whose picture is missing (the decoder would make it up in grey).
    if ALLOWED_FORMATS[image.format] == "JPEG" and len(data) * 8 < -(-width // 8) * -(-height // 8):
        raise ApiError(422, "image_corrupt", "The image is truncated or damaged and cannot be decoded.")
    return image


def open_upload(data, config, long_side=None):
    """The bytes of an upload -> `(RGB PIL.Image, notes)`; `ApiError` when it cannot be used.
    With `long_side`, a picture over EXACT_PIXELS may come back smaller, never below twice that."""
    image = identify(data, config)
    notes = []
    if getattr(image, "n_frames", 1) > 1:
        if config["ANIMATED_IMAGES"] == "reject":
            raise ApiError(422, "animated_image", "Animated images are not accepted; send a still photo.")
        image.seek(0)
        notes.append("The image is animated: only its first frame was used.")
    if not (long_side and image.size[0] * image.size[1] > EXACT_PIXELS):
        long_side = None
    if long_side:
        scale = max(image.size) / (2 * long_side)
        image.draft(None, (max(1, int(image.size[0] / scale)), max(1, int(image.size[1] / scale))))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ApiError(422, "image_too_large", "The image has too many pixels.") from None
    except (OSError, SyntaxError, ValueError, IndexError, EOFError):
        raise ApiError(422, "image_corrupt", "The image is truncated or damaged and cannot be decoded.") from None
    try:
        exif = image.getexif().tobytes()
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError):
        exif = None
    picture = shrink_to_rgb(image, long_side)
    image.close()
    try:
        if exif:
            picture.info["exif"] = exif
            picture = ImageOps.exif_transpose(picture)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError):
        notes.append("The EXIF orientation could not be read; the picture was used as stored.")
    picture.info.pop("exif", None)
    return picture, notes


def shrink_to_rgb(image, long_side=None):
    """8-bit RGB (`training.imaging.to_rgb`), reduced by a whole factor to no less than twice
    `long_side`, made band by band so that no full-size copy is ever made."""
    width, height = image.size
    factor = max(1, max(width, height) // (2 * long_side)) if long_side else 1
    picture = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, BAND_PIXELS // (width * factor))
    for top in range(0, height, rows):
        band = to_rgb(image.crop((0, top, width, min(top + rows, height))))
        picture.paste(band.reduce(factor) if factor > 1 else band, (0, top // factor))
    return picture


def fit_long_side(image, long_side):
    """Resized (bicubic) so the longer side is `long_side`; never enlarged."""
    if max(image.size) <= long_side:
        return image
    image = resize_long_side(image, long_side)
    if min(image.size) < MIN_SIDE:
        raise ApiError(422, "image_too_small", "The image is too narrow to stylize at this size.")
    return image
