"""Format constants of the model zoo: file names, variant names, defaults and thresholds.

Every number the build uses is here, with the reason for its value. Changing one that affects
the packaged files (shard size, quantizations, ONNX opset) gives every style a new version,
because the version is derived from the inputs of the build (see `modelzoo.manifest`).
"""

import os
from pathlib import Path

# Version of the layout of catalogue.json and manifest.json (bumped on incompatible changes).
FORMAT_VERSION = 1

PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = PACKAGE_DIR / "schemas"
NODE_DIR = PACKAGE_DIR / "node"

CATALOGUE_FILE = "catalogue.json"
MANIFEST_FILE = "manifest.json"
PREVIEW_FILE = "preview.jpg"
CACHE_DIR = ".cache"  # profile figures shared between builds, inside the output folder
PARTIAL_PREFIX = ".partial-"

# Variants. TF.js graph models, one per weight quantization of the tensorflowjs converter.
TFJS_FORMAT = "tfjs-graph-model"
ONNX_FORMAT = "onnx"
SAVEDMODEL_FORMAT = "tf-savedmodel"
TFJS_VARIANTS = {
    # variant name: (folder, quantization_dtype_map of tensorflowjs.converters.convert_tf_saved_model)
    "float16": ("tfjs_float16", {"float16": True}),
    "uint8": ("tfjs_uint8", {"uint8": True}),
}
ONNX_VARIANT = "onnx"
ONNX_FILE = "model.onnx"
SAVEDMODEL_VARIANT = "savedmodel"
SAVEDMODEL_DIR = "savedmodel"
# Stylizing in tiles (modelzoo.tiling, training.tiling): generators with instance normalization
# get a server-only variant of two ONNX graphs, the statistics of a picture and a tile given them.
TILES_VARIANT = "onnx_tiles"
STATISTICS_ONNX_FILE = "statistics.onnx"
TILE_ONNX_FILE = "tile.onnx"
STATISTICS_INPUT = "statistics"
# The inputs of the networks we export: the picture (or one tile of it), and, for a network that
# sees its whole picture (a context student), the whole picture squeezed to the manifest's
# `input.context.size` (`training.imaging.context_thumbnail`), the same for every tile.
IMAGE_INPUT = "image"
CONTEXT_INPUT = "context"
# A style's package can also hold its student (training/students/<style>.keras, a small network
# distilled from the generator for phones): the phone variants of the student, named
# STUDENT_PREFIX + the teacher variant's name (student_uint8, ...), with their files in
# STUDENT_DIR. Each variant says which network it runs (`network`); the student's own input
# convention, tiling and WebGL advice are the manifest's `student` object.
TEACHER = "teacher"
STUDENT = "student"
STUDENT_PREFIX = "student_"
STUDENT_DIR = "student"
# Each package holds one TF Serving servable: savedmodel/<id>/1/. Point TF Serving's
# model_base_path at <package>/savedmodel/<id>; a new model is a new package (new folder).
SERVING_VERSION = 1

# Weight shards of 1 MiB: on a mobile network a failed or interrupted download is retried one
# shard at a time, the mini-program can fetch several shards in parallel (wx.request allows 10
# concurrent requests) and cache them one by one; the largest variant (float16, ~22 MB) is ~22
# requests, whose overhead is small against the transfer. The converter's own default is 4 MiB.
DEFAULT_SHARD_BYTES = 1 << 20

# ONNX opset 13 is the oldest opset with everything the generators need (Pad in reflect mode,
# ReduceMean, ConvTranspose) that onnxruntime and WeChat's inference engine both run.
DEFAULT_ONNX_OPSET = 13

# Parity: outputs are compared in the network's value range mapped to [0, 1] (peak signal 1), on
# real photos resized so that their long side is PARITY_SIZE. Thresholds are PSNR in dB against
# the float32 source model, set a few dB below what the published styles measured (docs).
PARITY_SIZE = 256
PARITY_PHOTOS = 2
PARITY_THRESHOLDS_DB = {"float16": 60.0, "uint8": 35.0, "onnx": 80.0, "wechat": 80.0}

# Profile: square inputs (multiples of every generator's size multiple). 1024 is optional
# (--profile-sizes 256,512,1024): on a 2-core machine it costs minutes per graph.
DEFAULT_PROFILE_SIZES = (256, 512)
WASM_RUNS = 2  # timed runs after the profiled (warm-up) run; the median is reported
ONNX_RUNS = 3
# WebGL settings measured: (WEBGL_CONV_IM2COL, WEBGL_DELETE_TEXTURE_THRESHOLD). The first is
# TF.js's default; a threshold of 0 deletes each texture as soon as it is released.
WEBGL_CONFIGS = ((True, -1), (False, -1), (False, 0))
WEBGL_TIMEOUT_S = 1800  # per page; SwiftShader needs ~5 min for the published generator at 256²
# The largest texture side that most phones support: `recommended.webgl_max_size` is for it.
MOBILE_MAX_TEXTURE_SIZE = 4096
# Texture limits the WebGL profile runs under (TF.js's WEBGL_MAX_TEXTURE_SIZE; TF.js lays its
# textures out within it, as on a phone with that limit): many phones have 4096, newer ones 8192
# or more (SwiftShader's own limit is 8192).
WEBGL_MAX_TEXTURE_SIZES = (4096, 8192)
# What the mini-program uses when no WebGL figures were measured: im2col off costs ~4x less.
DEFAULT_WEBGL_SETTINGS = {"WEBGL_CONV_IM2COL": False, "WEBGL_DELETE_TEXTURE_THRESHOLD": 0}

PREVIEW_LONG_SIDE = 256
PREVIEW_QUALITY = 85
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")

# The light generators of ../shared/pretrained/light: SavedModels taking RGB in [-1, 1].
LIGHT_STYLES = {"light_paprika": "Light Paprika", "light_shinkai": "Light Shinkai"}
LIGHT_COLOR_ORDER = "RGB"


def chromium_path():
    """The Chromium binary for the WebGL profile: `MODELZOO_CHROMIUM`, default Debian's."""
    return Path(os.environ.get("MODELZOO_CHROMIUM", "/usr/bin/chromium"))


def node_binary():
    """The Node.js binary that runs the TF.js scripts: `MODELZOO_NODE`, default `node`."""
    return os.environ.get("MODELZOO_NODE", "node")
