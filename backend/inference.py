"""Running a style's generator on the server: each style's model is loaded once per process.

Two variants of the model zoo can serve: `onnx` (ONNX Runtime) and `savedmodel` (TensorFlow).
ONNX Runtime is the default. Measured on the published Hayao generator at 512x512 on this
project's idle 2-core machine (bench/bench_backend.py --compare-variants, runs alternated):
ONNX Runtime runs in 1.11 s (median; 2.04 s with one thread) against 1.23 s for TensorFlow, loads
in 0.1 s against 2.3 s (no TensorFlow import in the server process) and needs about 450 MB less
memory (+443 MB against +893 MB). Both give the same picture (largest difference 4e-5 in
[-1, 1]). TensorFlow is imported only when the `savedmodel` variant is used.

Threads: throughput comes from gunicorn processes x JOB_WORKERS; with one intra-op thread per
inference (INFERENCE_THREADS=1, the default) two processes on two cores did 28-32 jobs/minute at
512x512, against 19 with the library's default threads (the processes fight over the cores) and
27.5 for a single process with two threads.

Tiling (training/tiling.py): a picture whose long side is over INFERENCE_TILE pixels is stylized
in tiles of at most that size, so memory follows the tile size, not the picture. A style whose
manifest has `tiling` without statistics (a local network) tiles its own model; a style whose
network normalizes with statistics of the whole picture (the published generators) tiles with
its `onnx_tiles` variant: the statistics graph runs once on the picture downscaled to the tile
size, the tile graph on every tile. A style that cannot be tiled is stylized whole, and jobs cap
its long side at JOB_MAX_UNTILED_LONG_SIDE (`max_long_side`).

Models: a job runs the style's generator (`best`, the teacher) or its student (`fast`, the
`student_onnx` variant, docs/modelzoo-format.md), as the client asks or, when it does not say, as
SERVER_MODEL says. A style without a student runs its generator for both. The student is a local
network: it always tiles with its own model. Measured on this machine (docs/students.md), the
student takes 0.21-0.24 s where the teacher takes 3.5-4 s (TensorFlow, `evaluate`), and scores
19.3-21.2 dB PSNR against it. A student that sees its whole picture (`input.context`) gets it
once per picture (`network_context`), the same for every tile.
"""

import importlib
import logging
import threading
from pathlib import Path

import numpy as np

from backend.zoo import STUDENT, TEACHER
from training.imaging import context_input, from_model_output, to_model_input
from training.tiling import statistics_picture, stitch

log = logging.getLogger(__name__)

VARIANTS = ("onnx", "savedmodel")
MODELS = {"fast": STUDENT, "best": TEACHER}  # what a job asks for: the network that runs it
TILES_VARIANT = "onnx_tiles"  # statistics.onnx + tile.onnx, for networks with statistics (docs/modelzoo-format.md)
RUNTIMES = {"onnx": "onnxruntime", "savedmodel": "tensorflow"}  # the module each variant runs on


_arena_lock = threading.Lock()
_arena_registered = False


def session_options(threads=0):
    """ONNX Runtime options for every session of this process: `threads` intra-op threads, and one
    CPU memory arena shared by all sessions (registered once per process) instead of one arena per
    session. An arena keeps the memory of the largest run it served; with one per session, a
    process that has run a style whole, its statistics graph and its tile graph (and other styles)
    holds the sum of their peaks, with a shared one only the largest. Measured on the published
    generator at 512x384, statistics then tile graph: 766 MB peak RSS with an arena each, 543 MB
    shared (682 MB without arenas), the same CPU time."""
    import onnxruntime

    global _arena_registered
    with _arena_lock:
        if not _arena_registered:
            memory = onnxruntime.OrtMemoryInfo(
                "Cpu", onnxruntime.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, onnxruntime.OrtMemType.DEFAULT
            )
            onnxruntime.create_and_register_allocator(memory, onnxruntime.OrtArenaCfg(0, -1, -1, -1))
            _arena_registered = True
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.use_env_allocators", "1")
    if threads:
        options.intra_op_num_threads = threads
    return options


def providers():
    """ONNX Runtime's execution providers: CUDA first when this installation and machine have it
    (onnxruntime-gpu on a GPU machine), else the CPU."""
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class OnnxGenerator:
    """`generator(batch)`, or `generator(batch, context)` for a network that sees its whole picture
    (its variant's `signature` names a `context` input, docs/modelzoo-format.md)."""

    def __init__(self, path, threads=0, signature=None):
        import onnxruntime

        options = session_options(threads)
        self.session = onnxruntime.InferenceSession(str(path), options, providers=providers())
        signature = signature or {}
        self.input_name = signature.get("input") or self.session.get_inputs()[0].name
        self.context_name = signature.get("context")

    def __call__(self, batch, context=None):
        feed = {self.input_name: batch}
        if self.context_name:
            if context is None:
                raise ValueError("this network needs its picture's context (network_context)")
            feed[self.context_name] = context
        return self.session.run(None, feed)[0]


class OnnxTiles:
    """The `onnx_tiles` variant (`TILES_VARIANT`): `statistics(batch)` -> the statistics row of a
    picture, and `tile(batch, statistics)` -> a stylized tile normalized with them."""

    def __init__(self, folder, variant, threads=0):
        import onnxruntime

        options = session_options(threads)
        self.statistics_session = onnxruntime.InferenceSession(
            str(folder / variant["statistics_model"]), options, providers=providers()
        )
        self.tile_session = onnxruntime.InferenceSession(str(folder / variant["model"]), options, providers=providers())
        self.names = variant.get("signature") or {"input": "image", "statistics": "statistics"}

    def statistics(self, batch):
        return self.statistics_session.run(None, {self.names["input"]: batch})[0]

    def tile(self, batch, statistics):
        return self.tile_session.run(None, {self.names["input"]: batch, self.names["statistics"]: statistics})[0]


class SavedModelGenerator:
    """`generator(batch)`, or `generator(batch, context)` (the inputs in the export's order)."""

    def __init__(self, path, threads=0, signature=None):
        import tensorflow as tf

        if threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
            except RuntimeError:  # TensorFlow already started: keep its settings
                pass
        self._tf = tf
        self.model = tf.saved_model.load(str(path))
        # Our exports and `model.export()` of Keras 3 write a `serve` endpoint, which takes the
        # inputs in order; other exports have only a signature, which takes them by name (the
        # variant's `serving` names, else the signature's one input).
        self.serve = getattr(self.model, "serve", None)
        self.signature = self.model.signatures["serving_default"] if self.serve is None else None
        names = signature or {}
        first = next(iter(self.signature.structured_input_signature[1])) if self.signature else None
        self.names = [names.get("input") or first, names.get("context")]

    def __call__(self, batch, *context):
        values = [self._tf.constant(x) for x in (batch, *context)]
        if self.serve is not None:
            output = self.serve(*values)
        else:
            output = self.signature(**dict(zip(self.names, values, strict=False)))
        if isinstance(output, dict):
            output = next(iter(output.values()))
        return output.numpy()


LOADERS = {"onnx": OnnxGenerator, "savedmodel": SavedModelGenerator}


def load_variant(folder, kind, entry, threads=0):
    """The generator of a server variant (`kind`: a key of `LOADERS`) from its manifest `entry`
    in the package `folder`, fed by the input names of its `signature` (ONNX) or `serving`
    (SavedModel)."""
    return LOADERS[kind](Path(folder) / entry["model"], threads, entry.get("signature") or entry.get("serving"))


def network_input(rgb, spec):
    """uint8 RGB (H, W, 3) -> the network's input, padded (reflected, or repeated for tiny sides)
    to the manifest's size multiple."""
    height, width = rgb.shape[:2]
    multiple = int(spec.get("size_multiple", 4))
    pad_h, pad_w = -height % multiple, -width % multiple
    mode = "reflect" if height > pad_h and width > pad_w else "edge"
    padded = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)
    return to_model_input(padded, spec.get("color_order", "RGB"), tuple(spec.get("value_range", (-1.0, 1.0))))


def network_context(rgb, spec):
    """`()`, or `(context,)` for a network that sees its whole picture (`spec["context"]`): the
    picture squeezed to the context's size in the network's convention (`training.imaging`),
    computed once per picture and given to the whole picture or to every tile."""
    context = spec.get("context")
    if not context:
        return ()
    color_order, value_range = spec.get("color_order", "RGB"), tuple(spec.get("value_range", (-1.0, 1.0)))
    return (context_input(rgb, int(context["size"]), color_order, value_range),)


def stylize(generator, rgb, spec, *extra):
    """uint8 RGB (H, W, 3) -> uint8 RGB of the same size: `generator(network input, *extra)`
    cropped back to the picture's size."""
    height, width = rgb.shape[:2]
    output = generator(network_input(rgb, spec), *extra)
    value_range = tuple(spec.get("value_range", (-1.0, 1.0)))
    return from_model_output(output[:, :height, :width], spec.get("color_order", "RGB"), value_range)


def stylize_in_tiles(generator, rgb, spec, tile, overlap, statistics=None, extra=()):
    """`stylize` tile by tile (training.tiling), each tile given `extra` (a picture's
    `network_context`). With `statistics` (a function of the network input), they are measured
    once on the picture downscaled to `tile` and given to every tile."""
    if statistics is not None:
        extra = (*extra, statistics(network_input(statistics_picture(rgb, tile), spec)))
    multiple = int(spec.get("size_multiple", 4))
    return stitch(lambda window: stylize(generator, window, spec, *extra), rgb, tile, overlap, multiple)


def check_model(model):
    if model not in MODELS:
        raise ValueError(f"SERVER_MODEL must be one of {', '.join(MODELS)}, got {model!r}")
    return model


def network_for(style, model):
    """The network that runs a job of `style` asking for `model` ("fast" or "best"): the student
    for "fast" when the style has a server variant of it, else the style's generator."""
    if MODELS[model] == STUDENT and (style.network_variant(STUDENT, "onnx")[1] or {}).get("model"):
        return STUDENT
    return TEACHER


def model_used(style, model):
    """The model a job asking for `model` gets: "best" when "fast" has no student to run."""
    return "fast" if network_for(style, model) == STUDENT else "best"


def tiling_of(style, tile, network=TEACHER):
    """The `tiling` of the style's network when the server can tile it with `tile` pixels, else
    None: its network is known, the tile is larger than twice the overlap, and a network with
    statistics has its `onnx_tiles` variant."""
    tiling = style.facts(network).get("tiling")
    if not tile or not tiling or tile <= 2 * int(tiling.get("overlap", tile)):
        return None
    if tiling.get("statistics") and not (style.variant(TILES_VARIANT) or {}).get("statistics_model"):
        return None
    return tiling


def max_long_side(style, config, network=TEACHER):
    """The longest side a job of this style and network is stylized at: JOB_MAX_LONG_SIDE when the
    server can tile it (memory bounded by the tile), JOB_MAX_UNTILED_LONG_SIDE (at most) otherwise."""
    if tiling_of(style, config["INFERENCE_TILE"], network):
        return config["JOB_MAX_LONG_SIDE"]
    return min(config["JOB_MAX_LONG_SIDE"], config["JOB_MAX_UNTILED_LONG_SIDE"])


class Generators:
    """The loaded generators of this process, by style version; loaded on first use. Pictures with
    a long side over `tile` pixels are stylized in tiles when the style allows (`tiling_of`).
    The student runs from its ONNX variant (`student_onnx`) whatever INFERENCE_VARIANT says."""

    def __init__(self, preferred="onnx", threads=0, tile=0):
        if preferred not in VARIANTS:
            raise ValueError(f"INFERENCE_VARIANT must be one of {VARIANTS}, got {preferred!r}")
        if tile < 0 or tile % 4:
            raise ValueError(f"INFERENCE_TILE must be 0 (never tile) or a multiple of 4, got {tile!r}")
        self.order = (preferred,) + tuple(v for v in VARIANTS if v != preferred)
        self.threads = threads
        self.tile = tile
        self._loaded = {}  # (style id, version) -> {"whole": generator, "tiles": OnnxTiles}
        self._lock = threading.Lock()

    def import_runtimes(self):
        """Imports ONNX Runtime (students always run on it) and the runtime of the preferred variant
        now; returns their names. A Celery worker process does this when it starts, before any job:
        an import cut short by a job's soft time limit leaves the native module half-initialized,
        and every later job of that process fails (`AttributeError` inside ONNX Runtime's `run`)."""
        names = sorted({RUNTIMES["onnx"], RUNTIMES[self.order[0]]})
        for name in names:
            importlib.import_module(name)
        return names

    def pick_variant(self, style):
        for name in self.order:
            if style.variant(name) and style.variant(name).get("model"):
                return name
        raise LookupError(f"style {style.id} has no server variant ({', '.join(VARIANTS)})")

    def get(self, style, part="whole"):
        key = (style.id, style.version)
        with self._lock:
            if key not in self._loaded:
                # Older versions of the same style are dropped: one model per style in memory.
                for old in [k for k in self._loaded if k[0] == style.id]:
                    del self._loaded[old]
                self._loaded[key] = {}
            parts = self._loaded[key]
            if part not in parts:
                if part == STUDENT:
                    name, variant = style.network_variant(STUDENT, "onnx")
                    log.info("loading %s %s (%s)", style.id, style.version, name)
                    parts[part] = load_variant(style.folder, "onnx", variant, self.threads)
                elif part == "tiles":
                    log.info("loading %s %s (%s)", style.id, style.version, TILES_VARIANT)
                    parts[part] = OnnxTiles(style.folder, style.variant(TILES_VARIANT), self.threads)
                else:
                    variant = self.pick_variant(style)
                    log.info("loading %s %s (%s)", style.id, style.version, variant)
                    parts[part] = load_variant(style.folder, variant, style.variant(variant), self.threads)
            return parts[part]

    def run(self, style, rgb, network=TEACHER):
        spec = style.facts(network).get("input") or {}
        tiling = tiling_of(style, self.tile, network)
        whole = STUDENT if network == STUDENT else "whole"
        context = network_context(rgb, spec)
        if tiling is None or max(rgb.shape[:2]) <= self.tile:
            return stylize(self.get(style, whole), rgb, spec, *context)
        if tiling.get("statistics"):
            if context:
                raise ValueError(f"style {style.id}: a network with a context and statistics cannot be tiled")
            tiles = self.get(style, "tiles")
            return stylize_in_tiles(tiles.tile, rgb, spec, self.tile, tiling["overlap"], tiles.statistics)
        return stylize_in_tiles(self.get(style, whole), rgb, spec, self.tile, tiling["overlap"], extra=context)
