"""The ONNX variant for WeChat's on-device inference engine, `wx.createInferenceSession`.

What the engine documents (base library 2.30.0+): a `.onnx` file from the code package or the user
data folder; inputs in NCHW order, named as in the model; tensors of type uint8, int8, uint32,
int32 or float32 (no float16 tensors); results keyed `output0`, `output1`, ...; a
`precisionLevel` from 0 to 4, where levels 0-2 store floats as fp16 on the phone and 3-4 as fp32.

So the variant is tf2onnx's export with the input and the output transposed to NCHW
(`--inputs-as-nchw`, `--outputs-as-nchw`), its output renamed `output0` (then the result key is
the same whichever way the engine names it), and float32 weights (the download is not halved
with fp16 weights, since the engine documents no float16 tensor type; fp16 is a precision level
instead). The build checks it against the float32 source like every variant, and once more with
every tensor rounded to fp16 between operators, which is what precision level 2 does (fp16
storage, fp32 arithmetic): when that passes the float16 threshold, the manifest recommends
level 2, otherwise 4 (fp32, exact arithmetic).

The engine's operator list (developers.weixin.qq.com, framework/open-ability/inference/supports)
names its own operators ("Conv2D", "Pad", "InstanceNorm", "Binary", ...) and says they follow the
ONNX definitions. `ENGINE_OPERATORS` maps the ONNX operators of our exported graphs to those
names, as far as the list could be read; an operator outside the map is listed in the manifest
(`engine.unconfirmed_operators`) so that it is checked on a phone before the style is offered.
"""

from collections import Counter

import numpy as np

from modelzoo import convert

VARIANT = "wechat"
FILE = "wechat.onnx"
OUTPUT_NAME = "output0"
# Precision levels of wx.createInferenceSession (0-4): 2 stores floats as fp16 and computes in
# fp32; 4 is fp32 throughout with exact math (the engine's default).
FP16_STORAGE_LEVEL = 2
EXACT_LEVEL = 4

# ONNX operator -> the engine's operator (its documented list, CPU column).
ENGINE_OPERATORS = {
    "Conv": "Conv2D",  # depthwise convolutions are Conv with group = channels
    "ConvTranspose": "Conv2DTranspose",
    "Pad": "Pad",  # reflect and constant modes: the list notes no restriction
    "InstanceNormalization": "InstanceNorm",
    "BatchNormalization": "BatchNorm",
    "Relu": "Activation",
    "Tanh": "Activation",
    "Sigmoid": "Activation",
    "Add": "Binary",
    "Sub": "Binary",
    "Mul": "Binary",
    "Div": "Binary",
    "Max": "Binary",
    "Min": "Binary",
    "GlobalAveragePool": "GlobalPooling",
    "AveragePool": "Pooling2D",
    "MaxPool": "Pooling2D",
    "ReduceMean": "Reduce",
    "Concat": "Concat",
    "Cast": "Cast",
    "Gather": "Gather",
    "Transpose": "Permute",
    "Expand": "Expand",
    "Flatten": "Flatten",
    "ConstantOfShape": "ConstOfShape",
    "Constant": "Const",
    "DepthToSpace": "DepthToSpace",
}


def export(saved_model_dir, path, opset, signature="serving_default"):
    """tf2onnx's export of a SavedModel with NCHW inputs and output, the output named `output0`;
    returns `path`."""
    import onnx

    names = convert.signature_names(saved_model_dir, signature)
    path = convert.to_onnx(saved_model_dir, path, opset, signature, nchw=names)
    model = onnx.load(str(path))
    old = model.graph.output[0].name
    for node in model.graph.node:
        node.output[:] = [OUTPUT_NAME if name == old else name for name in node.output]
    model.graph.output[0].name = OUTPUT_NAME
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def operators(path):
    """`{operator: count}` of a graph; Pad is counted per mode (`Pad(reflect)`)."""
    import onnx

    counts = Counter()
    for node in onnx.load(str(path)).graph.node:
        name = node.op_type
        if name == "Pad":
            modes = [onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "mode"]
            name = f"Pad({modes[0].decode() if modes else 'constant'})"
        counts[name] += 1
    return dict(sorted(counts.items()))


def unconfirmed(ops):
    """The operators of `ops` that the engine's list does not confirm."""
    return sorted(op for op in ops if op.split("(")[0] not in ENGINE_OPERATORS)


def fp16_storage(path):
    """The ONNX model at `path` with its weights and intermediate tensors are rounded to fp16 (Cast to
    float16 and back after every float tensor), arithmetic still in fp32: precision level 2."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT:
            rounded = numpy_helper.to_array(init).astype(np.float16).astype(np.float32)
            init.CopyFrom(numpy_helper.from_array(rounded, init.name))
    model = onnx.shape_inference.infer_shapes(model)
    graph = model.graph
    floats = {v.name for v in [*graph.value_info, *graph.input] if v.type.tensor_type.elem_type == TensorProto.FLOAT}
    nodes = []
    for node in graph.node:
        nodes.append(node)
        for index, name in enumerate(node.output):
            if name not in floats or name == OUTPUT_NAME:
                continue
            stored = f"{name}__fp32"
            node.output[index] = stored
            nodes.append(helper.make_node("Cast", [stored], [f"{name}__fp16"], to=TensorProto.FLOAT16))
            nodes.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=TensorProto.FLOAT))
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def outputs(model_or_path, feeds):
    """The model's outputs (NHWC, like the references) for feeds of NHWC inputs (`{input name:
    array}`), by onnxruntime."""
    import onnxruntime

    source = model_or_path.SerializeToString() if hasattr(model_or_path, "SerializeToString") else str(model_or_path)
    session = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    results = []
    for feed in feeds:
        nchw = {name: np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)), dtype=np.float32) for name, x in feed.items()}
        results.append(np.transpose(session.run([OUTPUT_NAME], nchw)[0], (0, 2, 3, 1)))
    return results


def engine_entry(path, inputs, fp16_figures, fp16_threshold_db):
    """The manifest's `engine` entry of the variant: what a phone passes to
    `wx.createInferenceSession` and what was checked. `inputs`: the manifest's names of the
    inputs (`{"input": "image"}`, with `"context"` for a network that has one)."""
    ops = operators(path)
    passes = fp16_figures["psnr_db"] >= fp16_threshold_db
    return {
        "name": "wx.createInferenceSession",
        "min_base_library": "2.30.0",
        "layout": "NCHW",
        **inputs,
        "output": OUTPUT_NAME,
        "precision_level": FP16_STORAGE_LEVEL if passes else EXACT_LEVEL,
        "fp16_storage_parity": {**fp16_figures, "threshold_db": float(fp16_threshold_db)},
        "operators": ops,
        "unconfirmed_operators": unconfirmed(ops),
    }
