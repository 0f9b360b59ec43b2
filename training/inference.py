"""Fast inference with a generator on the CPU, and the generator's arithmetic cost.

`compile_generator(model)` wraps a Keras generator in a traced TensorFlow graph (see its docstring
for what was measured); `generator_flops(height, width)` counts the floating-point operations of
one forward pass, for benchmarks.
"""

import math

import numpy as np
import tensorflow as tf


def generator_flops(height, width):
    """Floating-point operations of one generator forward pass on a `height` x `width` image.

    Counts 2 x the multiply-adds of every conv and transposed conv (bias adds, normalization,
    padding and activations are well under 1% and not counted); a transposed conv does its
    multiply-adds at its input's resolution. Sizes that are not multiples of 4 follow the
    network's rounding: the stride-2 convs give ceil(H / 2), and the upsampling path doubles
    ceil(ceil(H / 2) / 2) twice.
    """
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be positive, got {height}x{width}")
    half_h, half_w = math.ceil(height / 2), math.ceil(width / 2)
    full, half, quarter = height * width, half_h * half_w, math.ceil(half_h / 2) * math.ceil(half_w / 2)
    up_half, up_full = 4 * quarter, 16 * quarter
    multiply_adds = (
        full * 49 * 3 * 64  # conv01_1, 7x7
        + half * 9 * (64 * 128 + 128 * 128)  # conv02_1 (stride 2), conv02_2
        + quarter * 9 * (128 * 256 + 256 * 256)  # conv03_1 (stride 2), conv03_2
        + quarter * 9 * 256 * 256 * 16  # 8 residual blocks of two convs
        + quarter * 9 * 256 * 128
        + up_half * 9 * 128 * 128  # deconv01_1 (transposed), deconv01_2
        + up_half * 9 * 128 * 64
        + up_full * 9 * 64 * 64  # deconv02_1 (transposed), deconv02_2
        + up_full * 49 * 64 * 3  # deconv03_1, 7x7
    )
    return 2 * multiply_adds


def compile_generator(model):
    """Returns `generate(x) -> np.ndarray`, the output of `model(x)` for float32 NHWC images.

    The model runs as one `tf.function` traced with unknown batch, height and width (an input
    signature with `None` dimensions), so photos of every size share a single trace, and without
    XLA. Measured with `bench/bench_stylize.py` on the 2-core development machine (AMD EPYC,
    TensorFlow 2.19, oneDNN on), 512x512: this graph 1.34 s and 1.1 GB peak RSS; eager
    `model(x)` 1.43 s and 3.3 GB (11 GB at 1024x1024); `jit_compile=True` (XLA) 1.66 s, 35% more
    CPU time, and a 3-10 s compilation for every new image size; `TF_ENABLE_ONEDNN_OPTS=0` about
    30% more CPU time. In the graph, oneDNN fuses each conv with its bias (and zero padding).
    Thread pools are left at TensorFlow's defaults (one intra-op thread per core). Results equal
    `model(x)` up to float32 rounding (about 1e-5).

    A model with further inputs after the image (the tile model of `training.tiling`, which also
    takes the statistics) is called as `generate(x, *others)`.
    """
    extra = [tf.TensorSpec((None, *tensor.shape[1:]), tf.float32) for tensor in model.inputs[1:]]
    forward = tf.function(
        lambda images, *others: model([images, *others] if others else images, training=False),
        input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32), *extra],
        jit_compile=False,
    )

    def generate(images, *others):
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"expected float32 images of shape (batch, height, width, 3), got {images.shape}")
        if len(others) != len(extra):
            raise ValueError(f"the model takes {len(extra)} input(s) after the image, got {len(others)}")
        return forward(images, *(np.asarray(other, dtype=np.float32) for other in others)).numpy()

    generate.function = forward  # the traced function, for inspection
    return generate
