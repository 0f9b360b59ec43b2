"""The generator's route to phones: Keras 3 -> `model.export()` SavedModel -> TF.js graph model."""

import json

import numpy as np
import pytest
import tensorflow as tf

from training.models import build_generator


@pytest.fixture(scope="module")
def saved_model_dir(tmp_path_factory):
    model = build_generator()
    path = tmp_path_factory.mktemp("export") / "saved_model"
    model.export(str(path), verbose=False)
    return model, path


def test_exported_saved_model_computes_what_keras_computes(saved_model_dir):
    model, path = saved_model_dir
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    image = np.random.default_rng(0).uniform(-1, 1, (1, 22, 31, 3)).astype("float32")
    (output,) = serve(tf.constant(image)).values()
    np.testing.assert_allclose(output.numpy(), np.asarray(model(image)), atol=1e-5)


def test_saved_model_converts_to_a_tfjs_graph_model(saved_model_dir, tmp_path):
    from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model

    _, path = saved_model_dir
    convert_tf_saved_model(str(path), str(tmp_path), quantization_dtype_map={"uint8": True},
                           weight_shard_size_bytes=4 * 1024 * 1024)
    manifest = json.loads((tmp_path / "model.json").read_text())
    assert manifest["format"] == "graph-model"
    ops = {node["op"] for node in manifest["modelTopology"]["node"]}
    assert {"MirrorPad", "Conv2D", "Conv2DBackpropInput", "Tanh"} <= ops
    shards = [name for group in manifest["weightsManifest"] for name in group["paths"]]
    sizes = [(tmp_path / name).stat().st_size for name in shards]
    assert all(size <= 4 * 1024 * 1024 for size in sizes)
    # uint8 quantization: about one byte per parameter (11.1 M) plus per-tensor ranges.
    assert 11_000_000 < sum(sizes) < 11_500_000
    weights = {w["name"]: w for group in manifest["weightsManifest"] for w in group["weights"]}
    assert all(w.get("quantization", {}).get("dtype") == "uint8" for w in weights.values() if w["dtype"] == "float32")
