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
"""

import logging
import threading

import numpy as np

from training.imaging import from_model_output, to_model_input

log = logging.getLogger(__name__)

VARIANTS = ("onnx", "savedmodel")


class OnnxGenerator:
    def __init__(self, path, threads=0):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch):
        return self.session.run(None, {self.input_name: batch})[0]


class SavedModelGenerator:
    def __init__(self, path, threads=0):
        import tensorflow as tf

        if threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
            except RuntimeError:  # TensorFlow already started: keep its settings
                pass
        self._tf = tf
        self.model = tf.saved_model.load(str(path))
        # `model.export()` of Keras 3 writes a `serve` endpoint; other exports have a signature.
        self.function = getattr(self.model, "serve", None) or self.model.signatures["serving_default"]

    def __call__(self, batch):
        output = self.function(self._tf.constant(batch))
        if isinstance(output, dict):
            output = next(iter(output.values()))
        return output.numpy()


LOADERS = {"onnx": OnnxGenerator, "savedmodel": SavedModelGenerator}


def stylize(generator, rgb, spec):
    """uint8 RGB (H, W, 3) -> uint8 RGB of the same size. The picture is padded (reflected, or
    repeated for tiny sides) to the manifest's size multiple and cropped back afterwards."""
    height, width = rgb.shape[:2]
    multiple = int(spec.get("size_multiple", 4))
    pad_h, pad_w = -height % multiple, -width % multiple
    mode = "reflect" if height > pad_h and width > pad_w else "edge"
    padded = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)
    value_range = tuple(spec.get("value_range", (-1.0, 1.0)))
    color_order = spec.get("color_order", "RGB")
    output = generator(to_model_input(padded, color_order, value_range))
    return from_model_output(output[:, :height, :width], color_order, value_range)


class Generators:
    """The loaded generators of this process, by style version; loaded on first use."""

    def __init__(self, preferred="onnx", threads=0):
        if preferred not in VARIANTS:
            raise ValueError(f"INFERENCE_VARIANT must be one of {VARIANTS}, got {preferred!r}")
        self.order = (preferred,) + tuple(v for v in VARIANTS if v != preferred)
        self.threads = threads
        self._loaded = {}
        self._lock = threading.Lock()

    def pick_variant(self, style):
        for name in self.order:
            if style.variant(name) and style.variant(name).get("model"):
                return name
        raise LookupError(f"style {style.id} has no server variant ({', '.join(VARIANTS)})")

    def get(self, style):
        key = (style.id, style.version)
        with self._lock:
            if key not in self._loaded:
                variant = self.pick_variant(style)
                path = style.folder / style.variant(variant)["model"]
                log.info("loading %s %s (%s)", style.id, style.version, variant)
                # Older versions of the same style are dropped: one model per style in memory.
                for old in [k for k in self._loaded if k[0] == style.id]:
                    del self._loaded[old]
                self._loaded[key] = LOADERS[variant](path, self.threads)
            return self._loaded[key]

    def run(self, style, rgb):
        return stylize(self.get(style), rgb, style.manifest.get("input") or {})
