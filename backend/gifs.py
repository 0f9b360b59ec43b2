"""Animated GIFs: an animated GIF in gives an animated cartoon GIF out.

A job whose upload is an animated GIF (with `ANIMATED_IMAGES` = "animate", the default) keeps the
GIF as its source. The job runner stylizes it frame by frame with the same inference function as
a photo (`stylize_animation`): each frame is decoded, fitted to the job's long side, stylized,
reduced to its own 256-colour palette and written before the next one is decoded, so memory
follows one frame, never the whole animation. The result has the same frame count, each frame
keeps its duration, and the loop count is kept (no loop count in: none out, i.e. played once).

Limits, checked on upload before any pixel is decoded: `GIF_MAX_FRAMES` frames, and
`GIF_MAX_PIXELS` pixels in all frames together (width x height x frames of the upload), which
bounds both the decoding and the stylizing work. Past them the upload gets a 422 saying why.
"""

import numpy as np
from PIL import GifImagePlugin, Image, ImageSequence

from backend.errors import ApiError
from backend.uploads import fit_long_side, identify, open_upload
from training.imaging import to_rgb

ANIMATE = "animate"  # the ANIMATED_IMAGES setting that turns this module on
GIF_SUFFIX = ".gif"
MEDIA_TYPES = {GIF_SUFFIX: "image/gif", ".png": "image/png"}
DECODE_ERRORS = (OSError, SyntaxError, ValueError, IndexError, EOFError)


def media_type(path):
    """The Content-Type of a stored picture: image/gif for a .gif file, else image/png."""
    return MEDIA_TYPES[GIF_SUFFIX] if str(path).endswith(GIF_SUFFIX) else MEDIA_TYPES[".png"]


def open_animation(data, config):
    """The first frame (RGB) of an upload that is an animated GIF to stylize frame by frame, else
    None (a still GIF, another format, or ANIMATED_IMAGES other than "animate": `open_upload` reads
    it). `ApiError` (422) past the frame or pixel limit, or when a frame cannot be decoded."""
    if config["ANIMATED_IMAGES"] != ANIMATE:
        return None
    image = identify(data, config)
    if image.format != "GIF":
        return None
    try:
        frames = image.n_frames
    except DECODE_ERRORS:
        raise ApiError(422, "image_corrupt", "The GIF is damaged and cannot be read.") from None
    if frames < 2:
        return None
    check_limits(image.size, frames, config)
    return decode_all(image)


def open_picture_or_animation(data, config, long_side=None):
    """An upload -> `(RGB picture, notes, animated)`: an animated GIF to stylize frame by frame
    gives its first frame, no notes and True; anything else `open_upload`'s picture and notes, and
    False."""
    first_frame = open_animation(data, config)
    if first_frame is None:
        return *open_upload(data, config, long_side), False
    return first_frame, [], True


def check_limits(size, frames, config):
    """422 when an animation of `frames` frames of `size` is over GIF_MAX_FRAMES or GIF_MAX_PIXELS."""
    width, height = size
    max_frames, max_pixels = config["GIF_MAX_FRAMES"], config["GIF_MAX_PIXELS"]
    if frames > max_frames:
        raise ApiError(
            422, "gif_too_many_frames", f"The GIF has {frames} frames; at most {max_frames} frames are accepted."
        )
    if width * height * frames > max_pixels:
        raise ApiError(
            422,
            "gif_too_large",
            f"The GIF has {frames} frames of {width}x{height}, {width * height * frames:,} pixels in all; "
            f"at most {max_pixels:,} are accepted (fewer frames or a smaller GIF).",
        )


def decode_all(image):
    """Decodes every frame once (one at a time), so that a damaged GIF is refused on upload rather
    than failing its job; returns the first frame in RGB."""
    first = None
    try:
        for frame in ImageSequence.Iterator(image):  # the pixel limits were checked from the header
            frame.load()
            if first is None:
                first = to_rgb(frame)
    except DECODE_ERRORS:
        raise ApiError(422, "image_corrupt", "The GIF is truncated or damaged and cannot be decoded.") from None
    return first


def read_frames(image):
    """Yields `(RGB frame, duration in ms)` for each frame of an open GIF, one at a time."""
    for frame in ImageSequence.Iterator(image):
        yield to_rgb(frame), int(frame.info.get("duration") or 0)


def write_frames(file, frames, loop=None):
    """Writes `(RGB picture, duration in ms)` pairs as a GIF, each frame written as soon as it
    comes with its own palette (Pillow's `save_all` would hold every frame and merge equal ones).
    `loop`: the NETSCAPE loop count (0: forever); None writes none (played once)."""
    count = 0
    for picture, duration in frames:
        frame = picture.quantize(256)
        if count == 0:
            # Any duration makes Pillow write the GIF89a signature that the extensions need.
            info = {"duration": 1} if loop is None else {"duration": 1, "loop": loop}
            header, _ = GifImagePlugin.getheader(frame, info=info)
            file.writelines(header)
        file.writelines(GifImagePlugin.getdata(frame, duration=duration, include_color_table=True))
        count += 1
    if count == 0:
        raise ValueError("an animation needs at least one frame")
    file.write(b";")  # the GIF trailer


def stylize_animation(source, target, stylize_rgb, long_side):
    """Writes the GIF read from `source` (a path or a binary file) to the binary file `target` with
    each frame fitted to `long_side` and stylized by `stylize_rgb` (uint8 RGB array -> uint8 RGB
    array, the function that stylizes a photo), with the same frame count, durations and loop.
    Returns the frames' `(width, height)`."""
    size = None

    def stylized(frames):
        nonlocal size
        for picture, duration in frames:
            output = Image.fromarray(stylize_rgb(np.asarray(fit_long_side(picture, long_side))), "RGB")
            size = output.size
            yield output, duration

    with Image.open(source) as animation:
        write_frames(target, stylized(read_frames(animation)), animation.info.get("loop"))
    return size
