"""Parity checks (PSNR, thresholds, a deliberately perturbed variant failing the build), a
SavedModel source built through the command line, and a build on a machine without Chromium."""

import json
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelzoo import cli, convert, parity, sources  # noqa: E402
from modelzoo.build import BuildOptions, build  # noqa: E402
from modelzoo.testing import tiny_generator, tiny_metadata  # noqa: E402

BGR = {"color_order": "BGR", "value_range": [-1.0, 1.0], "size_multiple": 4}
OPTIONS = BuildOptions(shard_bytes=4096, profile_sizes=(), parity_size=64, wasm_runs=1, onnx_runs=1)


def test_psnr_of_identical_and_known_outputs():
    a = np.zeros((1, 4, 4, 3), np.float32)
    assert parity.psnr(a, a, BGR) == parity.MAX_PSNR_DB
    # An error of 0.2 in [-1, 1] is 0.1 in [0, 1]: 20 dB.
    assert parity.psnr(a + 0.2, a, BGR) == pytest.approx(20.0)


def test_compare_reports_the_worst_photo_and_check_enforces_the_threshold():
    reference = [np.zeros((1, 8, 8, 3), np.float32)] * 2
    outputs = [reference[0] + 0.002, reference[1] + 0.2]
    figures = parity.compare(outputs, reference, BGR)
    assert figures["psnr_db"] == pytest.approx(20.0, abs=0.01)
    assert figures["max_abs_error"] == pytest.approx(0.2)
    assert figures["photos"] == 2 and figures["size"] == 8
    assert parity.check("uint8", figures, 19.0)["threshold_db"] == 19.0
    with pytest.raises(parity.ParityError, match="uint8: 20.00 dB"):
        parity.check("uint8", figures, 30.0)
    with pytest.raises(parity.ParityError, match="shape"):
        parity.compare([np.zeros((1, 4, 8, 3))], reference[:1], BGR)


@pytest.mark.slow
def test_build_fails_when_a_variant_is_perturbed(tmp_path, monkeypatch):
    """A float16 variant converted from a slightly different network (the output bias moved by
    0.05) fails its parity check in the TF.js runtime; the build writes no package and no
    catalogue entry."""
    model = tiny_generator(seed=2)
    perturbed = tiny_generator(seed=2)
    kernel, bias = perturbed.get_layer("conv05").get_weights()
    perturbed.get_layer("conv05").set_weights([kernel, bias + 0.05])
    perturbed_dir = convert.export_saved_model(perturbed, tmp_path / "perturbed_SavedModel")
    real_to_tfjs = convert.to_tfjs
    monkeypatch.setattr(convert, "to_tfjs", lambda _, *args: real_to_tfjs(perturbed_dir, *args))

    output = tmp_path / "zoo"
    source = sources.from_keras(model, tiny_metadata("perturbed"), origin="test")
    with pytest.raises(parity.ParityError, match=r"variant float16: .* below its threshold of 60.0 dB"):
        build(source, output, OPTIONS, log=lambda _: None)
    assert not (output / "catalogue.json").exists()
    assert list((output / "perturbed").iterdir()) == []


@pytest.mark.slow
def test_cli_builds_a_saved_model_without_chromium(tmp_path, monkeypatch, capsys):
    """A SavedModel source with its convention on the command line (as the light generators), on
    a machine without Chromium: the build works and says that the WebGL figures are missing."""
    saved_model = convert.export_saved_model(tiny_generator(seed=3), tmp_path / "tiny_SavedModel")
    monkeypatch.setenv("MODELZOO_CHROMIUM", str(tmp_path / "no-chromium"))
    output = tmp_path / "zoo"
    status = cli.main(
        [
            "build",
            "--saved-model",
            str(saved_model),
            "--id",
            "light_tiny",
            "--name",
            "Light Tiny",
            "--color-order",
            "RGB",
            "--value-range",
            "-1",
            "1",
            "--output",
            str(output),
            "--profile-sizes",
            "16",
            "--shard-bytes",
            "4096",
        ]
    )
    assert status == 0, capsys.readouterr().err
    catalogue = json.loads((output / "catalogue.json").read_text())
    (style,) = catalogue["styles"]
    assert (style["id"], style["name"]) == ("light_tiny", "Light Tiny")
    data = json.loads((output / style["manifest"]).read_text())
    assert data["input"]["color_order"] == "RGB"
    for name in ("float16", "uint8"):
        profile = data["variants"][name]["profile"]
        assert profile["webgl"] is None
        assert "no Chromium at" in profile["webgl_missing"] and "no-chromium" in profile["webgl_missing"]
        assert profile["wasm"][0]["ok"]
    assert data["webgl_settings_measured"] is False
    assert data["webgl_settings"] == {"WEBGL_CONV_IM2COL": False, "WEBGL_DELETE_TEXTURE_THRESHOLD": 0}
    assert data["variants"]["onnx"]["signature"] == {"input": "image", "output": "output_0"}
    assert cli.main(["verify", str(output)]) == 0


def test_build_all_refuses_unknown_styles(tmp_path, capsys):
    assert cli.main(["build-all", "--output", str(tmp_path), "--styles", "hayao,nope"]) == 2
    assert "unknown styles: nope" in capsys.readouterr().err
    assert not (tmp_path / "catalogue.json").exists()
