"""Building a package from a small random generator: variants, shards, checksums, the Node WASM
runner, idempotent rebuilds, new versions, verify and prune."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelzoo import cli, manifest, profile, sources  # noqa: E402
from modelzoo.build import BuildOptions, build  # noqa: E402
from modelzoo.constants import NODE_DIR, chromium_path  # noqa: E402
from modelzoo.testing import tiny_generator, tiny_metadata  # noqa: E402
from modelzoo.verify import verify  # noqa: E402
from training.conventions import sha256_file  # noqa: E402
from training.saving import save_generator  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

SHARD_BYTES = 2048
OPTIONS = BuildOptions(shard_bytes=SHARD_BYTES, profile_sizes=(32,), parity_size=64, wasm_runs=1, onnx_runs=1)


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("generator") / "tiny.keras"
    return save_generator(tiny_generator(seed=0), path, tiny_metadata("tiny"))


@pytest.fixture(scope="module")
def zoo(tmp_path_factory, keras_file):
    """`(output folder, manifest, package folder)` of one build of the tiny generator."""
    output = tmp_path_factory.mktemp("zoo")
    data, package_dir, built = build(sources.from_keras_file(keras_file), output, OPTIONS, log=lambda _: None)
    assert built
    return output, data, package_dir


def test_package_has_every_variant_and_layout(zoo):
    output, data, package_dir = zoo
    assert package_dir == output / "tiny" / data["version"]
    assert set(data["variants"]) == {"float16", "uint8", "onnx", "wechat", "savedmodel", "onnx_tiles"}
    assert data["tiling"] == {"receptive_field": 10, "overlap": 12, "statistics": True}
    assert (package_dir / "statistics.onnx").is_file() and (package_dir / "tile.onnx").is_file()
    for name in ("float16", "uint8"):
        variant = data["variants"][name]
        assert variant["format"] == "tfjs-graph-model"
        assert variant["model"] == f"tfjs_{name}/model.json"
        model_json = json.loads((package_dir / variant["model"]).read_text())
        assert model_json["format"] == "graph-model"
        dtypes = {
            w.get("quantization", {}).get("dtype")
            for g in model_json["weightsManifest"]
            for w in g["weights"]
            if w["dtype"] == "float32"
        }
        assert dtypes == {name}
    assert (package_dir / "model.onnx").is_file()
    assert (package_dir / "savedmodel" / "tiny" / "1" / "saved_model.pb").is_file()
    assert data["variants"]["savedmodel"]["model"] == "savedmodel/tiny/1"
    assert data["input"] == {
        "color_order": "BGR",
        "value_range": [-1.0, 1.0],
        "size_multiple": 4,
        "layout": "NHWC",
        "dtype": "float32",
    }


def test_weight_shards_respect_the_shard_size(zoo):
    _, data, package_dir = zoo
    for name in ("float16", "uint8"):
        shards = [f for f in data["variants"][name]["files"] if f["path"].endswith(".bin")]
        assert len(shards) >= 2, "the tiny generator should need several 2 KiB shards"
        assert all(0 < f["bytes"] <= SHARD_BYTES for f in shards)
        paths = [
            p
            for g in json.loads((package_dir / f"tfjs_{name}/model.json").read_text())["weightsManifest"]
            for p in g["paths"]
        ]
        assert sorted(f"tfjs_{name}/{p}" for p in paths) == sorted(f["path"] for f in shards)


def test_files_sizes_and_sha256_match(zoo):
    _, data, package_dir = zoo
    on_disk = {p.relative_to(package_dir).as_posix() for p in package_dir.rglob("*") if p.is_file()}
    listed = {entry["path"] for entry in manifest.package_files(data)}
    assert on_disk - listed == {"manifest.json"}
    for entry in manifest.package_files(data):
        path = package_dir / entry["path"]
        assert path.stat().st_size == entry["bytes"]
        assert sha256_file(path) == entry["sha256"]
    for variant in data["variants"].values():
        assert variant["bytes"] == sum(f["bytes"] for f in variant["files"])


def test_manifest_and_catalogue_validate(zoo):
    output, data, package_dir = zoo
    manifest.validate(data, "manifest")
    catalogue = manifest.validate(json.loads((output / "catalogue.json").read_text()), "catalogue")
    (entry,) = catalogue["styles"]
    assert entry["id"] == "tiny" and entry["name"] == "Tiny" and entry["version"] == data["version"]
    assert (output / entry["manifest"]) == package_dir / "manifest.json"
    assert (output / entry["preview"]).read_bytes()[:2] == b"\xff\xd8"  # a JPEG


def test_parity_and_profile_figures(zoo):
    _, data, _ = zoo
    for name, variant in data["variants"].items():
        if name == "savedmodel":
            continue
        parity = variant["parity"]
        assert parity["psnr_db"] >= parity["threshold_db"] > 0
        assert parity["photos"] == 2 and parity["size"] == 64
    profile = data["variants"]["uint8"]["profile"]
    (wasm,) = profile["wasm"]
    assert wasm["ok"] and wasm["size"] == 32 and wasm["peak_bytes"] > 0 and wasm["latency_ms"] > 0
    assert data["variants"]["onnx"]["profile"]["server"][0]["size"] == 32
    # The test install puts Debian's Chromium at /usr/bin/chromium (modelzoo/README.md).
    assert chromium_path().is_file(), f"no Chromium at {chromium_path()}: apt-get install -y chromium"
    assert profile["webgl_missing"] is None, profile["webgl_missing"]
    measured = {(e["max_texture_size"], e["im2col"], e["delete_texture_threshold"]) for e in profile["webgl"]}
    assert measured == {(limit, *config) for limit in (4096, 8192) for config in ((True, -1), (False, -1), (False, 0))}
    assert all(e["ok"] and e["texture_bytes"] > 0 and e["size"] == 32 for e in profile["webgl"])
    # Deleting released textures keeps fewer bytes allocated than keeping them for reuse.
    by_config = {(e["max_texture_size"], e["im2col"], e["delete_texture_threshold"]): e for e in profile["webgl"]}
    assert by_config[(4096, False, 0)]["texture_bytes"] <= by_config[(4096, False, -1)]["texture_bytes"]
    assert data["webgl_settings_measured"] is True
    assert data["webgl_settings"] == {"WEBGL_CONV_IM2COL": False, "WEBGL_DELETE_TEXTURE_THRESHOLD": 0}
    assert data["recommended"] == {"webgl_max_size": 32, "webgl_max_size_by_texture_limit": {"4096": 32, "8192": 32}}


def test_node_wasm_runner_runs_the_package(zoo, tmp_path):
    """The TF.js runtime itself (Node, @tensorflow/tfjs, WASM) loads the uint8 variant and gives
    what TensorFlow gives, within uint8 quantization error."""
    import tensorflow as tf

    _, data, package_dir = zoo
    x = np.random.default_rng(1).uniform(-1, 1, (1, 40, 24, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run(
        [
            "node",
            str(NODE_DIR / "run_wasm.js"),
            "--model",
            str(package_dir / data["variants"]["uint8"]["model"]),
            "--io",
            f"image:{tmp_path / 'x.npy'}={tmp_path / 'y.npy'}",
            "--size",
            "16",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report["backend"] == "wasm" and report["tfjs_version"] == "4.22.0"
    assert report["profile"][0]["ok"]
    y = np.load(tmp_path / "y.npy")
    serving = tf.saved_model.load(str(package_dir / "savedmodel/tiny/1")).signatures["serving_default"]
    reference = serving(image=tf.constant(x))["output_0"].numpy()
    assert y.shape == reference.shape == (1, 40, 24, 3)
    assert np.abs(y - reference).max() < 0.1


def test_rebuild_is_idempotent(zoo, keras_file):
    output, data, package_dir = zoo
    before = {p: p.stat().st_mtime_ns for p in package_dir.rglob("*")}
    again, again_dir, built = build(sources.from_keras_file(keras_file), output, OPTIONS, log=lambda _: None)
    assert not built
    assert again_dir == package_dir and again["version"] == data["version"]
    assert {p: p.stat().st_mtime_ns for p in package_dir.rglob("*")} == before


def test_cli_verify_passes_on_a_fresh_build(zoo, capsys):
    output, _, _ = zoo
    assert verify(output) == []
    assert cli.main(["verify", str(output)]) == 0


@pytest.mark.parametrize("damage", ["missing", "truncated", "altered"])
def test_verify_names_a_damaged_shard(zoo, tmp_path, capsys, damage):
    output, data, _ = zoo
    copy = tmp_path / "zoo"
    shutil.copytree(output, copy)
    shard = next(f["path"] for f in data["variants"]["float16"]["files"] if f["path"].endswith(".bin"))
    path = copy / "tiny" / data["version"] / shard
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:-10])
    else:
        content = bytearray(path.read_bytes())
        content[7] ^= 0xFF
        path.write_bytes(bytes(content))
    assert cli.main(["verify", str(copy)]) == 1
    error = capsys.readouterr().err
    assert str(path) in error and damage in error


def test_verify_detects_an_altered_manifest(zoo, tmp_path, capsys):
    output, data, _ = zoo
    copy = tmp_path / "zoo"
    shutil.copytree(output, copy)
    path = copy / "tiny" / data["version"] / "manifest.json"
    altered = json.loads(path.read_text())
    altered["variants"]["uint8"]["files"][0]["bytes"] += 1
    path.write_text(json.dumps(altered))
    assert cli.main(["verify", str(copy)]) == 1
    assert f"{path}: altered" in capsys.readouterr().err


def test_changed_model_gets_a_new_version_and_prune_removes_the_old(zoo, tmp_path):
    output, data, package_dir = zoo
    copy = tmp_path / "zoo"
    shutil.copytree(output, copy)
    changed = sources.from_keras(tiny_generator(seed=1), tiny_metadata("tiny"), origin="test")
    new, new_dir, built = build(changed, copy, OPTIONS, log=lambda _: None)
    assert built and new["version"] != data["version"]
    catalogue = json.loads((copy / "catalogue.json").read_text())
    assert [(s["id"], s["version"]) for s in catalogue["styles"]] == [("tiny", new["version"])]
    old_dir = copy / "tiny" / data["version"]
    assert old_dir.is_dir()
    assert cli.main(["prune", str(copy), "--dry-run"]) == 0 and old_dir.is_dir()
    assert cli.main(["prune", str(copy)]) == 0
    assert not old_dir.is_dir() and new_dir.is_dir()
    assert verify(copy) == []


def test_ctrl_c_stops_a_command_with_a_message_not_a_traceback(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    add_arguments, _, help_text = cli.COMMANDS["verify"]
    monkeypatch.setitem(cli.COMMANDS, "verify", (add_arguments, interrupted, help_text))
    assert cli.main(["verify", "zoo"]) == 130
    assert capsys.readouterr().err == "\nstopped by Ctrl-C\n"


def test_wechat_variant_says_what_the_phone_engine_gets(zoo):
    _, data, package_dir = zoo
    variant = data["variants"]["wechat"]
    assert variant["format"] == "onnx" and variant["model"] == "wechat.onnx"
    assert (package_dir / "wechat.onnx").is_file()
    assert variant["signature"] == {"input": "image", "output": "output0"}
    assert variant["parity"]["psnr_db"] >= variant["parity"]["threshold_db"] == 80.0
    engine = variant["engine"]
    assert engine["layout"] == "NCHW" and engine["precision_level"] in (2, 4)
    assert engine["fp16_storage_parity"]["threshold_db"] == 60.0
    assert "Conv" in engine["operators"] and isinstance(engine["unconfirmed_operators"], list)


def test_relative_paths_from_another_folder_then_the_profile_later(keras_file, tmp_path):
    """`build --no-profile` and then `profile`, run from a folder other than the checkout with
    relative paths, which mean what they mean to the caller (Node included)."""
    shutil.copy(keras_file, tmp_path / "tiny.keras")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def modelzoo(*arguments):
        command = [sys.executable, "-m", "modelzoo", *arguments]
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]

    modelzoo("build", "--keras", "tiny.keras", "--output", "zoo", "--shard-bytes", "4096", "--no-profile")
    catalogue = json.loads((tmp_path / "zoo" / "catalogue.json").read_text())
    manifest_path = tmp_path / "zoo" / catalogue["styles"][0]["manifest"]
    built = json.loads(manifest_path.read_text())
    assert not any("profile" in variant for variant in built["variants"].values())
    assert built["variants"]["uint8"]["parity"]["psnr_db"] >= built["variants"]["uint8"]["parity"]["threshold_db"]
    assert built["webgl_settings_measured"] is False and built["recommended"]["webgl_max_size"] is None
    files = {p: p.stat().st_mtime_ns for p in manifest_path.parent.rglob("*") if p.name != "manifest.json"}

    modelzoo("profile", "zoo", "--profile-sizes", "32", "--webgl-sizes", "")
    measured = json.loads(manifest_path.read_text())
    for name in ("float16", "uint8"):
        (wasm,) = measured["variants"][name]["profile"]["wasm"]
        assert wasm["ok"] and wasm["size"] == 32
    assert measured["variants"]["onnx"]["profile"]["server"][0]["size"] == 32
    assert {p: p.stat().st_mtime_ns for p in files} == files  # only the manifest changed
    assert verify(tmp_path / "zoo") == []  # the catalogue has the new manifest's sha256


def test_building_again_with_the_profile_measures_the_package_in_place(keras_file, tmp_path):
    source = sources.from_keras_file(keras_file)
    options = BuildOptions(shard_bytes=SHARD_BYTES, profile_sizes=(32,), webgl_sizes=(), parity_size=64, wasm_runs=1)
    first, package_dir, built = build(source, tmp_path, replace(options, profile=False), log=lambda _: None)
    assert built and not profile.is_measured(first)
    again, again_dir, built = build(source, tmp_path, options, log=lambda _: None)
    assert not built and again_dir == package_dir and profile.is_measured(again)
    assert json.loads((package_dir / "manifest.json").read_text()) == again
    assert verify(tmp_path) == []
