"""Where a package comes from: a generator to convert, with its style, name and input convention.

A source is either a Keras generator (saved by `training`, or a published style imported through
`training.pretrained`) or a TensorFlow SavedModel whose input convention is given by the caller
(the light generators). Each source has two fingerprints:
- `content_sha256`: the network itself (architecture and weights); the package version is
  derived from it, so an unchanged model is recognized without converting it;
- `graph_key`: the architecture alone; styles sharing a network graph share profile figures.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from modelzoo import manifest as zoo_format
from modelzoo.constants import CONTEXT_INPUT, LIGHT_COLOR_ORDER, LIGHT_STYLES
from modelzoo.convert import context_size_of
from training.conventions import SIZE_MULTIPLE, TANH_RANGE, check_color_order

# Style ids as the model zoo's schema allows them (at most 64 characters; they are folder names).
STYLE_ID = re.compile(zoo_format.schema("catalogue")["$defs"]["id"]["pattern"])


@dataclass(frozen=True)
class Source:
    """A generator to package. Exactly one of `model` (Keras) and `saved_model_dir` is set."""

    id: str
    name: str
    input: dict
    content_sha256: str
    graph_key: str
    origin: str
    model: object = field(default=None, repr=False, compare=False)
    saved_model_dir: Path | None = None
    signature: str = "serving_default"
    receptive_field: int | None = None  # from the generator's metadata, when it says


def make_input(color_order, value_range, size_multiple=SIZE_MULTIPLE, context_size=0):
    """The `input` object of a manifest; `ValueError` for a convention that makes no sense. With
    `context_size`, the network also takes its whole picture squeezed to that square
    (`input.context`, docs/modelzoo-format.md)."""
    check_color_order(color_order)
    low, high = (float(v) for v in value_range)
    if not low < high:
        raise ValueError(f"value range must be increasing, got {list(value_range)!r}")
    if int(size_multiple) < 1:
        raise ValueError(f"size multiple must be a positive integer, got {size_multiple!r}")
    if int(context_size) < 0:
        raise ValueError(f"context size must be 0 (none) or a positive integer, got {context_size!r}")
    return {
        "color_order": color_order,
        "value_range": [low, high],
        "size_multiple": int(size_multiple),
        "layout": "NHWC",
        "dtype": "float32",
        **({"context": {"name": CONTEXT_INPUT, "size": int(context_size)}} if context_size else {}),
    }


def check_id(style_id):
    if not STYLE_ID.match(style_id or ""):
        raise ValueError(f"style id must match {STYLE_ID.pattern}, got {style_id!r}")
    return style_id


def keras_fingerprints(model):
    """`(content_sha256, graph_key)` of a Keras model: architecture (without the model's own
    name) and, for the content, every weight's path, shape and float32 bytes."""
    config = dict(model.get_config())
    config.pop("name", None)
    architecture = json.dumps(config, sort_keys=True, default=str).encode()
    graph = hashlib.sha256(architecture)
    content = hashlib.sha256(architecture)
    for weight in model.weights:
        array = weight.numpy()
        content.update(f"{weight.path}:{array.dtype}:{array.shape}".encode())
        content.update(array.tobytes())
    return content.hexdigest(), graph.hexdigest()


def saved_model_fingerprints(directory):
    """`(content_sha256, graph_key)` of a SavedModel folder: every file (path and bytes), and
    the graph file `saved_model.pb` alone."""
    directory = Path(directory)
    content = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != "fingerprint.pb"):
        content.update(path.relative_to(directory).as_posix().encode() + b"\0")
        content.update(path.read_bytes())
    graph = hashlib.sha256((directory / "saved_model.pb").read_bytes())
    return content.hexdigest(), graph.hexdigest()


def from_keras(model, metadata, origin):
    """A source from a Keras generator and its `training.saving` metadata."""
    from training.tiling import normalization_layers

    try:
        context_size = context_size_of(model)
    except ValueError as error:
        raise ValueError(f"{origin}: {error}") from None
    if context_size and normalization_layers(model):
        raise ValueError(f"{origin}: a network with a context input must not normalize with whole-picture statistics")
    convention = metadata["input"]
    content, graph = keras_fingerprints(model)
    return Source(
        id=check_id(metadata["style"]),
        name=metadata.get("display_name") or metadata["style"],
        input=make_input(
            convention["color_order"], convention["value_range"], convention["size_multiple"], context_size
        ),
        content_sha256=content,
        graph_key=graph,
        origin=origin,
        model=model,
        receptive_field=metadata.get("receptive_field"),
    )


def from_keras_file(path):
    """A source from a `.keras` generator saved by `training.saving.save_generator`."""
    from training.saving import load_generator

    model, metadata = load_generator(path)
    return from_keras(model, metadata, origin=f"keras generator {Path(path).name}")


def from_published(style, weights_dir=None):
    """A source from a published CartoonGAN style, imported through `training.pretrained` (from
    `training.settings.published_weights_dir(style)` unless `weights_dir` is given)."""
    from training.pretrained import import_published

    model, metadata = import_published(style, weights_dir)
    return from_keras(model, metadata, origin=metadata.get("source") or "published CartoonGAN weights")


def from_saved_model(
    directory, style_id, color_order, value_range, size_multiple=SIZE_MULTIPLE, name=None, signature="serving_default"
):
    """A source from a SavedModel folder whose signature takes and gives one NHWC image."""
    directory = Path(directory)
    if not (directory / "saved_model.pb").is_file():
        raise FileNotFoundError(f"{directory}: no saved_model.pb (not a SavedModel folder)")
    content, graph = saved_model_fingerprints(directory)
    return Source(
        id=check_id(style_id),
        name=name or style_id.replace("_", " ").title(),
        input=make_input(color_order, value_range, size_multiple),
        content_sha256=content,
        graph_key=graph,
        origin=f"SavedModel {directory.name}",
        saved_model_dir=directory,
        signature=signature,
    )


def light_sources(light_dir):
    """The two light generators of `light_dir` (`light_<style>_SavedModel`, RGB in [-1, 1])."""
    return [
        from_saved_model(Path(light_dir) / f"{style}_SavedModel", style, LIGHT_COLOR_ORDER, TANH_RANGE, name=name)
        for style, name in LIGHT_STYLES.items()
    ]
