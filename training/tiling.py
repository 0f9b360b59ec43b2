"""Stylizing pictures of any size in tiles, with memory bounded by the tile size.

The picture is cut into overlapping windows of at most `tile` x `tile` pixels. Each window is
stylized alone and only its core is kept: the window less `overlap` pixels on every side that
borders another window. The cores partition the picture. When `overlap` is at least the network's
receptive field (how many pixels away an input pixel can still change an output pixel), every
kept pixel was computed from all the pixels it depends on, so the stitched picture is the one
the network gives for the whole picture: nothing to blend, no seam. Windows start at multiples
of the network's size multiple (4: two stride-2 steps), so each window sees the sampling grid of
the whole picture, and a window that touches the picture's edge sees that edge as the whole
picture does.

That holds for local networks (the phone students: convolutions, no normalization). The published
generators normalize with statistics of the whole picture (instance normalization): there
`statistics_models(generator)` gives a *statistics model* (picture -> the mean and variance of
every normalization, one row) and a *tile model* (window, statistics -> stylized window, now a
local network). The statistics are measured once on a copy of the picture downscaled to the tile
size, and every tile is normalized with them: the tiles agree with each other exactly, and the
picture differs from the untiled one only as much as the downscaled statistics differ from the
full-size ones (measured in bench/bench_tiling.py).

The grid and the stitching are NumPy only (the server imports them without TensorFlow);
`receptive_field` and `statistics_models` import Keras when called.
"""

import math

import numpy as np
from PIL import Image

from training.imaging import resize_long_side

# The tile side used when none is given: the largest window stylized in one piece. From
# bench/bench_tiling.py, published generator at 4096x3072: tiles of 1024 peak at ~2.1 GB and cost
# 1.5x the CPU time of one untiled pass (which would need ~17 GB), tiles of 512 ~1 GB and 2.5x; and
# a larger tile gives a larger statistics copy, closer to the untiled picture (~30 dB against ~24).
DEFAULT_TILE = 1024


def round_up(value, multiple):
    return multiple * math.ceil(value / multiple)


def check_tiling(tile, overlap, multiple):
    """`ValueError` unless windows of `tile` pixels with `overlap` on each side make progress."""
    for name, value in (("tile", tile), ("overlap", overlap), ("multiple", multiple)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool):
            raise ValueError(f"{name} must be a whole number of pixels, got {value!r}")
    if multiple < 1 or overlap < 0:
        raise ValueError(f"need multiple >= 1 and overlap >= 0, got multiple={multiple}, overlap={overlap}")
    if tile % multiple or overlap % multiple:
        raise ValueError(f"tile ({tile}) and overlap ({overlap}) must be multiples of {multiple}")
    if tile <= 2 * overlap:
        raise ValueError(
            f"a tile of {tile} pixels is too small for an overlap of {overlap} on each side: "
            f"use at least {2 * overlap + multiple}"
        )


def axis_windows(length, tile, overlap, multiple):
    """The windows along one side: `[(start, stop, core_start, core_stop), ...]`.

    A side of at most `tile` pixels is one window. Otherwise the fewest windows of at most `tile`
    pixels, of nearly equal size: the core boundaries are multiples of `multiple`, and each
    window reaches `overlap` pixels past its core (clipped at the picture's edges).
    """
    check_tiling(tile, overlap, multiple)
    if length < 1:
        raise ValueError(f"length must be positive, got {length!r}")
    if length <= tile:
        return [(0, length, 0, length)]
    margin, step = overlap // multiple, (tile - 2 * overlap) // multiple  # in units of `multiple`
    inner = math.ceil(length / multiple) - 2 * margin
    count = math.ceil(inner / step)
    bounds = [0] + [(margin + i * inner // count) * multiple for i in range(1, count)] + [length]
    return [(max(0, a - overlap), min(length, b + overlap), a, b) for a, b in zip(bounds, bounds[1:])]


def tile_grid(height, width, tile, overlap, multiple):
    """Every tile as `((y0, y1, core_y0, core_y1), (x0, x1, core_x0, core_x1))`, row by row."""
    rows = axis_windows(height, tile, overlap, multiple)
    columns = axis_windows(width, tile, overlap, multiple)
    return [(row, column) for row in rows for column in columns]


def stitch(run, picture, tile, overlap, multiple):
    """Runs `run(window) -> stylized window` (same height and width) on every tile of `picture`
    (H, W, C) and returns the cores put together, in the dtype `run` returns. Only one window's
    result is alive at a time next to the output."""
    picture = np.asarray(picture)
    height, width = picture.shape[:2]
    output = None
    for (y0, y1, cy0, cy1), (x0, x1, cx0, cx1) in tile_grid(height, width, tile, overlap, multiple):
        result = np.asarray(run(picture[y0:y1, x0:x1]))
        if result.shape[:2] != (y1 - y0, x1 - x0):
            raise ValueError(f"run() gave {result.shape[:2]} for a window of {(y1 - y0, x1 - x0)}")
        if output is None:
            output = np.empty((height, width) + result.shape[2:], result.dtype)
        output[cy0:cy1, cx0:cx1] = result[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    return output


def statistics_picture(rgb, long_side):
    """The copy of a uint8 RGB picture the statistics are measured on: resized (bicubic, as
    `resize_long_side`) to `long_side`; never enlarged."""
    image = Image.fromarray(np.asarray(rgb), "RGB")
    if max(image.size) <= long_side:
        return np.asarray(image)
    return np.asarray(resize_long_side(image, long_side))


# The Keras side: receptive fields and the statistics/tile split of a generator.


def _walk(model, visit):
    """Calls `visit(layer, inputs)` for every layer of a functional `model` in order, where
    `inputs` are the values `visit` returned for the layer's input tensors (one value, or a list
    for merge layers); returns the value of the model's output. The model's input is
    `visit(None, None)`; a second input (a context student's `context`, the same for every tile)
    has the value None."""
    import keras

    if len(model.inputs) not in (1, 2) or len(model.outputs) != 1:
        raise ValueError(f"{model.name}: expected one input (and at most a context) and one output")
    values = {id(model.inputs[0]): visit(None, None), **{id(context): None for context in model.inputs[1:]}}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            raise ValueError(f"{model.name}: nested model {layer.name} is not supported")
        tensors = layer.input if isinstance(layer.input, list | tuple) else [layer.input]
        if any(id(tensor) not in values for tensor in tensors):
            raise ValueError(f"{model.name}: an input of {layer.name} is not from an earlier layer (shared layers?)")
        inputs = [values[id(tensor)] for tensor in tensors]
        values[id(layer.output)] = visit(layer, inputs if isinstance(layer.input, list | tuple) else inputs[0])
    return values[id(model.outputs[0])]


def receptive_field(model, given_statistics=False):
    """How many pixels away from an output pixel an input pixel can still change it (an upper
    bound, along either axis), from the layers of a functional generator.

    Each tensor is tracked as `(scale, low, high)`: its pixel j depends on the input pixels from
    `scale * j + low` to `scale * j + high`. Convolutions (plain, depthwise, separable; zero or
    reflection padded, or 'same' at stride 1), 'valid' transposed convolutions, nearest or
    bilinear up-sampling, cropping, merges and pixel-wise layers are understood. Instance
    normalization counts as pixel-wise only with `given_statistics` (its statistics are then
    inputs, see `statistics_models`). Anything else, and stride-2 'same' convolutions (whose
    padding depends on the size of the picture, so a tile would see another grid), is a
    `ValueError` naming the layer.
    """
    from keras import layers

    from training.layers import (
        FeatureModulation,
        InstanceNormalization,
        NormalizationWithStatistics,
        ReflectionPadding2D,
    )

    pixelwise = (
        layers.Activation,
        layers.ReLU,
        layers.LeakyReLU,
        layers.PReLU,
        layers.ELU,
        layers.Softmax,
        layers.BatchNormalization,
        layers.Rescaling,
        layers.Dropout,
        layers.Identity,
        NormalizationWithStatistics,
    )
    merges = (
        layers.Add,
        layers.Subtract,
        layers.Multiply,
        layers.Average,
        layers.Maximum,
        layers.Minimum,
        layers.Concatenate,
    )

    def pick(value, axis):
        return value[axis] if isinstance(value, list | tuple) else value

    def before(padding, axis):  # pixels added (or cropped) above / left of the picture
        return pick(pick(padding, axis), 0)

    def visit(layer, inputs, axis):
        if layer is None:
            return (1.0, 0.0, 0.0)
        name = f"{type(layer).__name__} {layer.name!r}"
        if inputs is None or (isinstance(inputs, list) and all(v is None for v in inputs)):
            return None  # a function of the context alone: the same for every tile
        if isinstance(layer, FeatureModulation):
            if inputs[1] is not None:
                raise ValueError(f"{name} is modulated by the picture's pixels, not by its context")
            return inputs[0]
        if isinstance(inputs, list) and any(v is None for v in inputs):
            raise ValueError(f"{name} merges the picture with its context: only FeatureModulation may")
        if isinstance(layer, merges):
            scales = {value[0] for value in inputs}
            if len(scales) != 1:
                raise ValueError(f"{name} merges tensors of different scales")
            return (scales.pop(), min(v[1] for v in inputs), max(v[2] for v in inputs))
        scale, low, high = inputs
        if isinstance(layer, pixelwise) or (given_statistics and isinstance(layer, InstanceNormalization)):
            return inputs
        if isinstance(layer, InstanceNormalization):
            raise ValueError(f"{name} uses statistics of the whole picture: tile with statistics_models()")
        if isinstance(layer, layers.ZeroPadding2D | ReflectionPadding2D):
            top = before(layer.padding, axis)
            return (scale, low - scale * top, high - scale * top)
        if isinstance(layer, layers.Cropping2D):
            top = before(layer.cropping, axis)
            return (scale, low + scale * top, high + scale * top)
        if isinstance(layer, layers.Conv2DTranspose):
            kernel, stride = pick(layer.kernel_size, axis), pick(layer.strides, axis)
            if layer.padding != "valid" or pick(layer.dilation_rate, axis) != 1:
                raise ValueError(f"{name}: only 'valid' undilated transposed convolutions are supported")
            return (scale / stride, low - scale * (kernel - 1) / stride, high)
        if isinstance(layer, layers.Conv2D | layers.DepthwiseConv2D | layers.SeparableConv2D):
            kernel, stride = pick(layer.kernel_size, axis), pick(layer.strides, axis)
            extent = (kernel - 1) * pick(layer.dilation_rate, axis)
            top = 0
            if layer.padding == "same":
                if stride != 1:
                    raise ValueError(
                        f"{name}: 'same' padding at stride {stride} depends on the picture's size; "
                        "pad explicitly (ZeroPadding2D) and use 'valid'"
                    )
                top = extent // 2
            return (scale * stride, low - scale * top, high + scale * (extent - top))
        if isinstance(layer, layers.UpSampling2D):
            factor = pick(layer.size, axis)
            if layer.interpolation == "nearest":  # output o reads input floor(o / factor)
                return (scale / factor, low - scale * (factor - 1) / factor, high)
            return (scale / factor, low - 1.5 * scale, high + scale)  # two neighbours, half-pixel centres
        raise ValueError(f"{name}: cannot tell its receptive field; give `receptive_field` in the metadata")

    radius = 0
    for axis in (0, 1):
        scale, low, high = _walk(model, lambda layer, inputs, axis=axis: visit(layer, inputs, axis))
        if scale != 1:
            raise ValueError(f"{model.name}: the output has {1 / scale:g} pixels per input pixel, expected 1")
        radius = max(radius, math.ceil(max(-low, high, 0) - 1e-9))
    return radius


def overlap_of(model, metadata, multiple):
    """The overlap to tile `model` with: its metadata's `receptive_field` when given, else the
    computed one (instance normalization counted as given statistics), rounded up to `multiple`."""
    radius = (metadata or {}).get("receptive_field")
    if radius is None:
        radius = receptive_field(model, given_statistics=True)
    if not isinstance(radius, int) or radius < 0:
        raise ValueError(f"receptive_field must be a non-negative whole number of pixels, got {radius!r}")
    return round_up(radius, multiple)


def normalization_layers(model):
    """The instance normalization layers of `model`, in order (empty for a local network)."""
    from training.layers import InstanceNormalization

    return [layer for layer in model.layers if isinstance(layer, InstanceNormalization)]


def statistics_models(model):
    """`(statistics_model, tile_model)` of a generator with instance normalization.

    - `statistics_model(image)` -> `(1, S)`: for each normalization layer in order, the mean and
      then the biased variance of its input per channel (S = 2 x the channels of all of them).
      It shares the generator's layers and weights.
    - `tile_model([image, statistics])` -> the generator's output, each normalization replaced by
      `NormalizationWithStatistics` reading its columns of `statistics`. Its layers are copies
      (same weights) so `model` itself is left as it was.

    `tile_model([x, statistics_model(x)])` equals `model(x)` up to float rounding.
    """
    import keras

    from training.layers import InstanceStatistics, NormalizationWithStatistics

    norms = normalization_layers(model)
    if not norms:
        raise ValueError(f"{model.name} has no instance normalization: tile it as it is")
    if len(model.inputs) != 1:
        raise ValueError(f"{model.name} takes {len(model.inputs)} inputs: statistics graphs are for one-input networks")
    norm_ids = {id(layer) for layer in norms}
    rows = [InstanceStatistics(name=f"statistics_{layer.name}")(layer.input) for layer in norms]
    joined = rows[0] if len(rows) == 1 else keras.layers.Concatenate(name="statistics")(rows)
    statistics_model = keras.Model(model.inputs[0], joined, name=f"{model.name}_statistics")

    image = keras.Input(shape=model.inputs[0].shape[1:], name="image")
    statistics = keras.Input(shape=(int(joined.shape[-1]),), name="statistics")
    offset = 0

    def visit(layer, inputs):
        nonlocal offset
        if layer is None:
            return image
        if id(layer) in norm_ids:
            copy = NormalizationWithStatistics(offset, layer.epsilon, name=layer.name)
            output = copy([inputs, statistics])
            offset += 2 * int(layer.scale.shape[0])
        else:
            copy = type(layer).from_config(layer.get_config())
            output = copy(inputs)
        copy.set_weights(layer.get_weights())
        return output

    output = _walk(model, visit)
    tile_model = keras.Model([image, statistics], output, name=f"{model.name}_tile")
    return statistics_model, tile_model
