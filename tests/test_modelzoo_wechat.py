"""The ONNX variant for WeChat's inference engine: NCHW input and output, the output named
`output0`, the same pixels as the NHWC export, fp16 storage emulation, and the operator check."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelzoo import convert, parity, wechat  # noqa: E402
from modelzoo.testing import tiny_generator  # noqa: E402

pytestmark = pytest.mark.slow

CONVENTION = {"color_order": "BGR", "value_range": [-1.0, 1.0], "size_multiple": 4}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """`(saved model, NHWC onnx, wechat onnx, input names)` of the tiny generator."""
    work = tmp_path_factory.mktemp("wechat")
    saved = convert.export_saved_model(tiny_generator(seed=1), work / "saved")
    nhwc = convert.to_onnx(saved, work / "model.onnx", 13)
    path = wechat.export(saved, work / wechat.FILE, 13)
    return saved, nhwc, path, convert.signature_names(saved)[0]


def test_input_and_output_are_nchw_and_named_for_the_engine(exported):
    import onnx

    _, _, path, input_names = exported
    graph = onnx.load(str(path)).graph
    assert input_names == ("image",)
    assert [i.name for i in graph.input] == ["image"]
    assert graph.input[0].type.tensor_type.shape.dim[1].dim_value == 3  # N, C=3, H, W
    assert [o.name for o in graph.output] == [wechat.OUTPUT_NAME]
    assert graph.output[0].type.tensor_type.shape.dim[1].dim_value == 3
    # float32 weights: the engine documents no float16 tensors
    assert {i.data_type for i in graph.initializer} - {onnx.TensorProto.INT64, onnx.TensorProto.INT32} == {
        onnx.TensorProto.FLOAT
    }


def test_same_pixels_as_the_nhwc_export_at_odd_sizes(exported):
    _, nhwc, path, _ = exported
    x = np.random.RandomState(0).uniform(-1, 1, (1, 36, 52, 3)).astype(np.float32)
    reference = parity.onnx_outputs(nhwc, [{"image": x}])
    output = wechat.outputs(path, [{"image": x}])
    assert output[0].shape == reference[0].shape == (1, 36, 52, 3)
    assert parity.compare(output, reference, CONVENTION)["psnr_db"] == parity.MAX_PSNR_DB


def test_fp16_storage_rounds_every_tensor_but_stays_close(exported):
    _, nhwc, path, _ = exported
    x = np.random.RandomState(1).uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    reference = parity.onnx_outputs(nhwc, [{"image": x}])
    figures = parity.compare(wechat.outputs(wechat.fp16_storage(path), [{"image": x}]), reference, CONVENTION)
    assert 50 < figures["psnr_db"] < parity.MAX_PSNR_DB  # changed, as fp16 storage changes it, but close


def test_operators_are_checked_against_the_engine_list(exported):
    _, _, path, input_names = exported
    ops = wechat.operators(path)
    assert ops["Pad(reflect)"] == 3 and ops["ConvTranspose"] == 1 and ops["Conv"] == 4
    assert "Conv" not in wechat.unconfirmed(ops) and "Pad(reflect)" not in wechat.unconfirmed(ops)
    assert wechat.unconfirmed({"Conv": 1, "Einsum": 2, "Pad(edge)": 1}) == ["Einsum"]
    entry = wechat.engine_entry(path, {"input": input_names[0]}, {"psnr_db": 70.0}, 60.0)
    assert entry["input"] == "image" and "context" not in entry
    assert entry["precision_level"] == wechat.FP16_STORAGE_LEVEL
    assert entry["unconfirmed_operators"] == wechat.unconfirmed(ops)
    exact = wechat.engine_entry(path, {"input": "image"}, {"psnr_db": 50.0}, 60.0)
    assert exact["precision_level"] == wechat.EXACT_LEVEL
    with_context = wechat.engine_entry(path, {"input": "image", "context": "context"}, {"psnr_db": 70.0}, 60.0)
    assert (with_context["input"], with_context["context"]) == ("image", "context")
