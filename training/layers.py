"""Custom Keras layers of the CartoonGAN networks, built only from `keras.ops`.

Both layers lower to plain TensorFlow ops (MirrorPad, Mean, SquaredDifference, Rsqrt, Mul, Add)
once a model is exported, so the exported SavedModel converts to a TF.js graph model.
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
        normalized = (inputs - mean) * ops.rsqrt(variance + self.epsilon)
        return normalized * self.scale + self.shift

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
