"""A style packaged with its student: the student's phone variants beside the generator's, told
apart by `network`, checked in their own runtimes, measured, valid against the schemas; and
`build-all` takes each published style's student from `training.settings.students_dir()`."""

import json
import os
from pathlib import Path

import jsonschema
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelzoo import cli, manifest, profile, sources  # noqa: E402
from modelzoo.build import BuildOptions, build, build_settings, tool_versions  # noqa: E402
from modelzoo.testing import tiny_generator, tiny_metadata  # noqa: E402
from modelzoo.verify import verify  # noqa: E402
from tests.tiling_helpers import local_generator  # noqa: E402
from training import settings  # noqa: E402
from training.imaging import context_input, to_model_input  # noqa: E402
from training.pretrained import STYLES  # noqa: E402
from training.saving import make_metadata  # noqa: E402

OPTIONS = BuildOptions(shard_bytes=4096, profile_sizes=(32,), webgl_sizes=(), parity_size=64, wasm_runs=1, onnx_runs=1)
STUDENT_VARIANTS = {"student_float16", "student_uint8", "student_onnx", "student_wechat"}


CONTEXT_SIZE = 16


def tiny_student(style="tiny", seed=0, context_size=0):
    """A local network (no normalization, receptive field 14) of the teacher's convention; with
    `context_size`, it also sees its whole picture (a second input, `context`)."""
    metadata = make_metadata(style, "BGR", display_name=style.title(), source="tests.tiling_helpers.local_generator")
    model = local_generator(seed=seed, context_size=context_size)
    return sources.from_keras(model, metadata, origin="test student")


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """A style whose student sees its whole picture (the teacher's variants cover one-input networks)."""
    output = tmp_path_factory.mktemp("zoo")
    teacher = sources.from_keras(tiny_generator(seed=0), tiny_metadata("tiny"), origin="test")
    student = tiny_student(context_size=CONTEXT_SIZE)
    data, package_dir, built = build(teacher, output, OPTIONS, log=lambda _: None, student=student)
    assert built
    return output, data, package_dir


@pytest.mark.slow
def test_student_variants_beside_the_teachers(zoo):
    output, data, package_dir = zoo
    variants = data["variants"]
    assert set(variants) == {"float16", "uint8", "onnx", "wechat", "savedmodel", "onnx_tiles"} | STUDENT_VARIANTS
    for name, variant in variants.items():
        assert variant["network"] == ("student" if name.startswith("student_") else "teacher")
    assert variants["student_uint8"]["model"] == "student/tfjs_uint8/model.json"
    assert variants["student_float16"]["quantization"] == "float16"
    assert variants["student_onnx"]["model"] == "student/model.onnx"
    assert variants["student_wechat"]["engine"]["layout"] == "NCHW"
    assert all(f["path"].startswith("student/") for name in STUDENT_VARIANTS for f in variants[name]["files"])
    # The student is far smaller than the teacher (8-channel local network against the tiny generator).
    assert variants["student_onnx"]["bytes"] < variants["onnx"]["bytes"]
    assert data["student"]["input"] == {**data["input"], "context": {"name": "context", "size": CONTEXT_SIZE}}
    assert "context" not in data["input"]
    assert variants["student_onnx"]["signature"] == {"input": "image", "context": "context", "output": "output_0"}
    assert variants["onnx"]["signature"] == {"input": "image", "output": "output_0"}
    engine = variants["student_wechat"]["engine"]
    assert (engine["input"], engine["context"], engine["output"]) == ("image", "context", "output0")
    assert data["student"]["tiling"] == {"receptive_field": 14, "overlap": 16, "statistics": False}
    assert data["tiling"]["statistics"] is True
    assert data["student"]["source"]["content_sha256"] != data["source"]["content_sha256"]


@pytest.mark.slow
def test_student_parity_in_each_runtime(zoo):
    _, data, _ = zoo
    for name in STUDENT_VARIANTS:
        parity = data["variants"][name]["parity"]
        assert parity["psnr_db"] >= parity["threshold_db"] > 0
        assert parity["photos"] == 2 and parity["size"] == 64
    assert data["variants"]["student_uint8"]["parity"]["threshold_db"] == 35.0
    assert data["variants"]["student_onnx"]["parity"]["threshold_db"] == 80.0


@pytest.mark.slow
def test_student_profile_and_advice(zoo):
    _, data, _ = zoo
    assert profile.is_measured(data)
    for name in ("student_float16", "student_uint8"):
        (wasm,) = data["variants"][name]["profile"]["wasm"]
        assert wasm["ok"] and wasm["size"] == 32 and wasm["latency_ms"] > 0
    (server,) = data["variants"]["student_onnx"]["profile"]["server"]
    assert server["size"] == 32 and server["latency_ms"] > 0
    assert data["variants"]["student_wechat"]["profile"]["server"] == [server]
    assert data["student"]["webgl_settings"] == {"WEBGL_CONV_IM2COL": False, "WEBGL_DELETE_TEXTURE_THRESHOLD": 0}
    assert "webgl_settings_measured" in data["student"] and "recommended" in data["student"]


@pytest.mark.slow
def test_manifest_catalogue_and_files_are_valid(zoo):
    output, data, package_dir = zoo
    manifest.validate(data, "manifest")
    catalogue = manifest.validate(json.loads((output / "catalogue.json").read_text()), "catalogue")
    (entry,) = catalogue["styles"]
    sizes = entry["variants"]
    for name in STUDENT_VARIANTS:
        variant = data["variants"][name]
        assert sizes[name] == {
            "bytes": variant["bytes"],
            "download_bytes": variant["download_bytes"],
            "network": "student",
        }
    assert sizes["uint8"]["network"] == "teacher"
    assert verify(output) == []
    broken = {**data, "variants": {**data["variants"], "student_onnx": {**data["variants"]["student_onnx"]}}}
    broken["variants"]["student_onnx"]["network"] = "pupil"
    with pytest.raises(jsonschema.ValidationError, match="pupil"):
        manifest.validate(broken, "manifest")
    without_student = {key: value for key, value in data.items() if key != "student"}
    with pytest.raises(jsonschema.ValidationError, match="'student' is a required property"):
        manifest.validate(without_student, "manifest")
    teachers = {name: variant for name, variant in data["variants"].items() if not name.startswith("student_")}
    teacher_only = {**without_student, "variants": teachers}
    manifest.validate(teacher_only, "manifest")


def test_the_student_is_part_of_the_version():
    teacher = sources.from_keras(tiny_generator(seed=0), tiny_metadata("tiny"), origin="test")
    build_inputs = build_settings(OPTIONS, tool_versions())
    alone = manifest.derive_version(teacher, build_inputs)
    with_student = manifest.derive_version(teacher, build_inputs, tiny_student())
    other_student = manifest.derive_version(teacher, build_inputs, tiny_student(seed=1))
    assert len({alone, with_student, other_student}) == 3
    assert manifest.derive_version(teacher, build_inputs, tiny_student()) == with_student


def test_a_student_of_another_style_is_refused(tmp_path):
    teacher = sources.from_keras(tiny_generator(seed=0), tiny_metadata("tiny"), origin="test")
    with pytest.raises(ValueError, match="student of 'other'"):
        build(teacher, tmp_path, OPTIONS, log=lambda _: None, student=tiny_student("other"))
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_packaged_context_student_gives_the_picture_its_own_thumbnail(zoo):
    """The student's ONNX variant, fed a photo and its context thumbnail computed by
    `training.imaging` (the rule the clients and the server follow), gives what the Keras student
    gives; another picture's thumbnail gives another picture."""
    import keras
    import onnxruntime

    _, data, package_dir = zoo
    convention = data["student"]["input"]
    rgb = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    image = to_model_input(rgb, convention["color_order"], convention["value_range"])
    context = context_input(rgb, CONTEXT_SIZE, convention["color_order"], convention["value_range"])
    session = onnxruntime.InferenceSession(str(package_dir / data["variants"]["student_onnx"]["model"]))
    output = session.run(None, {"image": image, "context": context})[0]
    keras.utils.set_random_seed(0)
    expected = local_generator(seed=0, context_size=CONTEXT_SIZE).predict([image, context], verbose=0)
    np.testing.assert_allclose(output, expected, atol=1e-5)
    other = session.run(None, {"image": image, "context": context_input(255 - rgb, CONTEXT_SIZE, "BGR", (-1, 1))})[0]
    assert np.abs(other - output).max() > 1e-3


def test_only_a_picture_and_a_square_context_are_packaged():
    import keras

    image, context = keras.Input((None, None, 3), name="image"), keras.Input((16, 8, 3), name="context")
    pooled = keras.layers.GlobalAveragePooling2D()(context)
    oblong = keras.Model([image, context], keras.layers.Add()([image, keras.layers.Reshape((1, 1, 3))(pooled)]))
    with pytest.raises(ValueError, match="at most a square RGB context"):
        sources.from_keras(oblong, make_metadata("tiny", "BGR"), "test")
    from training.layers import InstanceNormalization

    square = keras.Input((16, 16, 3), name="context")
    normalized = InstanceNormalization()(keras.layers.Conv2D(3, 1)(image))
    mean = keras.layers.Reshape((1, 1, 3))(keras.layers.GlobalAveragePooling2D()(square))
    with pytest.raises(ValueError, match="whole-picture statistics"):
        sources.from_keras(
            keras.Model([image, square], keras.layers.Add()([normalized, mean])), make_metadata("tiny", "BGR"), "t"
        )
    source = tiny_student(context_size=CONTEXT_SIZE)
    assert source.input["context"] == {"name": "context", "size": CONTEXT_SIZE}
    assert "context" not in tiny_student().input


def test_build_all_packages_each_published_style_with_its_committed_student(tmp_path, monkeypatch):
    """What `make run` packages: every published style with `training/students/<style>.keras`
    (the default of the setting), the light generators without a student."""
    assert settings.students_dir() == Path(settings.REPOSITORY_ROOT) / "training" / "students"
    assert all((settings.students_dir() / f"{style}.keras").is_file() for style in STYLES)
    calls = {}

    def recorded_build(source, output, options, log, student=None):
        calls[source.id] = student
        return {"version": "0" * 12}, output, False

    monkeypatch.setattr("modelzoo.build.build", recorded_build)
    monkeypatch.setattr(
        sources,
        "from_published",
        lambda style, _: sources.from_keras(tiny_generator(), tiny_metadata(style), origin="test"),
    )
    monkeypatch.setattr(
        sources,
        "light_sources",
        lambda _: [sources.from_keras(tiny_generator(), tiny_metadata("light_paprika"), origin="test")],
    )
    assert cli.main(["build-all", "--output", str(tmp_path), "--styles", "hayao,light_paprika"]) == 0
    assert set(calls) == {"hayao", "light_paprika"}
    assert calls["light_paprika"] is None
    assert calls["hayao"].id == "hayao" and calls["hayao"].origin == "keras generator hayao.keras"
    assert calls["hayao"].receptive_field == 62

    empty = tmp_path / "no-students"
    empty.mkdir()
    calls.clear()
    arguments = ["build-all", "--output", str(tmp_path), "--styles", "hayao", "--students-dir", str(empty)]
    assert cli.main(arguments) == 0
    assert calls == {"hayao": None}
