"""A tiny model zoo for the backend tests and the quick benchmark, written per
docs/modelzoo-format.md with real sha256s.

Each style is a two-conv Keras network (3x3 conv + ReLU, 3x3 conv + tanh). Its `savedmodel`
variant is the Keras model's `model.export()`; its `onnx` variant is the same network with the
same weights written with `onnx.helper` (no converter run, so the fixture takes seconds); the two
TF.js variants are small placeholder files (the backend only serves them). `modelzoo.build` is not
used: a full build converts to TF.js, runs parity checks and profiles in Node, minutes per style.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

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


def tiny_weights(seed):
    rng = np.random.default_rng(seed)
    return {
        "k1": rng.normal(0, 0.3, (3, 3, 3, 4)).astype(np.float32),
        "b1": rng.normal(0, 0.1, (4,)).astype(np.float32),
        "k2": rng.normal(0, 0.3, (3, 3, 4, 3)).astype(np.float32),
        "b2": rng.normal(0, 0.1, (3,)).astype(np.float32),
    }


def write_onnx(weights, path):
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
        helper.make_node("Tanh", ["c2"], ["t"]),
        helper.make_node("Transpose", ["t"], ["output_0"], perm=[0, 2, 3, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", "h", "w", 3])],
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


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def variant(folder, fmt, paths, model=None, **extra):
    files = [{"path": p, "bytes": (folder / p).stat().st_size, "sha256": sha256(folder / p)} for p in sorted(paths)]
    total = sum(f["bytes"] for f in files)
    entry = {"format": fmt, "files": files, "bytes": total, "download_bytes": total, **extra}
    if model:
        entry["model"] = model
    return entry


def build_style(root, style_id, name, color_order, seed, savedmodel=True):
    weights = tiny_weights(seed)
    digest = hashlib.sha256(b"".join(w.tobytes() for w in weights.values()) + color_order.encode())
    version = digest.hexdigest()[:12]
    folder = root / style_id / version
    folder.mkdir(parents=True)
    Image.new("RGB", (32, 32), (200, 120, 40)).save(folder / "preview.jpg")
    write_onnx(weights, folder / "model.onnx")
    variants = {
        "onnx": variant(
            folder, "onnx", ["model.onnx"], "model.onnx", profile={"server": [{"size": 512, "latency_ms": 10.0}]}
        )
    }
    for quantization in ("float16", "uint8"):
        sub = folder / f"tfjs_{quantization}"
        sub.mkdir()
        (sub / "group1-shard1of1.bin").write_bytes(np.random.default_rng(seed).bytes(3000))
        (sub / "model.json").write_text(json.dumps({"format": "graph-model", "quantization": quantization}))
        paths = [f"tfjs_{quantization}/model.json", f"tfjs_{quantization}/group1-shard1of1.bin"]
        variants[quantization] = variant(
            folder,
            "tfjs-graph-model",
            paths,
            f"tfjs_{quantization}/model.json",
            parity={"psnr_db": 50.0, "max_abs_error": 0.01, "threshold_db": 35.0, "photos": 2, "size": 256},
            profile={"wasm": [{"size": 256, "latency_ms": 100.0, "peak_bytes": 1000000}], "webgl": WEBGL_PROFILE},
        )
    if savedmodel:
        model_dir = f"savedmodel/{style_id}/1"
        export_savedmodel(weights, folder / model_dir)
        paths = [p.relative_to(folder).as_posix() for p in (folder / model_dir).rglob("*") if p.is_file()]
        variants["savedmodel"] = variant(folder, "tf-savedmodel", paths, model_dir)
    manifest = {
        "format": 1,
        "id": style_id,
        "name": name,
        "version": version,
        "input": {
            "color_order": color_order,
            "value_range": [-1.0, 1.0],
            "size_multiple": 4,
            "layout": "NHWC",
            "dtype": "float32",
        },
        "preview": "preview.jpg",
        "webgl_settings": {"WEBGL_CONV_IM2COL": False, "WEBGL_DELETE_TEXTURE_THRESHOLD": 0},
        "variants": variants,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return {
        "id": style_id,
        "name": name,
        "version": version,
        "preview": f"{style_id}/{version}/preview.jpg",
        "manifest": f"{style_id}/{version}/manifest.json",
    }


def build_tiny_zoo(root, savedmodel=True):
    """Writes two styles ("tiny", BGR; "tiny_rgb", RGB) and catalogue.json under `root`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    entries = [
        build_style(root, "tiny", "Tiny", "BGR", seed=1, savedmodel=savedmodel),
        build_style(root, "tiny_rgb", "Tiny RGB", "RGB", seed=2, savedmodel=False),
    ]
    (root / "catalogue.json").write_text(json.dumps({"format": 1, "styles": entries}, indent=2))
    return root
