"""A small randomly initialized generator with the layer types of the CartoonGAN generator, for
tests and quick smoke builds (the full generator is 11 M parameters and seconds per image)."""

import keras
from keras import layers

from training.layers import InstanceNormalization, ReflectionPadding2D
from training.saving import make_metadata


def tiny_generator(seed=0, width=8, name="tiny_generator"):
    """Reflection pad + conv + instance norm, a stride-2 down conv, a residual block, a transposed
    conv cropped as PyTorch's, and a tanh output: sides a multiple of 4 keep their size."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = ReflectionPadding2D(3, name="refpad01")(inputs)
    x = layers.Conv2D(width, 7, name="conv01")(x)
    x = layers.ReLU(name="relu01")(InstanceNormalization(name="in01")(x))
    x = layers.ZeroPadding2D(1, name="pad02")(x)
    x = layers.Conv2D(2 * width, 3, strides=2, name="conv02")(x)
    x = layers.ReLU(name="relu02")(InstanceNormalization(name="in02")(x))
    skip = x
    x = ReflectionPadding2D(1, name="refpad03")(x)
    x = layers.Conv2D(2 * width, 3, name="conv03")(x)
    x = layers.Add(name="add03")([InstanceNormalization(name="in03")(x), skip])
    x = layers.Conv2DTranspose(width, 3, strides=2, padding="valid", name="deconv01")(x)
    x = layers.Cropping2D(((1, 0), (1, 0)), name="crop01")(x)
    x = layers.ReLU(name="relu04")(InstanceNormalization(name="in04")(x))
    x = ReflectionPadding2D(3, name="refpad05")(x)
    x = layers.Conv2D(3, 7, name="conv05")(x)
    outputs = layers.Activation("tanh", name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)


def tiny_metadata(style="tiny", color_order="BGR"):
    return make_metadata(style, color_order, display_name=style.title(), source="modelzoo.testing.tiny_generator")
