"""Packages for stylizing in tiles (modelzoo/tiling.py): the manifest's `tiling` object, the
`onnx_tiles` variant of a generator with instance normalization, and the server stylizing in tiles
with it as `training.stylize` does with the Keras generator."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from backend.inference import Generators, tiling_of
from backend.zoo import Style
from modelzoo import manifest, sources, tiling
from modelzoo.constants import PARITY_THRESHOLDS_DB, TILES_VARIANT
from modelzoo.images import to_network
from modelzoo.testing import tiny_generator, tiny_metadata
from tests.test_tiling import synthetic_picture
from tests.tiling_helpers import local_generator
from training.saving import make_metadata
from training.stylize import Stylizer


def test_tiling_object_of_each_kind_of_source(tmp_path):
    with_statistics = sources.from_keras(tiny_generator(), tiny_metadata(), "test")
    assert tiling.describe(with_statistics) == {"receptive_field": 10, "overlap": 12, "statistics": True}
    local = sources.from_keras(local_generator(), make_metadata("local", "RGB"), "test")
    assert tiling.describe(local) == {"receptive_field": 14, "overlap": 16, "statistics": False}
    told = sources.from_keras(local_generator(), make_metadata("local", "RGB") | {"receptive_field": 21}, "test")
    assert tiling.describe(told) == {"receptive_field": 21, "overlap": 24, "statistics": False}
    (tmp_path / "saved_model.pb").write_bytes(b"")
    assert tiling.describe(sources.from_saved_model(tmp_path, "light", "RGB", (-1, 1))) is None


@pytest.fixture(scope="module")
def tiles_package(tmp_path_factory):
    """A package folder with the `onnx_tiles` variant of the tiny generator, and its Keras source."""
    folder = tmp_path_factory.mktemp("package")
    source = sources.from_keras(tiny_generator(seed=4), tiny_metadata(), "test")
    rng = np.random.default_rng(0)
    inputs = [to_network(rng.uniform(0, 1, (40, 56, 3)), source.input)]
    references = [np.asarray(source.model(inputs[0]))]
    variant = tiling.onnx_tiles_variant(
        source, tmp_path_factory.mktemp("work"), folder, inputs, references, 13, PARITY_THRESHOLDS_DB["onnx"]
    )
    return folder, variant, source


def tiles_manifest(variant, source):
    """A manifest whose only variant is `variant` (`onnx_tiles`)."""
    return {
        "format": 1,
        "id": "tiny",
        "name": "Tiny",
        "version": "0123456789ab",
        "input": source.input,
        "preview": "preview.jpg",
        "files": [],
        "webgl_settings": {"WEBGL_CONV_IM2COL": False, "WEBGL_DELETE_TEXTURE_THRESHOLD": 0},
        "tiling": tiling.describe(source),
        "variants": {TILES_VARIANT: variant},
    }


@pytest.mark.slow
def test_onnx_tiles_variant_is_the_source_model_and_valid(tiles_package):
    folder, variant, source = tiles_package
    assert variant["model"] == "tile.onnx" and variant["statistics_model"] == "statistics.onnx"
    assert {f["path"] for f in variant["files"]} == {"tile.onnx", "statistics.onnx"}
    assert variant["parity"]["psnr_db"] >= PARITY_THRESHOLDS_DB["onnx"]
    manifest.validate(tiles_manifest(variant, source), "manifest")


@pytest.mark.slow
def test_server_tiles_like_the_command_line(tiles_package):
    """The server's tiles (ONNX statistics and tile graphs, onnxruntime) give the picture that
    `training.stylize` gives in tiles with the Keras generator (same tile, same statistics)."""
    folder, variant, source = tiles_package
    describe = tiling.describe(source)
    data = tiles_manifest(variant, source)
    style = Style("tiny", "Tiny", data["version"], Path(folder), None, data)
    assert tiling_of(style, 64) == describe
    assert tiling_of(style, 24) is None  # not over twice the overlap
    assert tiling_of(replace(style, manifest={**data, "variants": {}}), 64) is None
    picture = synthetic_picture(192, 256)  # the statistics copy (96x128) needs no padding
    served = Generators("onnx", tile=128).run(style, picture)
    local = Stylizer(source.model, {"input": source.input}, tile=128)(picture)
    assert np.abs(served.astype(int) - local).max() <= 1
    whole = Stylizer(source.model, {"input": source.input}, tile=0)(picture)
    assert np.abs(served.astype(int) - whole).max() > 1  # tiled: statistics of the downscaled copy
