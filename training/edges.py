"""Edge-smoothed cartoon frames, the extra "fake" examples of CartoonGAN training.

The CartoonGAN paper (Chen et al., CVPR 2018, section 3.3) teaches the discriminator that a
cartoon with blurred edges is *not* a cartoon, so that the generator learns to draw clear edges.
For every cartoon frame: detect edges with Canny, dilate them, and replace the pixels of that
dilated neighbourhood with a Gaussian-blurred copy of the frame. Everything else is unchanged.

`python -m training prepare --input CARTOONS --output SMOOTHED [--size N]` writes one PNG per
frame, named like the frame (`frame_001.jpg` -> `frame_001.png`), which is how `training.data`
pairs a frame with its smoothed copy.
"""

import sys
from pathlib import Path

import cv2
import numpy as np

from training.imaging import TRAINING_IMAGE_SUFFIXES, list_images

CANNY_LOW_THRESHOLD = 100
CANNY_HIGH_THRESHOLD = 200
KERNEL_SIZE = 5


def smooth_edges(
    image, kernel_size=KERNEL_SIZE, low_threshold=CANNY_LOW_THRESHOLD, high_threshold=CANNY_HIGH_THRESHOLD
):
    """Blurs `image` in the neighbourhood of its edges; returns a new uint8 array of the same shape.

    `image` is an `(height, width, 3)` uint8 array in RGB or BGR order: the edges are found on
    the mean of the three channels and every channel is blurred alike, so the result does not
    depend on the channel order. `kernel_size` (odd) is both the size of the square dilation
    kernel and of the Gaussian kernel (its sigma is derived from the size, as OpenCV does).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (height, width, 3) uint8 image, got {image.dtype} {image.shape}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size!r}")
    if not 0 <= low_threshold <= high_threshold:
        raise ValueError(f"need 0 <= low_threshold <= high_threshold, got {low_threshold}, {high_threshold}")

    gray = image.mean(axis=2).round().astype(np.uint8)
    edges = cv2.Canny(gray, low_threshold, high_threshold)
    neighbourhood = cv2.dilate(edges, np.ones((kernel_size, kernel_size), np.uint8)) > 0
    blurred = cv2.GaussianBlur(image, (kernel_size, kernel_size), 0)
    return np.where(neighbourhood[..., None], blurred, image)


def resize_shorter_side(image, size):
    """Resizes `image` so that its shorter side is `size` pixels, keeping the aspect ratio."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, new_size, interpolation=interpolation)


def read_image(path):
    """Reads an image file as a BGR uint8 array; `ValueError` if it cannot be decoded."""
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ValueError("cannot decode the image")
    return image


def prepare_folder(input_dir, output_dir, size=None, kernel_size=KERNEL_SIZE, progress=True):
    """Writes an edge-smoothed PNG into `output_dir` for every image of `input_dir`.

    With `size`, frames are first resized so that their shorter side is `size` pixels (use the
    size the frames are trained at: the blur then has the width it will have in training).
    A file that cannot be read or written is reported on stderr in one line and skipped.
    Returns `(written, failed)`: the lists of output paths and of input paths that failed.
    """
    from tqdm import tqdm

    if size is not None and size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size!r}")
    paths = list_images(input_dir, TRAINING_IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"{input_dir}: no images ({', '.join(TRAINING_IMAGE_SUFFIXES)})")
    output_dir = Path(output_dir)
    if output_dir.resolve() == Path(input_dir).resolve():
        raise ValueError("the output folder must differ from the input folder")
    output_dir.mkdir(parents=True, exist_ok=True)

    written, failed, sources = [], [], {}
    for path in tqdm(paths, desc="edge smoothing", unit="image", disable=not progress):
        target = output_dir / f"{path.stem}.png"
        try:
            if target in sources:
                raise ValueError(f"same name as {sources[target].name}; one output per name")
            image = read_image(path)
            if size is not None:
                image = resize_shorter_side(image, size)
            if not cv2.imwrite(str(target), smooth_edges(image, kernel_size=kernel_size)):
                raise ValueError(f"cannot write {target}")
        except (ValueError, OSError, cv2.error) as error:
            tqdm.write(f"error: {path}: {error}", file=sys.stderr)
            failed.append(path)
            continue
        sources[target] = path
        written.append(target)
    return written, failed


def add_arguments(parser):
    parser.add_argument(
        "--input", required=True, help=f"folder of cartoon frames ({', '.join(TRAINING_IMAGE_SUFFIXES)})"
    )
    parser.add_argument("--output", required=True, help="folder for the edge-smoothed PNGs (created)")
    parser.add_argument(
        "--size", type=int, help="resize frames so their shorter side is N pixels first (default: keep their size)"
    )
    parser.add_argument(
        "--kernel-size",
        type=int,
        default=KERNEL_SIZE,
        help=f"dilation and blur kernel size, odd (default {KERNEL_SIZE})",
    )


def run(args):
    written, failed = prepare_folder(args.input, args.output, size=args.size, kernel_size=args.kernel_size)
    print(f"{len(written)} edge-smoothed images in {args.output}" + (f", {len(failed)} failed" if failed else ""))
    return 1 if failed else 0
