"""Saving and loading generators together with their input convention.

A saved generator is one Keras `.keras` archive. Next to Keras's own members it holds
`cartoongan.json`, which says what the network expects and gives:

    {"format": 1, "style": "hayao", "display_name": "Hayao",
     "input": {"color_order": "BGR", "value_range": [-1.0, 1.0], "size_multiple": 4},
     "parameters": 11129667, "source": "..."}

Keras ignores the extra member when loading; `load_generator` reads both.
"""

import json
import zipfile
from pathlib import Path

import keras

import training.layers  # noqa: F401  (registers the custom layers for deserialization)
from training.conventions import SIZE_MULTIPLE, TANH_RANGE, check_color_order

METADATA_MEMBER = "cartoongan.json"
METADATA_FORMAT = 1


def make_metadata(style, color_order, display_name=None, source=None, value_range=TANH_RANGE):
    """The metadata dict of a generator; `ValueError` for an unknown color order or bad range."""
    check_color_order(color_order)
    low, high = (float(v) for v in value_range)
    if not low < high:
        raise ValueError(f"value_range must be increasing, got {value_range!r}")
    if not style or not str(style).strip():
        raise ValueError("style must be a non-empty name")
    return {
        "format": METADATA_FORMAT,
        "style": str(style),
        "display_name": display_name or str(style).replace("_", " ").title(),
        "input": {"color_order": color_order, "value_range": [low, high], "size_multiple": SIZE_MULTIPLE},
        "source": source,
    }


def save_generator(model, path, metadata):
    """Writes `model` and `metadata` to the `.keras` archive `path` (parents created)."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"a generator is saved as a .keras file, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.keras")
    model.save(partial)
    with zipfile.ZipFile(partial, "a") as archive:
        archive.writestr(METADATA_MEMBER, json.dumps({**metadata, "parameters": model.count_params()}, indent=2))
    partial.replace(path)
    return path


def read_metadata(path):
    """The metadata of a saved generator without loading its weights."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(METADATA_MEMBER))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such generator file") from None
    except (zipfile.BadZipFile, KeyError) as error:
        raise ValueError(f"{path}: not a generator saved by `training` ({error})") from None


def load_generator(path):
    """Returns `(model, metadata)` for a generator saved with `save_generator`."""
    metadata = read_metadata(path)
    model = keras.saving.load_model(path, compile=False)
    return model, metadata
