"""Custom Keras layers of the CartoonGAN networks, built only from `keras.ops`.

The layers lower to plain TensorFlow ops (MirrorPad, Mean, SquaredDifference, Rsqrt, Mul, Add,
StridedSlice, ConcatV2) once a model is exported, so the exported SavedModel converts to a TF.js
graph model and to ONNX. `InstanceStatistics` and `NormalizationWithStatistics` are the two halves
of an `InstanceNormalization`, for stylizing in tiles with the statistics of the whole picture
(`training.tiling`).
"""

import keras
from keras import ops

# The published CartoonGAN instance norm adds this to the biased variance before the square root.
PUBLISHED_INSTANCE_NORM_EPSILON = 1e-9


@keras.saving.register_keras_serializable(package="cartoongan")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by mirroring, like PyTorch's `nn.ReflectionPad2d` (edge not repeated)."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if int(padding) < 1:
            raise ValueError(f"padding must be a positive integer, got {padding!r}")
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = 2 * self.padding
        return (
            batch,
            None if height is None else height + grow,
            None if width is None else width + grow,
            channels,
        )

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def _normalize(x, mean, variance, layer):
    """`(x - mean) / sqrt(variance + epsilon) * scale + shift` with the layer's epsilon, scale, shift."""
    return (x - mean) * ops.rsqrt(variance + layer.epsilon) * layer.scale + layer.shift


@keras.saving.register_keras_serializable(package="cartoongan")
class InstanceNormalization(keras.layers.Layer):
    """Per-sample, per-channel normalization over height and width, with a learned scale and shift.

    Computes `(x - mean) / sqrt(var + epsilon) * scale + shift` with the biased variance, exactly
    as the published CartoonGAN generator does. Channels-last input.
    """

    def __init__(self, epsilon=PUBLISHED_INSTANCE_NORM_EPSILON, **kwargs):
        super().__init__(**kwargs)
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be non-negative, got {epsilon!r}")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("InstanceNormalization needs a known number of channels")
        self.scale = self.add_weight(shape=(channels,), initializer="ones", name="scale")
        self.shift = self.add_weight(shape=(channels,), initializer="zeros", name="shift")

    def call(self, inputs):
        mean, variance = ops.moments(inputs, axes=[1, 2], keepdims=True)
        return _normalize(inputs, mean, variance, self)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="cartoongan")
class InstanceStatistics(keras.layers.Layer):
    """The per-channel mean and biased variance over height and width of an `InstanceNormalization`
    input, as one `(batch, 2 * channels)` row: the means, then the variances (`training.tiling`)."""

    def call(self, inputs):
        mean, variance = ops.moments(inputs, axes=[1, 2])
        return ops.concatenate([mean, variance], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[-1])


@keras.saving.register_keras_serializable(package="cartoongan")
class NormalizationWithStatistics(keras.layers.Layer):
    """`InstanceNormalization` with the mean and variance given instead of measured.

    Called on `[x, statistics]`; its mean and variance are the `2 * channels` columns of
    `statistics` from `offset` on (means, then variances, as `InstanceStatistics` writes them).
    With the statistics of the whole picture given, each output pixel of a tile depends only on
    the pixels around it (`training.tiling`).
    """

    def __init__(self, offset=0, epsilon=PUBLISHED_INSTANCE_NORM_EPSILON, **kwargs):
        super().__init__(**kwargs)
        if not int(offset) >= 0:
            raise ValueError(f"offset must be a non-negative column index, got {offset!r}")
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be non-negative, got {epsilon!r}")
        self.offset = int(offset)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[0][-1]
        if channels is None:
            raise ValueError("NormalizationWithStatistics needs a known number of channels")
        self.scale = self.add_weight(shape=(channels,), initializer="ones", name="scale")
        self.shift = self.add_weight(shape=(channels,), initializer="zeros", name="shift")

    def call(self, inputs):
        x, statistics = inputs
        channels, start = x.shape[-1], self.offset
        mean = statistics[:, None, None, start : start + channels]
        variance = statistics[:, None, None, start + channels : start + 2 * channels]
        return _normalize(x, mean, variance, self)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "offset": self.offset, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="cartoongan")
class NearestUpSampling2D(keras.layers.UpSampling2D):
    """`UpSampling2D` (nearest, channels last) computed as concatenations and reshapes.

    The same numbers as `UpSampling2D(interpolation="nearest")`, which Keras computes with
    `repeat`: exported, that is a `Tile` on a 5-D tensor, the slowest kernel of TF.js's WASM
    backend (measured in docs/students.md). Copies along the channels reshaped into columns, then
    copies of the rows reshaped into rows, are plain concatenations everywhere.
    """

    def __init__(self, size=(2, 2), interpolation="nearest", **kwargs):
        if interpolation != "nearest":
            raise ValueError(f"NearestUpSampling2D interpolates 'nearest' only, got {interpolation!r}")
        super().__init__(size=size, interpolation="nearest", **kwargs)
        if self.data_format != "channels_last":
            raise ValueError(f"NearestUpSampling2D supports channels_last only, got {self.data_format!r}")

    def call(self, inputs):
        batch, height, width, channels = ops.shape(inputs)
        rows, columns = self.size
        x = ops.concatenate([inputs] * columns, axis=-1) if columns > 1 else inputs
        x = ops.reshape(x, (batch, height, width * columns, channels))
        x = ops.concatenate([x] * rows, axis=2) if rows > 1 else x
        return ops.reshape(x, (batch, height * rows, width * columns, channels))


@keras.saving.register_keras_serializable(package="cartoongan")
class FeatureModulation(keras.layers.Layer):
    """`x * (1 + scale) + shift` per channel, called on `[x, parameters]`: the `2 * channels`
    columns of `parameters` from `offset` on (scales, then shifts) modulate `x` (FiLM, Perez et
    al. 2018). The parameters come from a picture's context, computed once and given to every tile."""

    def __init__(self, offset=0, **kwargs):
        super().__init__(**kwargs)
        if not int(offset) >= 0:
            raise ValueError(f"offset must be a non-negative column index, got {offset!r}")
        self.offset = int(offset)

    def build(self, input_shape):
        channels, width = input_shape[0][-1], input_shape[1][-1]
        if channels is None or width is None:
            raise ValueError(f"{self.name}: needs a known number of channels and of parameters")
        if self.offset + 2 * channels > width:
            raise ValueError(
                f"{self.name}: {2 * channels} parameters from column {self.offset} need a row of at least"
                f" {self.offset + 2 * channels}, got {width}"
            )

    def call(self, inputs):
        x, parameters = inputs
        channels, start = x.shape[-1], self.offset
        scale = parameters[:, None, None, start : start + channels]
        shift = parameters[:, None, None, start + channels : start + 2 * channels]
        return x * (1 + scale) + shift

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}
