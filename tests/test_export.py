"""The generator's route to phones, as the model zoo takes it: Keras 3 -> `convert.export_saved_model`
(a traced SavedModel) -> `convert.to_tfjs` (a TF.js graph model)."""

import json

import numpy as np
import pytest
import tensorflow as tf

from modelzoo import convert
from training.models import GENERATOR_PARAMETERS, build_generator

SHARD_BYTES = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def saved_model_dir(tmp_path_factory):
    model = build_generator()
    path = convert.export_saved_model(model, tmp_path_factory.mktemp("export") / "saved_model")
    return model, path


@pytest.mark.slow
def test_exported_saved_model_computes_what_keras_computes(saved_model_dir):
    model, path = saved_model_dir
    assert convert.signature_names(path) == (("image",), "output_0")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    image = np.random.default_rng(0).uniform(-1, 1, (1, 22, 31, 3)).astype("float32")
    (output,) = serve(tf.constant(image)).values()
    np.testing.assert_allclose(output.numpy(), np.asarray(model(image)), atol=1e-5)
    # One float32 copy of the weights (`model.export()` would store every variable twice).
    stored = sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
    assert 4 * GENERATOR_PARAMETERS < stored < 1.1 * 4 * GENERATOR_PARAMETERS


def test_a_network_that_sees_its_whole_picture_exports_both_inputs(tmp_path):
    from tests.tiling_helpers import local_generator

    model = local_generator(context_size=16)
    path = convert.export_saved_model(model, tmp_path / "saved_model")
    assert convert.signature_names(path) == (("image", "context"), "output_0")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    assert serve.structured_input_signature[1]["context"].shape.as_list() == [None, 16, 16, 3]
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, (1, 20, 28, 3)).astype("float32")
    context = rng.uniform(-1, 1, (1, 16, 16, 3)).astype("float32")
    (output,) = serve(image=tf.constant(image), context=tf.constant(context)).values()
    np.testing.assert_allclose(output.numpy(), np.asarray(model([image, context])), atol=1e-5)


@pytest.mark.slow
def test_saved_model_converts_to_a_tfjs_graph_model(saved_model_dir, tmp_path):
    _, path = saved_model_dir
    model_json = convert.to_tfjs(path, tmp_path, {"uint8": True}, SHARD_BYTES)
    manifest = json.loads(model_json.read_text())
    assert manifest["format"] == "graph-model"
    ops = {node["op"] for node in manifest["modelTopology"]["node"]}
    assert {"MirrorPad", "Conv2D", "Conv2DBackpropInput", "Tanh"} <= ops
    shards = [name for group in manifest["weightsManifest"] for name in group["paths"]]
    sizes = [(tmp_path / name).stat().st_size for name in shards]
    assert all(size <= SHARD_BYTES for size in sizes)
    # uint8 quantization: about one byte per parameter (11.1 M) plus per-tensor ranges.
    assert 11_000_000 < sum(sizes) < 11_500_000
    weights = {w["name"]: w for group in manifest["weightsManifest"] for w in group["weights"]}
    assert all(w.get("quantization", {}).get("dtype") == "uint8" for w in weights.values() if w["dtype"] == "float32")
