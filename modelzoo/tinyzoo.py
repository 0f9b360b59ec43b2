"""A tiny model zoo in seconds, for the backend's tests and the quick benchmark: packages of the
model zoo's format (docs/modelzoo-format.md) written and checked by its own code.

Each style is a two-conv network (3x3 conv + ReLU, 3x3 conv + tanh). Its `savedmodel` variant is
the Keras model's `model.export()`; its `onnx` variant is the same network with the same weights
written with `onnx.helper` (no converter run); the two TF.js variants are small placeholder files
(the backend only serves them) with made-up parity and profile figures. `modelzoo.build` is not
used: a full build converts to TF.js, runs parity checks and profiles in Node, minutes per style.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from modelzoo import manifest
from modelzoo.constants import DEFAULT_WEBGL_SETTINGS, FORMAT_VERSION, ONNX_FILE, PREVIEW_FILE
from modelzoo.sources import check_id, make_input
from training.conventions import TANH_RANGE

WEBGL_PROFILE = [
    {
        "size": 256,
        "im2col": False,
        "delete_texture_threshold": 0,
        "texture_bytes": 100_000_000,
        "max_texture_width": 2048,
        "max_texture_height": 1024,
        "max_texture_size": 4096,
        "ok": True,
        "error": None,
    },
    {
        "size": 512,
        "im2col": False,
        "delete_texture_threshold": 0,
        "texture_bytes": 400_000_000,
        "max_texture_width": 4096,
        "max_texture_height": 2048,
        "max_texture_size": 4096,
        "ok": True,
        "error": None,
    },
    # Measured with settings other than the manifest's webgl_settings: the plan must not use it.
    {
        "size": 512,
        "im2col": True,
        "delete_texture_threshold": -1,
        "texture_bytes": 3_000_000_000,
        "max_texture_width": 16384,
        "max_texture_height": 4096,
        "max_texture_size": 4096,
        "ok": False,
        "error": "texture too large",
    },
]
WASM_PROFILE = [{"size": 256, "latency_ms": 100.0, "peak_bytes": 1_000_000, "ok": True, "error": None}]
SERVER_PROFILE = [{"size": 512, "latency_ms": 10.0}]
PARITY = {"psnr_db": 50.0, "max_abs_error": 0.01, "threshold_db": 35.0, "photos": 2, "size": 256}


def tiny_weights(seed):
    rng = np.random.default_rng(seed)
    return {
        "k1": rng.normal(0, 0.3, (3, 3, 3, 4)).astype(np.float32),
        "b1": rng.normal(0, 0.1, (4,)).astype(np.float32),
        "k2": rng.normal(0, 0.3, (3, 3, 4, 3)).astype(np.float32),
        "b2": rng.normal(0, 0.1, (3,)).astype(np.float32),
    }


def write_onnx(weights, path, context=False):
    """The two-conv network as an ONNX model (NHWC input `image`, output `output_0`). With
    `context`, it also takes `context` (NHWC, any square) and adds its mean colour to the second
    convolution's output: a network that sees its whole picture."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def conv_weights(kernel):  # Keras (kh, kw, in, out) -> ONNX (out, in, kh, kw)
        return np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))

    initializers = [
        numpy_helper.from_array(conv_weights(weights["k1"]), "w1"),
        numpy_helper.from_array(weights["b1"], "b1"),
        numpy_helper.from_array(conv_weights(weights["k2"]), "w2"),
        numpy_helper.from_array(weights["b2"], "b2"),
    ]
    nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        *(
            [
                helper.make_node("ReduceMean", ["context"], ["mean"], axes=[1, 2], keepdims=1),
                helper.make_node("Transpose", ["mean"], ["mean_nchw"], perm=[0, 3, 1, 2]),
                helper.make_node("Add", ["c2", "mean_nchw"], ["c2_sum"]),
            ]
            if context
            else []
        ),
        helper.make_node("Tanh", ["c2_sum" if context else "c2"], ["t"]),
        helper.make_node("Transpose", ["t"], ["output_0"], perm=[0, 2, 3, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [
            helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", "h", "w", 3]),
            *([helper.make_tensor_value_info("context", TensorProto.FLOAT, ["n", "s", "s", 3])] if context else []),
        ],
        [helper.make_tensor_value_info("output_0", TensorProto.FLOAT, ["n", "h", "w", 3])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def export_savedmodel(weights, path):
    import keras
    from keras import layers

    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inputs)
    outputs = layers.Conv2D(3, 3, padding="same", activation="tanh", name="c2")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("c1").set_weights([weights["k1"], weights["b1"]])
    model.get_layer("c2").set_weights([weights["k2"], weights["b2"]])
    model.export(str(path), verbose=False)


def write_tiny_package(output_dir, style_id, name, color_order, seed, savedmodel=True):
    """Writes one tiny style's package under `output_dir` and its catalogue entry; returns the
    package folder. The manifest is checked against the schema before it is written."""
    output_dir = Path(output_dir)
    weights = tiny_weights(seed)
    digest = hashlib.sha256(b"".join(w.tobytes() for w in weights.values()) + color_order.encode())
    version = digest.hexdigest()[: manifest.VERSION_LENGTH]
    folder = output_dir / check_id(style_id) / version
    folder.mkdir(parents=True)
    Image.new("RGB", (32, 32), (200, 120, 40)).save(folder / PREVIEW_FILE)
    onnx_path = folder / ONNX_FILE
    write_onnx(weights, onnx_path)
    server_profile = {"server": SERVER_PROFILE}
    variants = {"onnx": manifest.variant_entry("onnx", [onnx_path], folder, onnx_path, profile=server_profile)}
    for quantization in ("float16", "uint8"):
        sub = folder / f"tfjs_{quantization}"
        sub.mkdir()
        (sub / "group1-shard1of1.bin").write_bytes(np.random.default_rng(seed).bytes(3000))
        (sub / "model.json").write_text(json.dumps({"format": "graph-model", "quantization": quantization}))
        variants[quantization] = manifest.variant_entry(
            "tfjs-graph-model",
            sub.iterdir(),
            folder,
            sub / "model.json",
            parity=PARITY,
            profile={"wasm": WASM_PROFILE, "webgl": WEBGL_PROFILE},
        )
    if savedmodel:
        model_dir = folder / "savedmodel" / style_id / "1"
        export_savedmodel(weights, model_dir)
        files = [path for path in model_dir.rglob("*") if path.is_file()]
        variants["savedmodel"] = manifest.variant_entry("tf-savedmodel", files, folder, model_dir)
    data = {
        "format": FORMAT_VERSION,
        "id": style_id,
        "name": name,
        "version": version,
        "input": make_input(color_order, TANH_RANGE),
        "preview": PREVIEW_FILE,
        "files": manifest.file_entries([folder / PREVIEW_FILE], folder),
        "webgl_settings": DEFAULT_WEBGL_SETTINGS,
        "variants": variants,
    }
    manifest.write_package_manifest(output_dir, folder, data)
    return folder


def build_tiny_zoo(output_dir, savedmodel=True):
    """Writes two styles ("tiny", BGR; "tiny_rgb", RGB, no savedmodel) and their catalogue under
    `output_dir`; returns `output_dir` as a `Path`."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_tiny_package(output_dir, "tiny", "Tiny", "BGR", seed=1, savedmodel=savedmodel)
    write_tiny_package(output_dir, "tiny_rgb", "Tiny RGB", "RGB", seed=2, savedmodel=False)
    return output_dir
