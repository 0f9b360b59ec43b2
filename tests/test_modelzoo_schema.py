"""The JSON Schemas of catalogue.json and manifest.json, and the command line's help."""

import copy

import jsonschema
import pytest

from modelzoo import cli, manifest

SHA = "0" * 64
CATALOGUE = {
    "format": 1,
    "styles": [
        {
            "id": "hayao",
            "name": "Hayao",
            "version": "3f9c2a1b7d4e",
            "preview": "hayao/3f9c2a1b7d4e/preview.jpg",
            "manifest": "hayao/3f9c2a1b7d4e/manifest.json",
            "manifest_sha256": SHA,
            "variants": {"uint8": {"bytes": 11329404, "download_bytes": 9478450}},
        }
    ],
}
FILES = [{"path": "tfjs_uint8/model.json", "bytes": 10, "sha256": SHA}]
MANIFEST = {
    "format": 1,
    "id": "hayao",
    "name": "Hayao",
    "version": "3f9c2a1b7d4e",
    "input": {
        "color_order": "BGR",
        "value_range": [-1.0, 1.0],
        "size_multiple": 4,
        "layout": "NHWC",
        "dtype": "float32",
    },
    "preview": "preview.jpg",
    "files": [{"path": "preview.jpg", "bytes": 3, "sha256": SHA}],
    "webgl_settings": {"WEBGL_CONV_IM2COL": False, "WEBGL_DELETE_TEXTURE_THRESHOLD": 0},
    "variants": {
        "uint8": {
            "format": "tfjs-graph-model",
            "model": "tfjs_uint8/model.json",
            "files": FILES,
            "bytes": 10,
            "parity": {"psnr_db": 45.5, "max_abs_error": 0.18, "threshold_db": 40.0, "photos": 2, "size": 256},
            "profile": {
                "wasm": [{"size": 256, "latency_ms": 900.5, "peak_bytes": 1, "ok": True, "error": None}],
                "webgl": None,
                "webgl_missing": "no Chromium",
            },
        },
    },
}


def test_examples_validate():
    manifest.validate(CATALOGUE, "catalogue")
    manifest.validate(MANIFEST, "manifest")


@pytest.mark.parametrize("key", ["id", "name", "version", "preview", "manifest"])
def test_catalogue_fixed_keys_are_required(key):
    broken = copy.deepcopy(CATALOGUE)
    del broken["styles"][0][key]
    with pytest.raises(jsonschema.ValidationError):
        manifest.validate(broken, "catalogue")


@pytest.mark.parametrize(
    "path",
    [
        ("id",),
        ("version",),
        ("input",),
        ("variants",),
        ("variants", "uint8", "files"),
        ("variants", "uint8", "bytes"),
        ("variants", "uint8", "model"),
        ("variants", "uint8", "parity"),
        ("variants", "uint8", "profile", "webgl"),
    ],
)
def test_manifest_fixed_keys_are_required(path):
    broken = copy.deepcopy(MANIFEST)
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    with pytest.raises(jsonschema.ValidationError):
        manifest.validate(broken, "manifest")


@pytest.mark.parametrize("bad", ["/etc/passwd", "../other/model.json", "a/../../b"])
def test_paths_stay_inside_the_package(bad):
    broken = copy.deepcopy(MANIFEST)
    broken["variants"]["uint8"]["files"][0]["path"] = bad
    with pytest.raises(jsonschema.ValidationError):
        manifest.validate(broken, "manifest")


def test_variants_name_the_context_input_of_their_network():
    """A variant's signature, engine and serving name the context input that its network's `input`
    declares (the student's for a student variant), and none where the network has none."""
    onnx = {**MANIFEST["variants"]["uint8"], "format": "onnx", "model": "model.onnx"}
    plain = copy.deepcopy(MANIFEST)
    plain["variants"]["onnx"] = {**onnx, "signature": {"input": "image", "output": "output_0"}}
    manifest.validate(plain, "manifest")

    seeing = copy.deepcopy(plain)
    seeing["input"]["context"] = {"name": "context", "size": 64}
    with pytest.raises(ValueError, match="variant 'onnx': its signature names the context input None"):
        manifest.validate(seeing, "manifest")
    seeing["variants"]["onnx"]["signature"]["context"] = "context"
    manifest.validate(seeing, "manifest")
    seeing["variants"]["onnx"]["engine"] = {"input": "image", "context": "thumbnail", "output": "output0"}
    with pytest.raises(ValueError, match="its engine names the context input 'thumbnail'"):
        manifest.validate(seeing, "manifest")

    student = copy.deepcopy(plain)  # the teacher has no context, its student has one
    student["student"] = {
        "source": {},
        "input": {**MANIFEST["input"], "context": {"name": "context", "size": 64}},
        "webgl_settings": MANIFEST["webgl_settings"],
    }
    student["variants"]["student_onnx"] = {**onnx, "network": "student", "serving": {"input": "image"}}
    with pytest.raises(ValueError, match="variant 'student_onnx': its serving"):
        manifest.validate(student, "manifest")
    student["variants"]["student_onnx"]["serving"]["context"] = "context"
    manifest.validate(student, "manifest")


def test_a_package_not_measured_yet_has_no_profile():
    unmeasured = copy.deepcopy(MANIFEST)
    del unmeasured["variants"]["uint8"]["profile"]
    manifest.validate(unmeasured, "manifest")


def test_missing_webgl_figures_need_a_reason():
    broken = copy.deepcopy(MANIFEST)
    del broken["variants"]["uint8"]["profile"]["webgl_missing"]
    with pytest.raises(jsonschema.ValidationError):
        manifest.validate(broken, "manifest")


@pytest.mark.parametrize("command", [[], ["build"], ["build-all"], ["profile"], ["verify"], ["prune"]])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: python -m modelzoo" in capsys.readouterr().out


def test_verify_of_a_folder_without_catalogue(tmp_path, capsys):
    assert cli.main(["verify", str(tmp_path)]) == 1
    assert "catalogue.json: missing" in capsys.readouterr().err
