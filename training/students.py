"""Small, tile-friendly "student" generators, distilled from the published styles for phones.

A student is a plain Keras functional model of convolutions, ReLUs, additions and nearest
up-sampling: no normalization and no statistic of the whole picture computed in a tile, so a
picture stylized in tiles (overlapping by the receptive field) equals the picture stylized whole.
It keeps the teacher's input convention (channel order, value range) and, like the teacher, maps an input side
of H pixels to 4 * ceil(ceil(H / 2) / 2) (`training.models.generator_output_size`).

    stem:  3x3 conv (full size) -> ReLU
    down:  two 3x3 convs of stride 2 (one pixel of zero padding, as the teacher) -> ReLU
    body:  residual blocks at a quarter of the size (depthwise-separable or plain 3x3 convs)
    head:  per style: two [nearest x2 up-sampling -> 3x3 conv (separable in separable students) -> ReLU],
           then 3x3 conv -> tanh (the up-sampling is `training.layers.NearestUpSampling2D`:
           Keras's numbers without the `Tile` that TF.js's WASM backend is slow at)

One model can carry several styles: a shared stem, down path and body, and one head per style
(outputs named after the styles). `single_style(model, style)` cuts the one-style model that is
saved as `training/students/<style>.keras` and packaged for phones.

A student may also see its whole picture (`context_size`): a second input, the picture squeezed
to `context_size` x `context_size` (`context_thumbnail`), goes through a small branch (three
stride-2 convs, a global average, two dense layers) to per-channel scales and shifts of the body's
features (`training.layers.FeatureModulation`) after the down path and after each residual block.
The teachers' palette follows the whole picture (instance normalization); this is the student's
way to see it. The context is computed once per picture and given to every tile, so tiles still
equal the untiled picture. The branch's last layer starts at zero: a new branch on trained
weights starts as the student it was added to. The committed students have one (64 x 64).
"""

import keras
from keras import layers

from training import imaging
from training.conventions import SIZE_MULTIPLE
from training.layers import FeatureModulation, NearestUpSampling2D

# Candidate architectures compared in docs/students.md; DEFAULT_ARCHITECTURE is the one trained.
ARCHITECTURES = {
    # name: (stem width, body width, residual blocks, block kind)
    "sep-s": (16, 64, 4, "separable"),
    "sep-m": (24, 96, 6, "separable"),
    "conv-s": (16, 48, 3, "conv"),
}
DEFAULT_ARCHITECTURE = "sep-m"
BLOCK_KINDS = ("separable", "conv")


def check_architecture(name):
    if name not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)}, got {name!r}")
    return ARCHITECTURES[name]


def _conv(x, filters, name, strides=1, activation="relu"):
    if strides == 2:
        # Symmetric zero padding and a 'valid' conv, as the teacher's down path (Keras 'same'
        # pads only bottom/right at stride 2, which would shift the grid against the teacher).
        x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
        return layers.Conv2D(filters, 3, strides=2, activation=activation, name=name)(x)
    return layers.Conv2D(filters, 3, padding="same", activation=activation, name=name)(x)


def _separable(x, filters, name, activation=None):
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{name}_dw")(x)
    return layers.Conv2D(filters, 1, activation=activation, name=f"{name}_pw")(x)


def _residual_block(x, kind, name):
    filters = x.shape[-1]
    skip = x
    if kind == "separable":
        x = _separable(x, filters, f"{name}_a", activation="relu")
        x = _separable(x, filters, f"{name}_b")
    else:
        x = _conv(x, filters, f"{name}_a")
        x = _conv(x, filters, f"{name}_b", activation=None)
    return layers.Add(name=f"{name}_add")([skip, x])


def _head(x, stem_width, body_width, kind, style):
    for step, filters in enumerate((body_width // 2, stem_width), start=1):
        x = NearestUpSampling2D(2, name=f"{style}_up{step}")(x)
        if kind == "separable":
            x = _separable(x, filters, f"{style}_up{step}_conv", activation="relu")
        else:
            x = _conv(x, filters, f"{style}_up{step}_conv")
    x = layers.Conv2D(3, 3, padding="same", name=f"{style}_out")(x)
    return layers.Activation("tanh", name=style, dtype="float32")(x)


MIN_CONTEXT_SIZE = 8


def check_context_size(size):
    """`size` as an int: 0 (no context) or a whole number of pixels of at least `MIN_CONTEXT_SIZE`."""
    if not isinstance(size, int | float) or int(size) != size or (size != 0 and size < MIN_CONTEXT_SIZE):
        raise ValueError(
            f"the context size must be 0 (none) or a whole number of at least {MIN_CONTEXT_SIZE} pixels, got {size!r}"
        )
    return int(size)


def _thumbnail_size(size):
    size = check_context_size(size)
    if not size:
        raise ValueError(f"a context thumbnail needs a context size of at least {MIN_CONTEXT_SIZE} pixels, got 0")
    return size


def context_thumbnail(rgb, size):
    """`training.imaging.context_thumbnail` with the student's context-size rule checked."""
    return imaging.context_thumbnail(rgb, _thumbnail_size(size))


def context_input(rgb, size, color_order, value_range):
    """A context student's second input for a whole RGB uint8 picture: `training.imaging.context_input`
    with the student's context-size rule checked, (1, size, size, 3) float32."""
    return imaging.context_input(rgb, _thumbnail_size(size), color_order, value_range)


def _context_parameters(context, widths):
    """FiLM parameters (scales and shifts for each width in turn) from the context thumbnail.
    The last layer starts at zero, so a student with a new context branch starts as it was."""
    x = context
    for step, filters in enumerate((16, 32, 64), start=1):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu", name=f"context{step}")(x)
    x = layers.GlobalAveragePooling2D(name="context_pool")(x)
    x = layers.Dense(128, activation="relu", name="context_dense")(x)
    return layers.Dense(2 * sum(widths), kernel_initializer="zeros", name="context_film")(x)


def build_student(styles=("student",), architecture=DEFAULT_ARCHITECTURE, context_size=0):
    """A student with one output (named after the style) per entry of `styles`.

    With `context_size`, the inputs are `[image, context]` (`context`: the whole picture,
    `context_thumbnail`, in the image's convention)."""
    stem_width, body_width, blocks, kind = check_architecture(architecture)
    styles = list(styles)
    if not styles or len(set(styles)) != len(styles):
        raise ValueError(f"styles must be distinct names, got {styles!r}")
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = _conv(inputs, stem_width, "stem")
    x = _conv(x, body_width // 2, "down1", strides=2)
    x = _conv(x, body_width, "down2", strides=2)
    if context_size:
        context = keras.Input(shape=(context_size, context_size, 3), name="context")
        parameters = _context_parameters(context, [body_width] * (blocks + 1))
        x = FeatureModulation(0, name="down2_film")([x, parameters])
        inputs = [inputs, context]
    for block in range(1, blocks + 1):
        x = _residual_block(x, kind, f"block{block}")
        if context_size:
            x = FeatureModulation(2 * body_width * block, name=f"block{block}_film")([x, parameters])
    outputs = {style: _head(x, stem_width, body_width, kind, style) for style in styles}
    name = f"student_{architecture}"
    return keras.Model(inputs, outputs if len(styles) > 1 else outputs[styles[0]], name=name)


def context_size_of(model):
    """The side of a student's context input (`build_student(context_size=...)`), or 0 without one."""
    return int(model.inputs[1].shape[1]) if len(model.inputs) > 1 else 0


def single_style(model, style):
    """The one-style model for `style`, sharing layers (and weights) with a multi-style `model`."""
    names = model.output_names if isinstance(model.output, dict | list) else [model.output_name]
    if style not in names:
        raise ValueError(f"the student has no style {style!r}; it has {names}")
    output = model.get_layer(style).output
    return keras.Model(model.input, output, name=f"student_{style}")


def receptive_field(architecture):
    """How many pixels on each side of an output pixel can change it (an upper bound).

    Each 3x3 conv adds its stride-scaled radius; nearest up-sampling by 2 can reach one more
    coarse pixel. Tiles that overlap by this many pixels (rounded up to SIZE_MULTIPLE) give the
    untiled result exactly; tests check the bound by perturbing single pixels.
    """
    _, _, blocks, _ = check_architecture(architecture)
    radius = 1  # stem, full size
    radius += 1 + 2  # down1 (at full size), down2 (at half size)
    radius += blocks * 2 * 4  # two 3x3 convs per block at a quarter size
    radius += 4 + 2  # up1 (nearest from quarter to half size, then 3x3 at half size)
    radius += 2 + 1 + 1  # up2 (nearest from half to full size, then 3x3), output 3x3
    return radius


def tile_overlap(architecture):
    """The receptive field rounded up to the size multiple, as tiling routines want it."""
    radius = receptive_field(architecture)
    return -(-radius // SIZE_MULTIPLE) * SIZE_MULTIPLE


def count_multiply_adds(model, height, width):
    """Multiply-adds of one forward pass of `model` on a `height` x `width` image.

    Counts every Conv2D, DepthwiseConv2D and Conv2DTranspose (bias adds, activations and a context
    branch's dense layers are well under 1% and not counted; its convolutions, on the context's
    fixed size, are). Works for any functional model, teachers and context students included.
    """
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers if _is_conv(layer)])
    context = [keras.KerasTensor((1, *x.shape[1:])) for x in model.inputs[1:]]  # fixed sizes
    specs = [keras.KerasTensor((1, height, width, 3)), *context]
    shapes = [tuple(out.shape) for out in probe.compute_output_spec(specs if len(specs) > 1 else specs[0])]
    total = 0
    for layer, shape in zip((layer for layer in model.layers if _is_conv(layer)), shapes):
        kernel = layer.kernel.shape
        pixels = shape[1] * shape[2]
        if isinstance(layer, layers.DepthwiseConv2D):
            total += pixels * kernel[0] * kernel[1] * kernel[2] * kernel[3]
        elif isinstance(layer, layers.Conv2DTranspose):
            # Computed at the input's resolution: each input pixel scatters a full kernel.
            total += pixels // (layer.strides[0] * layer.strides[1]) * kernel[0] * kernel[1] * kernel[2] * kernel[3]
        else:
            total += pixels * kernel[0] * kernel[1] * kernel[2] * kernel[3]
    return total


def _is_conv(layer):
    return isinstance(layer, layers.Conv2D | layers.DepthwiseConv2D | layers.Conv2DTranspose)
