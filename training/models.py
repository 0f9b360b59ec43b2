"""The CartoonGAN generator and discriminator as Keras functional models.

The generator is the network of the published CartoonGAN weights (Chen et al., CVPR 2018, as
released in PyTorch by the authors), layer for layer. Layer names are the published tensor names
(`conv01_1`, `in01_1`, `deconv01_1`, ...) so that importing weights is a lookup by name:

    7x7 conv (reflection pad 3) -> IN -> ReLU
    down x2: 3x3 conv stride 2 (zero pad 1) -> 3x3 conv (zero pad 1) -> IN -> ReLU
    8 residual blocks: [reflection pad 1 -> 3x3 conv -> IN -> ReLU -> reflection pad 1 -> 3x3 conv -> IN] + skip
    up x2: 3x3 transposed conv stride 2 (as PyTorch padding=1, output_padding=1) -> 3x3 conv (zero pad 1) -> IN -> ReLU
    7x7 conv (reflection pad 3) -> tanh

An input of height H gives an output of height 4 * ceil(ceil(H / 2) / 2) (the same for the width):
exactly H when H is a multiple of 4. Height and width must be at least `MIN_INPUT_SIZE` (5).
"""

import math

import keras
from keras import layers

from training.conventions import SIZE_MULTIPLE
from training.layers import InstanceNormalization, ReflectionPadding2D

GENERATOR_PARAMETERS = 11_129_667
RESIDUAL_BLOCKS = range(4, 12)  # published block numbers 04..11
# Reflection padding needs more pixels than it pads: 4 for the first 7x7 conv, and 2 at a quarter
# of the size for the residual blocks. 5 is the smallest height and width the network accepts.
MIN_INPUT_SIZE = 5


def generator_output_size(size):
    """The output height (or width) of the generator for an input height (or width)."""
    if size < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    return SIZE_MULTIPLE * math.ceil(math.ceil(size / 2) / 2)


def _zero_padded_conv(x, filters, strides, name):
    """A 3x3 conv with one pixel of zero padding on every side, as PyTorch `padding=1` does.

    Keras `padding="same"` pads only bottom/right for stride 2 on even sizes, which shifts the grid.
    """
    x = layers.ZeroPadding2D(1, name=f"pad_{name}")(x)
    return layers.Conv2D(filters, 3, strides=strides, name=name)(x)


def _transposed_conv(x, filters, name):
    """PyTorch `ConvTranspose2d(kernel_size=3, stride=2, padding=1, output_padding=1)`: size H -> 2H.

    A 'valid' transposed conv writes input pixel i to output rows 2i..2i+2 (size 2H + 1); PyTorch's
    padding=1 drops the first row and column of that, and output_padding=1 keeps the last.
    """
    x = layers.Conv2DTranspose(filters, 3, strides=2, padding="valid", name=name)(x)
    return layers.Cropping2D(((1, 0), (1, 0)), name=f"crop_{name}")(x)


def _instance_norm(x, name, relu=True):
    x = InstanceNormalization(name=name)(x)
    return layers.ReLU(name=f"relu_{name}")(x) if relu else x


def build_generator(name="cartoongan_generator"):
    """The CartoonGAN generator: float32 NHWC images in [-1, 1] of any size in, same range out.

    The published weights expect BGR channel order; a generator trained here uses whatever order
    its training data had (see `training.saving` for the recorded convention).
    """
    inputs = keras.Input(shape=(None, None, 3), name="image")

    x = ReflectionPadding2D(3, name="refpad01_1")(inputs)
    x = layers.Conv2D(64, 7, name="conv01_1")(x)
    x = _instance_norm(x, "in01_1")

    for block, filters in ((2, 128), (3, 256)):
        x = _zero_padded_conv(x, filters, 2, f"conv{block:02d}_1")
        x = _zero_padded_conv(x, filters, 1, f"conv{block:02d}_2")
        x = _instance_norm(x, f"in{block:02d}_1")

    for block in RESIDUAL_BLOCKS:
        skip = x
        x = ReflectionPadding2D(1, name=f"refpad{block:02d}_1")(x)
        x = layers.Conv2D(256, 3, name=f"conv{block:02d}_1")(x)
        x = _instance_norm(x, f"in{block:02d}_1")
        x = ReflectionPadding2D(1, name=f"refpad{block:02d}_2")(x)
        x = layers.Conv2D(256, 3, name=f"conv{block:02d}_2")(x)
        x = _instance_norm(x, f"in{block:02d}_2", relu=False)
        x = layers.Add(name=f"add{block:02d}")([x, skip])

    for up, (filters, norm) in enumerate(((128, "in12_1"), (64, "in13_1")), start=1):
        x = _transposed_conv(x, filters, f"deconv{up:02d}_1")
        x = _zero_padded_conv(x, filters, 1, f"deconv{up:02d}_2")
        x = _instance_norm(x, norm)

    x = ReflectionPadding2D(3, name="refpad12_1")(x)
    x = layers.Conv2D(3, 7, name="deconv03_1")(x)
    outputs = layers.Activation("tanh", name="tanh", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def build_discriminator(name="cartoongan_discriminator"):
    """The CartoonGAN discriminator of the paper: 7 convs, LeakyReLU 0.2, instance norm after the
    stride-1 convs of the two down blocks and the feature conv, and a one-channel patch output
    (one real/fake logit per patch, a quarter of the input size)."""
    inputs = keras.Input(shape=(None, None, 3), name="image")

    def conv(x, filters, strides, index, norm=False):
        x = layers.ZeroPadding2D(1, name=f"pad{index}")(x)
        x = layers.Conv2D(filters, 3, strides=strides, name=f"conv{index}")(x)
        if norm:
            x = InstanceNormalization(name=f"in{index}")(x)
        return layers.LeakyReLU(0.2, name=f"lrelu{index}")(x)

    x = conv(inputs, 32, 1, 1)
    x = conv(x, 64, 2, 2)
    x = conv(x, 128, 1, 3, norm=True)
    x = conv(x, 128, 2, 4)
    x = conv(x, 256, 1, 5, norm=True)
    x = conv(x, 256, 1, 6, norm=True)
    x = layers.ZeroPadding2D(1, name="pad7")(x)
    outputs = layers.Conv2D(1, 3, name="conv7", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
