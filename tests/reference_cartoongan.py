"""An independent NumPy forward pass of the published CartoonGAN generator, for checking the
Keras port. Written from the authors' PyTorch network definition, in PyTorch's NCHW layout and
PyTorch's padding semantics, in float64, reading the published `.npy` files directly; it shares
no code with `training/`."""

from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def load_tensors(weights_dir):
    return {path.stem: np.load(path).astype(np.float64) for path in Path(weights_dir).glob("*.npy")}


def conv2d(x, weight, bias, stride=1, zero_pad=0):
    """PyTorch nn.Conv2d on one CHW image; weight (out, in, kh, kw)."""
    if zero_pad:
        x = np.pad(x, ((0, 0), (zero_pad, zero_pad), (zero_pad, zero_pad)))
    kernel = weight.shape[2]
    windows = sliding_window_view(x, (kernel, kernel), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("chwij,ocij->ohw", windows, weight, optimize=True) + bias[:, None, None]


def conv_transpose2d(x, weight, bias):
    """PyTorch nn.ConvTranspose2d(kernel 3, stride 2, padding 1, output_padding 1); weight (in, out, 3, 3)."""
    channels, height, width = x.shape
    full = np.zeros((weight.shape[1], 2 * height + 1, 2 * width + 1))
    for a in range(3):
        for b in range(3):
            full[:, a : a + 2 * height : 2, b : b + 2 * width : 2] += np.einsum("chw,co->ohw", x, weight[:, :, a, b])
    return full[:, 1 : 2 * height + 1, 1 : 2 * width + 1] + bias[:, None, None]


def reflect(x, pad):
    return np.pad(x, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")


def instance_norm(x, scale, shift, eps=1e-9):
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = ((x - mean) ** 2).mean(axis=(1, 2), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * scale[:, None, None] + shift[:, None, None]


def relu(x):
    return np.maximum(x, 0)


def forward(t, image_chw):
    """The published generator on one CHW image (BGR, [-1, 1]); returns CHW in [-1, 1]."""

    def c(name, x, **kw):
        return conv2d(x, t[f"{name}.weight"], t[f"{name}.bias"], **kw)

    def norm(name, x):
        return instance_norm(x, t[f"{name}.scale"], t[f"{name}.shift"])

    y = relu(norm("in01_1", c("conv01_1", reflect(image_chw, 3))))
    y = relu(norm("in02_1", c("conv02_2", c("conv02_1", y, stride=2, zero_pad=1), zero_pad=1)))
    y = relu(norm("in03_1", c("conv03_2", c("conv03_1", y, stride=2, zero_pad=1), zero_pad=1)))
    for block in range(4, 12):
        h = relu(norm(f"in{block:02d}_1", c(f"conv{block:02d}_1", reflect(y, 1))))
        y = norm(f"in{block:02d}_2", c(f"conv{block:02d}_2", reflect(h, 1))) + y
    for up, name in ((1, "in12_1"), (2, "in13_1")):
        y = conv_transpose2d(y, t[f"deconv{up:02d}_1.weight"], t[f"deconv{up:02d}_1.bias"])
        y = relu(norm(name, c(f"deconv{up:02d}_2", y, zero_pad=1)))
    return np.tanh(c("deconv03_1", reflect(y, 3)))
