"""Parity: each converted variant, run in its own runtime, against the float32 source model.

The reference is the source SavedModel run by TensorFlow. TF.js variants run in Node with
@tensorflow/tfjs and the WASM backend (the runtime the phone uses, through `modelzoo.node`),
the ONNX model in onnxruntime. Outputs are compared in the network's value range mapped to
[0, 1]: PSNR with a peak of 1 (the PSNR of the 8-bit images before rounding), worst photo.
"""

import math
from pathlib import Path

import numpy as np

from modelzoo import manifest, node
from modelzoo.images import to_unit

MAX_PSNR_DB = 100.0  # reported for identical outputs (JSON has no infinity)


class ParityError(RuntimeError):
    """A variant's output is further from the source model's than its threshold allows."""


def psnr(output, reference, convention):
    """PSNR in dB of `output` against `reference`, both in the network's value range."""
    mse = float(np.mean((to_unit(output, convention) - to_unit(reference, convention)) ** 2))
    return MAX_PSNR_DB if mse == 0 else min(MAX_PSNR_DB, 10 * math.log10(1.0 / mse))


def compare(outputs, references, convention):
    """Parity figures of a variant's outputs: worst-photo PSNR and largest absolute error (in the
    network's value range)."""
    if len(outputs) != len(references) or not references:
        raise ValueError("one output per reference needed")
    for output, reference in zip(outputs, references, strict=True):
        if output.shape != reference.shape:
            raise ParityError(f"output shape {output.shape} differs from the source model's {reference.shape}")
    return {
        "psnr_db": round(min(psnr(o, r, convention) for o, r in zip(outputs, references, strict=True)), 2),
        "max_abs_error": round(max(float(np.max(np.abs(o - r))) for o, r in zip(outputs, references, strict=True)), 6),
        "photos": len(references),
        "size": int(max(references[0].shape[1:3])),
    }


def check(variant, figures, threshold_db):
    """Adds the threshold to `figures`; raises `ParityError` when the PSNR is below it."""
    figures = {**figures, "threshold_db": float(threshold_db)}
    if figures["psnr_db"] < threshold_db:
        raise ParityError(
            f"variant {variant}: {figures['psnr_db']:.2f} dB PSNR against the source model, "
            f"below its threshold of {threshold_db:.1f} dB"
        )
    return figures


def checked_entry(name, outputs, references, convention, threshold_db, fmt, files, root, model, **extra):
    """The step every checked variant ends with: its `outputs` compared with the source model's
    `references`, checked against `threshold_db` (`ParityError` below it), and recorded as its
    manifest entry (`manifest.variant_entry`) with the figures as `parity` and `extra`."""
    figures = check(name, compare(outputs, references, convention), threshold_db)
    return manifest.variant_entry(fmt, files, root, model=model, parity=figures, **extra)


def reference_outputs(saved_model_dir, signature, feeds):
    """The float32 source model's outputs (TensorFlow) for each feed (`{input name: array}`)."""
    import tensorflow as tf

    function = tf.saved_model.load(str(saved_model_dir)).signatures[signature]
    return [next(iter(function(**{k: tf.constant(v) for k, v in feed.items()}).values())).numpy() for feed in feeds]


def tfjs_outputs(model_json, feeds, work_dir):
    """The outputs of a TF.js graph model run by TF.js in Node with the WASM backend, for each feed
    (`{input name: array}`)."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    for index, feed in enumerate(feeds):
        sources = {}
        for name, x in feed.items():
            sources[name] = work_dir / f"input{index}-{name}.npy"
            np.save(sources[name], np.ascontiguousarray(x, dtype=np.float32))
        runs.append((sources, work_dir / f"output{index}.npy"))
    node.run_wasm(model_json, io_pairs=runs)
    return [np.load(target) for _, target in runs]


def onnx_outputs(onnx_path, feeds):
    """The outputs of an ONNX model run by onnxruntime on the CPU, for each feed (`{input name: array}`)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return [session.run(None, feed)[0] for feed in feeds]
