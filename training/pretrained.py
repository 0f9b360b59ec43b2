"""Importing the published CartoonGAN weights (one `.npy` per PyTorch tensor) into Keras.

Layouts of the published files:
- `convNN_M.weight.npy`: a conv kernel, PyTorch `(out, in, kh, kw)`; Keras wants `(kh, kw, in, out)`.
- `deconv0N_1.weight.npy` for N = 1, 2: a transposed conv, PyTorch `(in, out, kh, kw)`; Keras wants
  `(kh, kw, out, in)`. Both are the same axis permutation, (2, 3, 1, 0).
- `*.bias.npy`: biases; `inNN_M.scale.npy` / `inNN_M.shift.npy`: instance-norm parameters.
The generators take BGR images scaled to [-1, 1] and return BGR in [-1, 1].
"""

from pathlib import Path

import numpy as np

from training.layers import InstanceNormalization
from training.models import build_generator
from training.saving import make_metadata

STYLES = {"hayao": "Hayao", "hosoda": "Hosoda", "paprika": "Paprika", "shinkai": "Shinkai"}
PUBLISHED_COLOR_ORDER = "BGR"
SOURCE = "CartoonGAN (Chen et al., CVPR 2018), weights as published by the authors"
KERNEL_PERMUTATION = (2, 3, 1, 0)


def check_style(style):
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; published styles: {', '.join(STYLES)}")
    return style


def published_tensors(model):
    """`{file stem: (layer, weight index)}` for every published tensor of the generator."""
    tensors = {}
    for layer in model.layers:
        if isinstance(layer, InstanceNormalization):
            tensors[f"{layer.name}.scale"] = (layer, 0)
            tensors[f"{layer.name}.shift"] = (layer, 1)
        elif layer.weights:
            tensors[f"{layer.name}.weight"] = (layer, 0)
            tensors[f"{layer.name}.bias"] = (layer, 1)
    return tensors


def to_keras_layout(name, array):
    """Converts one published tensor to the layout of its Keras weight."""
    return np.transpose(array, KERNEL_PERMUTATION) if name.endswith(".weight") else array


def load_published_weights(model, weights_dir):
    """Sets every weight of a generator from the `.npy` files in `weights_dir`.

    Raises `FileNotFoundError` naming the missing files, `ValueError` naming a tensor of the
    wrong shape; the model is left unchanged in both cases.
    """
    weights_dir = Path(weights_dir)
    if not weights_dir.is_dir():
        raise FileNotFoundError(f"{weights_dir}: no such folder of published weights")
    tensors = published_tensors(model)
    missing = sorted(name for name in tensors if not (weights_dir / f"{name}.npy").is_file())
    if missing:
        raise FileNotFoundError(f"{weights_dir}: {len(missing)} weight files missing, e.g. {missing[0]}.npy")

    layer_weights = {}
    for name, (layer, index) in tensors.items():
        array = to_keras_layout(name, np.load(weights_dir / f"{name}.npy", allow_pickle=False))
        expected = tuple(layer.weights[index].shape)
        if array.shape != expected:
            raise ValueError(f"{weights_dir / name}.npy: shape {array.shape} after conversion, expected {expected}")
        layer_weights.setdefault(layer.name, [None] * len(layer.weights))[index] = array.astype("float32")
    for layer_name, arrays in layer_weights.items():
        model.get_layer(layer_name).set_weights(arrays)
    return model


def import_published(style, weights_dir=None):
    """Builds the generator of a published style from `weights_dir` (by default
    `training.settings.published_weights_dir(style)`); returns `(model, metadata)`."""
    from training import settings

    check_style(style)
    weights_dir = weights_dir or settings.published_weights_dir(style)
    model = load_published_weights(build_generator(name=f"cartoongan_{style}"), weights_dir)
    metadata = make_metadata(style, PUBLISHED_COLOR_ORDER, display_name=STYLES[style], source=SOURCE)
    return model, metadata


def add_arguments(parser):
    from training import settings

    parser.add_argument("--style", required=True, choices=sorted(STYLES), help="published style")
    parser.add_argument(
        "--weights-dir",
        help=f"folder of the style's .npy tensors (default: {settings.pretrained_dir()}/STYLE)",
    )
    parser.add_argument("--output", required=True, help="the .keras file to write")


def run(args):
    from training import settings
    from training.saving import save_generator

    weights_dir = args.weights_dir or settings.published_weights_dir(args.style)
    model, metadata = import_published(args.style, weights_dir)
    path = save_generator(model, args.output, metadata)
    print(f"{args.style}: {model.count_params():,} parameters from {weights_dir} -> {path}")
    return 0
