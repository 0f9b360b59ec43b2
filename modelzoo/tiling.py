"""Packages for stylizing in tiles (`training.tiling`): the manifest's `tiling` object, and the
`onnx_tiles` variant of generators with instance normalization.

- `describe(source)`: `{"receptive_field", "overlap", "statistics"}` for a Keras generator: the
  receptive field from its metadata or computed from its layers, the overlap tiles need (rounded
  up to the size multiple), and whether it normalizes with statistics of the whole picture.
  `None` for a SavedModel source (its layers are not known) or a layer that cannot be tiled.
- `onnx_tiles_variant(...)`: for a generator with statistics, two ONNX graphs for the server:
  `statistics.onnx` (`image` -> `statistics`, one row: each normalization's means then variances)
  and `tile.onnx` (`image`, `statistics` -> `output_0`). The server runs the first once on the
  picture downscaled to its tile size and the second on every tile. Its parity is
  `tile.onnx(x, statistics.onnx(x))` against the source model, which must be the same picture.
  A separate variant, so that phones downloading `onnx` do not fetch two more copies of the weights.
"""

from pathlib import Path

from modelzoo import convert, parity
from modelzoo.constants import (
    ONNX_FORMAT,
    STATISTICS_INPUT,
    STATISTICS_ONNX_FILE,
    TILE_ONNX_FILE,
)


def describe(source):
    """The manifest's `tiling` object for `source`, or None when it cannot be tiled."""
    if source.model is None:
        return None
    from training import tiling

    multiple = int(source.input["size_multiple"])
    try:
        radius = source.receptive_field
        if radius is None:
            radius = tiling.receptive_field(source.model, given_statistics=True)
        overlap = tiling.overlap_of(source.model, {"receptive_field": radius}, multiple)
    except ValueError:
        return None
    return {
        "receptive_field": int(radius),
        "overlap": overlap,
        "statistics": bool(tiling.normalization_layers(source.model)),
    }


def export_saved_models(model, work_dir):
    """`(statistics SavedModel folder, tile SavedModel folder)` of a generator with instance
    normalization, with the signature names the ONNX graphs keep."""
    import tensorflow as tf

    from training.tiling import statistics_models

    statistics_model, tile_model = statistics_models(model)
    columns = int(statistics_model.output.shape[-1])
    image_spec = tf.TensorSpec([None, None, None, 3], tf.float32, name="image")

    class Statistics(tf.Module):
        def __init__(self):
            super().__init__()
            self.model = statistics_model

        @tf.function(input_signature=[image_spec])
        def serve(self, image):
            return {STATISTICS_INPUT: self.model(image, training=False)}

    class Tile(tf.Module):
        def __init__(self):
            super().__init__()
            self.model = tile_model

        @tf.function(input_signature=[image_spec, tf.TensorSpec([None, columns], tf.float32, name=STATISTICS_INPUT)])
        def serve(self, image, statistics):
            return {"output_0": self.model([image, statistics], training=False)}

    folders = []
    for name, module in (("statistics", Statistics()), ("tile", Tile())):
        folder = Path(work_dir) / f"exported-{name}"
        tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
        folders.append(folder)
    return tuple(folders)


def onnx_tiles_outputs(statistics_path, tile_path, inputs):
    """`tile.onnx(x, statistics.onnx(x))` for each input, in onnxruntime."""
    import onnxruntime

    providers = ["CPUExecutionProvider"]
    statistics = onnxruntime.InferenceSession(str(statistics_path), providers=providers)
    tile = onnxruntime.InferenceSession(str(tile_path), providers=providers)
    outputs = []
    for x in inputs:
        row = statistics.run(None, {"image": x})[0]
        outputs.append(tile.run(None, {"image": x, STATISTICS_INPUT: row})[0])
    return outputs


def onnx_tiles_variant(source, work_dir, package_dir, inputs, references, opset, threshold_db):
    """Converts, checks and describes the `onnx_tiles` variant of a generator with statistics;
    raises `ParityError` when the two graphs together are not the source model."""
    package_dir = Path(package_dir)
    statistics_dir, tile_dir = export_saved_models(source.model, work_dir)
    statistics_path = convert.to_onnx(statistics_dir, package_dir / STATISTICS_ONNX_FILE, opset)
    tile_path = convert.to_onnx(tile_dir, package_dir / TILE_ONNX_FILE, opset)
    return parity.checked_entry(
        "onnx_tiles",
        onnx_tiles_outputs(statistics_path, tile_path, inputs),
        references,
        source.input,
        threshold_db,
        ONNX_FORMAT,
        [statistics_path, tile_path],
        package_dir,
        tile_path,
        statistics_model=statistics_path.relative_to(package_dir).as_posix(),
        opset=int(opset),
        signature={"input": "image", "statistics": STATISTICS_INPUT, "output": "output_0"},
    )
