"""Conversions of a generator into the formats of a package.

Every conversion starts from a TensorFlow SavedModel: a Keras generator is exported as a traced
SavedModel (the route whose TF.js graph model loads in the TF.js runtime; the Keras 3
layers-model routes convert but do not load), a SavedModel source is used as it is. The export
is `model.export()`'s, a `tf.function` of the model's call saved with `tf.saved_model.save`,
written by a small `tf.Module`: Keras 3.15's `model.export()` stores every variable twice
(`variables/` and `_all_variables/`), 89 MB instead of 44.6 MB for the published generator.

- TF.js graph models: `tensorflowjs.converters.convert_tf_saved_model`, one per quantization.
- ONNX: tf2onnx, run as `python -m tf2onnx.convert` in a child process. tf2onnx rewrites
  TensorFlow graphs in its own global state; a child process keeps that out of the build, and
  `MODELZOO_TF2ONNX_PYTHON` can name another Python (another virtual environment) should
  tf2onnx's pins ever part from TensorFlow's.
- A SavedModel laid out as TF Serving expects: `<id>/<integer version>/saved_model.pb`.
"""

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

from modelzoo.constants import CONTEXT_INPUT, IMAGE_INPUT, SERVING_VERSION

TFJS_TAGS = "serve"


class ConversionError(RuntimeError):
    """A converter failed; the message ends with the tail of its output."""


def export_saved_model(model, directory, output_name="output_0"):
    """Exports a Keras generator as a SavedModel whose signature `serving_default` maps its inputs
    to `output_name` (as `model.export()` names it): `image`, an NHWC float32 picture of any size,
    and, for a network that sees its whole picture, `context` (NHWC, its fixed square size)."""
    import tensorflow as tf

    image = tf.TensorSpec([None, None, None, 3], tf.float32, name=IMAGE_INPUT)
    context_size = context_size_of(model)
    module = tf.Module()
    if context_size:
        context = tf.TensorSpec([None, context_size, context_size, 3], tf.float32, name=CONTEXT_INPUT)
        module.serve = tf.function(
            lambda image, context: {output_name: model([image, context], training=False)},
            input_signature=[image, context],
        )
    else:
        module.serve = tf.function(lambda image: {output_name: model(image, training=False)}, input_signature=[image])
    module.model = model
    directory = Path(directory)
    tf.saved_model.save(module, str(directory), signatures={"serving_default": module.serve})
    return directory


def context_size_of(model):
    """The side of a Keras generator's context input, 0 without one; `ValueError` for inputs the
    model zoo does not package (anything but `image`, or `image` and a square `context`)."""
    if len(model.inputs) == 1:
        return 0
    shape = tuple(model.inputs[1].shape[1:]) if len(model.inputs) == 2 else ()
    if len(shape) != 3 or shape[0] != shape[1] or shape[0] is None or shape[2] != 3:
        raise ValueError(
            f"the model takes {len(model.inputs)} inputs of shapes {[tuple(x.shape) for x in model.inputs]}; the model"
            " zoo packages generators of one picture, with at most a square RGB context (`distill --context-size`)"
        )
    return int(shape[0])


def saved_model_of(source, work_dir):
    """The SavedModel folder of a source, exporting a Keras source into `work_dir`."""
    if source.saved_model_dir is not None:
        return Path(source.saved_model_dir)
    return export_saved_model(source.model, Path(work_dir) / "exported")


def signature_names(saved_model_dir, signature="serving_default"):
    """`(input names, output name)` of a SavedModel's signature: one input (any name), or the
    picture and its context (`IMAGE_INPUT`, `CONTEXT_INPUT`, in that order); one output."""
    import tensorflow as tf

    function = tf.saved_model.load(str(saved_model_dir)).signatures[signature]
    inputs = sorted(function.structured_input_signature[1])
    outputs = function.structured_outputs
    two = sorted([IMAGE_INPUT, CONTEXT_INPUT])
    if len(outputs) != 1 or not (len(inputs) == 1 or inputs == two):
        raise ValueError(
            f"{saved_model_dir}: signature {signature!r} must have one output and one input (or {two}), "
            f"has {inputs} -> {sorted(outputs)}"
        )
    return (tuple(inputs) if len(inputs) == 1 else (IMAGE_INPUT, CONTEXT_INPUT)), next(iter(outputs))


def _tensorflowjs_converters():
    # tensorflowjs imports tensorflow_decision_forests, which prints an advertisement on import,
    # through IPython (not installed) whenever stdout is not the terminal: pytest, pipes, tqdm.
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    from tensorflowjs import converters

    return converters


def to_tfjs(saved_model_dir, output_dir, quantization, shard_bytes, signature="serving_default"):
    """Converts a SavedModel to a TF.js graph model in `output_dir`; returns `model.json`'s path.

    `quantization` is the converter's `quantization_dtype_map` (`{"float16": True}`, ...).
    """
    output_dir = Path(output_dir)
    converters = _tensorflowjs_converters()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            converters.convert_tf_saved_model(
                str(saved_model_dir),
                str(output_dir),
                signature_def=signature,
                saved_model_tags=TFJS_TAGS,
                quantization_dtype_map=quantization,
                weight_shard_size_bytes=int(shard_bytes),
            )
    except Exception as error:  # the converter raises anything from ValueError to TF errors
        raise ConversionError(f"tensorflowjs converter failed on {saved_model_dir}: {error}") from error
    return output_dir / "model.json"


def tf2onnx_python():
    return os.environ.get("MODELZOO_TF2ONNX_PYTHON", sys.executable)


def to_onnx(saved_model_dir, path, opset, signature="serving_default", nchw=None):
    """Converts a SavedModel to an ONNX model at `path` with tf2onnx; returns `path`. `nchw`: the
    signature's `(input names, output name)`, to have them in NCHW order (tf2onnx's --inputs-as-nchw
    and --outputs-as-nchw)."""
    path = Path(path)
    command = [
        tf2onnx_python(),
        "-m",
        "tf2onnx.convert",
        "--saved-model",
        str(saved_model_dir),
        "--signature_def",
        signature,
        "--opset",
        str(int(opset)),
        "--output",
        str(path),
    ]
    if nchw:
        command += ["--inputs-as-nchw", ",".join(nchw[0]), "--outputs-as-nchw", nchw[1]]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0 or not path.is_file():
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        layout = " (NCHW)" if nchw else ""
        raise ConversionError(f"tf2onnx{layout} failed on {saved_model_dir} (exit {result.returncode}):\n{tail}")
    return path


def to_serving(saved_model_dir, serving_root, version=SERVING_VERSION):
    """Copies a SavedModel into `serving_root/<version>/` (TF Serving's layout); returns that folder."""
    target = Path(serving_root) / str(int(version))
    shutil.copytree(saved_model_dir, target)
    return target
