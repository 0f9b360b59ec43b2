"""Small networks for the tiling tests and benchmark: a tile-friendly local network in the shape
of the phone students (no normalization), and the receptive field measured by perturbation."""

import keras
import numpy as np
from keras import layers

from training.layers import FeatureModulation


def local_generator(seed=0, width=8, name="local_generator", context_size=0):
    """3x3 conv, two stride-2 convs (one pixel of zero padding, 'valid'), a depthwise-separable
    residual block at a quarter of the size, two [nearest x2 up-sampling -> 3x3 conv], tanh:
    sides that are multiples of 4 keep their size. Receptive field: 14 pixels. With `context_size`,
    a second input (`context`, the picture squeezed to that square) modulates the block's output
    (as a context student's does, `training.students`)."""
    keras.utils.set_random_seed(seed)
    inputs = image = keras.Input(shape=(None, None, 3), name="image")
    x = layers.Conv2D(width, 3, padding="same", activation="relu", name="stem")(inputs)
    for step in (1, 2):
        x = layers.ZeroPadding2D(1, name=f"down{step}_pad")(x)
        x = layers.Conv2D(2 * width, 3, strides=2, activation="relu", name=f"down{step}")(x)
    skip = x
    x = layers.DepthwiseConv2D(3, padding="same", name="block_dw")(x)
    x = layers.Conv2D(2 * width, 1, activation="relu", name="block_pw")(x)
    x = layers.Add(name="block_add")([x, skip])
    if context_size:
        context = keras.Input(shape=(context_size, context_size, 3), name="context")
        parameters = layers.Conv2D(width, 3, strides=2, activation="relu", name="context_conv")(context)
        parameters = layers.GlobalAveragePooling2D(name="context_pool")(parameters)
        parameters = layers.Dense(4 * width, name="context_film")(parameters)
        x = FeatureModulation(0, name="block_film")([x, parameters])
        inputs = [image, context]
    for step in (1, 2):
        x = layers.UpSampling2D(2, name=f"up{step}")(x)
        x = layers.Conv2D(width if step == 1 else 3, 3, padding="same", name=f"up{step}_conv")(x)
        if step == 1:
            x = layers.ReLU(name="up1_relu")(x)
    outputs = layers.Activation("tanh", name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)


def measured_receptive_field(run, size, seed=0):
    """How far (in pixels, either axis) a change of the centre pixel of a `size` x `size` picture
    reaches in `run(x) -> y` (NHWC float arrays of the same size)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (1, size, size, 3)).astype("float32")
    y = np.asarray(run(x))
    centre = size // 2
    x[0, centre, centre] = -x[0, centre, centre] + 0.5
    changed = np.argwhere(np.abs(np.asarray(run(x)) - y).max(axis=(0, 3)) > 1e-6)
    return int(np.abs(changed - centre).max())


# Run in a child Python: the command line, then its own peak resident memory (VmHWM: the high-water
# mark of this process's memory since it started; getrusage's ru_maxrss would also count what the
# parent had resident when it forked).
_PEAK_RSS = (
    "import sys; from training.cli import main; status = main(sys.argv[1:]); "
    "hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM')); "
    "print('VmHWM', int(hwm.split()[1]) * 1024); sys.exit(status)"
)


def cli_peak_rss(arguments, env=None):
    """Runs `python -m training ARGUMENTS` in a fresh process; returns its peak RSS in bytes."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, *map(str, arguments)], env=env, capture_output=True, text=True, cwd=root
    )
    if result.returncode != 0:
        raise RuntimeError(f"stylize failed (exit {result.returncode}): {result.stderr[-2000:]}")
    return int(result.stdout.split("VmHWM")[-1])
