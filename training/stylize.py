"""Stylizing photos with a saved generator: `python -m training stylize`.

The generator accepts any height and width; its output is up to 3 pixels taller and wider when a
side is not a multiple of 4 (the published network maps H to 4 * ceil(ceil(H / 2) / 2)), and the
extra rows and columns at the bottom and right are cropped off, so the picture keeps the exact
size of the photo (or of the `--long-side` resize). The model's color order and value range come
from the metadata saved with it; callers only see RGB uint8.

A picture whose long side is over `--tile` pixels (default `training.tiling.DEFAULT_TILE`) is
stylized in tiles of at most that size (`training.tiling`), so memory depends on the tile size,
not on the picture's: 4032x3024 photos from phones go through at full size. `--tile 0` never tiles.
"""

import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from training.conventions import SIZE_MULTIPLE
from training.imaging import (
    DEFAULT_MAX_PIXELS,
    PhotoError,
    from_model_output,
    load_photo,
    resize_long_side,
    to_model_input,
)
from training.models import MIN_INPUT_SIZE
from training.tiling import (
    DEFAULT_TILE,
    check_tiling,
    normalization_layers,
    overlap_of,
    statistics_models,
    statistics_picture,
    stitch,
)


class Stylizer:
    """A loaded generator with its input convention: `stylizer(rgb_uint8) -> rgb_uint8`.

    Pictures with a long side over `tile` pixels are stylized in tiles (`tile=0`: never). A local
    network is tiled as it is; a generator with instance normalization is split into a statistics
    model, run once on the picture downscaled to `tile`, and a tile model given those statistics. A
    student with a context input is given the whole picture's context, whole or in every tile.
    """

    def __init__(self, model, metadata, tile=DEFAULT_TILE):
        from training.inference import compile_generator

        self.model = model
        self.metadata = metadata
        self.color_order = metadata["input"]["color_order"]
        self.value_range = tuple(metadata["input"]["value_range"])
        self.multiple = int(metadata["input"].get("size_multiple", SIZE_MULTIPLE))
        self.tile = tile
        self.overlap = None
        if tile:
            self.overlap = overlap_of(model, metadata, self.multiple)
            check_tiling(tile, self.overlap, self.multiple)
        elif tile != 0:
            raise ValueError(f"tile must be a positive number of pixels or 0 (never tile), got {tile!r}")
        self._generate = compile_generator(model)
        self._tile_generators = None  # (statistics, tile), compiled for the first tiled picture

    @classmethod
    def load(cls, path, tile=DEFAULT_TILE):
        from training.saving import load_generator

        return cls(*load_generator(path), tile=tile)

    def __call__(self, rgb):
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB array, got {rgb.shape} {rgb.dtype}")
        height, width = rgb.shape[:2]
        if min(height, width) < MIN_INPUT_SIZE:
            raise ValueError(f"{width}x{height} is too small: the generator needs {MIN_INPUT_SIZE} pixels a side")
        context = self._context(rgb)
        if not self.tile or max(height, width) <= self.tile:
            return self._run(self._generate, rgb, *context)
        if context and normalization_layers(self.model):
            raise ValueError("a generator with both instance normalization and a context input cannot be tiled")
        statistics, generate = self._tiling()
        extra = context
        if statistics is not None:  # measured once, on the picture downscaled to the tile size
            small = statistics_picture(rgb, self.tile)
            extra = (statistics(to_model_input(small, self.color_order, self.value_range)),)
        return stitch(lambda window: self._run(generate, window, *extra), rgb, self.tile, self.overlap, self.multiple)

    def _context(self, rgb):
        """`(context,)` for a student that sees its whole picture (`training.students`): the
        picture squeezed to the context input's size, computed once and given to every tile; `()`
        for every other generator."""
        from training.students import context_input, context_size_of

        size = context_size_of(self.model)
        return (context_input(rgb, size, self.color_order, self.value_range),) if size else ()

    def _run(self, generate, rgb, *extra):
        height, width = rgb.shape[:2]
        output = generate(to_model_input(rgb, self.color_order, self.value_range), *extra)
        return from_model_output(output[:, :height, :width], self.color_order, self.value_range)

    def _tiling(self):
        """`(statistics, tile)` generators: `(None, the generator)` for a local network."""
        from training.inference import compile_generator

        if self._tile_generators is None:
            if normalization_layers(self.model):
                statistics_model, tile_model = statistics_models(self.model)
                self._tile_generators = (compile_generator(statistics_model), compile_generator(tile_model))
            else:
                self._tile_generators = (None, self._generate)
        return self._tile_generators

    def stylize_photo(self, path, long_side=None, max_pixels=DEFAULT_MAX_PIXELS):
        """Reads a photo file and returns the stylized `PIL.Image`."""
        from PIL import Image

        photo = load_photo(path, max_pixels=max_pixels)
        if long_side:
            photo = resize_long_side(photo, long_side)
        if min(photo.size) < MIN_INPUT_SIZE:
            size = f"{photo.width}x{photo.height}"
            raise PhotoError(f"{path}: {size} is too small, at least {MIN_INPUT_SIZE} pixels a side")
        return Image.fromarray(self(np.asarray(photo)), "RGB")


def list_inputs(input_path):
    """The files to stylize: the file itself, or the visible files of a folder, sorted."""
    input_path = Path(input_path)
    if input_path.is_file():
        return [input_path]
    if input_path.is_dir():
        files = sorted(p for p in input_path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise FileNotFoundError(f"{input_path}: the folder has no files to stylize")
        return files
    raise FileNotFoundError(f"{input_path}: no such file or folder")


def output_names(paths):
    """`photo.jpg` -> `photo.png`; when two inputs share a stem, `photo.jpg` -> `photo.jpg.png`."""
    stems = [p.stem for p in paths]
    return [f"{p.stem}.png" if stems.count(p.stem) == 1 else f"{p.name}.png" for p in paths]


def stylize_files(stylizer, paths, output_dir, long_side=None, max_pixels=DEFAULT_MAX_PIXELS, progress=True):
    """Stylizes each file into `output_dir`; returns `(written paths, error messages)`.

    A file that fails gets a one-line message and the others are still done.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written, errors = [], []
    bar = tqdm(list(zip(paths, output_names(paths))), desc="stylize", unit="photo", disable=not progress)
    for path, name in bar:
        try:
            picture = stylizer.stylize_photo(path, long_side=long_side, max_pixels=max_pixels)
        except PhotoError as error:
            errors.append(str(error))
            tqdm.write(f"error: {error}", file=sys.stderr)
            continue
        target = output_dir / name
        picture.save(target)
        written.append(target)
    return written, errors


def add_arguments(parser):
    parser.add_argument("--model", required=True, help="a generator .keras file (from import-pretrained or train)")
    parser.add_argument("--input", required=True, help="a photo, or a folder of photos")
    parser.add_argument("--output", required=True, help="folder for the PNGs, named after the inputs")
    parser.add_argument(
        "--long-side", type=int, help="resize (bicubic) so the longer side has this many pixels; default: keep size"
    )
    parser.add_argument(
        "--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse larger images (default: %(default)s)"
    )
    parser.add_argument(
        "--tile",
        type=int,
        default=DEFAULT_TILE,
        help="stylize pictures with a longer side in tiles of at most this many pixels, so memory stays "
        "bounded (a multiple of 4); 0: never tile (default: %(default)s)",
    )


def run(args):
    if args.long_side is not None and args.long_side < 1:
        raise ValueError(f"--long-side must be a positive number of pixels, got {args.long_side}")
    if args.tile < 0:
        raise ValueError(f"--tile must be a number of pixels, or 0 to never tile, got {args.tile}")
    paths = list_inputs(args.input)
    stylizer = Stylizer.load(args.model, tile=args.tile)
    written, errors = stylize_files(stylizer, paths, args.output, args.long_side, args.max_pixels)
    print(f"{len(written)} stylized into {args.output}" + (f", {len(errors)} failed" if errors else ""))
    return 1 if errors else 0
