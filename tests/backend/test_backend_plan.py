"""Where to stylize, from the device facts and the manifest's measured WebGL figures."""

import json
import shutil

import pytest

from tests.backend.helpers import PHONE, plan, rewrite_manifest


def test_capable_phone_runs_on_device(client):
    answer = plan(client)
    assert answer == {
        "where": "device",
        "network": "teacher",
        "variant": "uint8",
        "long_side": 512,
        "manifest_url": "http://localhost/api/v1/styles/tiny/manifest?variant=uint8",
        "webgl_settings": {"WEBGL_CONV_IM2COL": False, "WEBGL_DELETE_TEXTURE_THRESHOLD": 0},
        "reason": answer["reason"],
    }


def test_big_phone_gets_float16(client):
    assert plan(client, memorySize=8192)["variant"] == "float16"


def test_small_texture_limit_lowers_the_size(client):
    # The profile says 512 needs a 4096-pixel texture and 256 a 2048 one; 384 is estimated
    # from the larger neighbour (3072).
    answer = plan(client, maxTextureSize=2048)
    assert answer["where"] == "device" and answer["long_side"] == 256


def test_texture_memory_share(make_app):
    # 512 needs 400 MB of textures, more than a quarter of 1500 MB; 384 needs about 225 MB.
    client = make_app(PLAN_POLICY={"min_memory_mb": 1000}).test_client()
    assert plan(client, memorySize=1500)["long_side"] == 384


@pytest.mark.parametrize(
    "changes, reason_word",
    [
        ({"memorySize": 2048}, "memory"),
        ({"memorySize": None}, "memory"),
        ({"benchmarkLevel": 3}, "slow"),
        ({"platform": "windows"}, "windows"),
        ({"maxTextureSize": 1024}, "WebGL"),
    ],
)
def test_server_cases(client, changes, reason_word):
    answer = plan(client, **changes)
    assert answer["where"] == "server" and answer["variant"] is None
    assert answer["long_side"] == 512
    assert reason_word in answer["reason"]


def test_unknown_benchmark_level_is_let_through(client):
    assert plan(client, benchmarkLevel=-1)["where"] == "device"


def test_small_photo_is_not_enlarged(client):
    assert plan(client, photo={"width": 300, "height": 200})["long_side"] == 300
    assert plan(client, platform="mac", photo={"width": 300, "height": 200})["long_side"] == 300


def test_operator_policy(make_app):
    client = make_app(PLAN_POLICY={"force": "server", "server_long_side": 768}).test_client()
    answer = plan(client)
    assert answer["where"] == "server" and answer["long_side"] == 768 and "operator" in answer["reason"]
    client = make_app(PLAN_POLICY={"min_memory_mb": 1000, "device_sizes": [256]}).test_client()
    assert plan(client, memorySize=1500) == {**plan(client, memorySize=1500), "where": "device", "long_side": 256}


def test_bad_requests(client):
    assert client.post("/api/v1/plan", json={**PHONE, "style": "nope"}).status_code == 404
    for body in (
        {},
        {"style": "tiny"},
        {**PHONE, "photo": {"width": "wide", "height": 3}},
        {**PHONE, "photo": {"width": 0, "height": 3}},
        {**PHONE, "memorySize": "lots"},
    ):
        response = client.post("/api/v1/plan", json=body)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == "bad_request"


def test_a_size_that_failed_in_the_profile_is_not_planned(make_app, tmp_path, zoo_dir):
    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    path = next(copy.glob("tiny/*/manifest.json"))
    manifest = json.loads(path.read_text())
    for entry in manifest["variants"]["uint8"]["profile"]["webgl"]:
        if entry["size"] == 512 and entry["im2col"] is False:
            entry.update(ok=False, error="context lost")
    rewrite_manifest(copy, manifest)
    client = make_app(MODELZOO_DIR=str(copy)).test_client()
    answer = plan(client)
    assert answer["where"] == "device" and answer["long_side"] < 512


def test_no_webgl_figures_limits_the_phone_size(make_app, tmp_path, zoo_dir):
    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    path = next(copy.glob("tiny/*/manifest.json"))
    manifest = json.loads(path.read_text())
    profile = manifest["variants"]["uint8"]["profile"]
    manifest["variants"]["uint8"]["profile"] = {**profile, "webgl": None, "webgl_missing": "no Chromium"}
    rewrite_manifest(copy, manifest)
    client = make_app(MODELZOO_DIR=str(copy)).test_client()
    assert plan(client)["long_side"] == 256  # unprofiled_max_size


def test_a_style_not_measured_yet_goes_to_the_server(make_app, tmp_path, zoo_dir):
    """Packaged without the profile (as `make run` first does): no phone until it is measured."""
    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    path = next(copy.glob("tiny/*/manifest.json"))
    manifest = json.loads(path.read_text())
    for variant in manifest["variants"].values():
        variant.pop("profile", None)
    rewrite_manifest(copy, manifest)
    client = make_app(MODELZOO_DIR=str(copy)).test_client()
    for phone in ({}, {"memorySize": 8192}, {"photo": {"width": 200, "height": 100}}):
        answer = plan(client, **phone)
        assert answer["where"] == "server" and "not measured" in answer["reason"], answer


def test_sizes_above_the_profile_are_not_planned_unless_allowed(make_app, tmp_path, zoo_dir):
    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    path = next(copy.glob("tiny/*/manifest.json"))
    manifest = json.loads(path.read_text())
    for name in ("uint8", "float16"):  # as the reference build: WebGL measured at 256 only
        webgl = manifest["variants"][name]["profile"]["webgl"]
        manifest["variants"][name]["profile"]["webgl"] = [e for e in webgl if e["size"] == 256]
    rewrite_manifest(copy, manifest)
    big_phone = {"memorySize": 8192, "maxTextureSize": 8192}
    assert plan(make_app(MODELZOO_DIR=str(copy)).test_client(), **big_phone)["long_side"] == 256
    allowed = make_app(MODELZOO_DIR=str(copy), PLAN_POLICY={"beyond_profile": True}).test_client()
    assert plan(allowed, **big_phone)["long_side"] == 512


def test_runs_measured_under_the_device_texture_limit_decide(make_app, tmp_path, zoo_dir):
    """As the real build measured the published generator: at 512 a 4096-limited context fails
    (it needs a 4112-pixel texture) while an 8192-limited one runs."""
    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    path = next(copy.glob("tiny/*/manifest.json"))
    manifest = json.loads(path.read_text())
    runs = []
    for size, limit, side, ok in [
        (256, 4096, 2048, True),
        (256, 8192, 2048, True),
        (512, 4096, 4112, False),
        (512, 8192, 4112, True),
    ]:
        runs.append(
            {
                "size": size,
                "im2col": False,
                "delete_texture_threshold": 0,
                "max_texture_size": limit,
                "texture_bytes": 130_000_000 * (size // 256) ** 2,
                "max_texture_width": side,
                "max_texture_height": side // 2,
                "ok": ok,
                "error": None if ok else "texture too large",
            }
        )
    for name in ("uint8", "float16"):
        manifest["variants"][name]["profile"]["webgl"] = runs
    rewrite_manifest(copy, manifest)
    client = make_app(MODELZOO_DIR=str(copy)).test_client()
    assert plan(client, maxTextureSize=4096)["long_side"] in (256, 384)  # 384 is estimated, not measured
    assert plan(client, maxTextureSize=8192)["long_side"] == 512
    assert plan(client, maxTextureSize=16384)["long_side"] == 512
    # The failed 4096-limited run stopped early and allocated little; the memory a phone with an
    # 8192 limit needs is the 8192-limited run's.
    for name in ("uint8", "float16"):
        manifest["variants"][name]["profile"]["webgl"][2]["texture_bytes"] = 40_000_000
        manifest["variants"][name]["profile"]["webgl"][3]["texture_bytes"] = 900_000_000
    rewrite_manifest(copy, manifest)
    client = make_app(MODELZOO_DIR=str(copy)).test_client()
    assert plan(client, maxTextureSize=8192, memorySize=3072)["long_side"] < 512


def with_wechat_variant(tmp_path, zoo_dir, precision_level=2):
    """A copy of the tiny zoo whose style also has the `wechat` variant of the model zoo."""
    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    path = next(copy.glob("tiny/*/manifest.json"))
    manifest = json.loads(path.read_text())
    manifest["variants"]["wechat"] = {
        **manifest["variants"]["onnx"],
        "signature": {"input": "image", "output": "output0"},
        "engine": {"layout": "NCHW", "precision_level": precision_level},
    }
    rewrite_manifest(copy, manifest)
    return copy


def test_phone_with_wechat_engine_gets_the_onnx_variant(make_app, tmp_path, zoo_dir):
    client = make_app(MODELZOO_DIR=str(with_wechat_variant(tmp_path, zoo_dir))).test_client()
    answer = plan(client, inferenceEngine=True, maxTextureSize=1024)  # no WebGL limit applies
    assert answer == {
        **answer,
        "where": "device",
        "engine": "wechat",
        "variant": "wechat",
        "precision_level": 2,
        "long_side": 512,
    }
    assert "engine" not in plan(client)  # older base library: the TF.js plugin, as before
    assert plan(client, inferenceEngine=True, memorySize=2048)["where"] == "server"  # same gates
    manifest = client.get("/api/v1/styles/tiny/manifest?variant=wechat").get_json()
    assert manifest["variant"] == "wechat" and manifest["signature"]["output"] == "output0"


def test_operator_sets_the_wechat_engine_policy(make_app, tmp_path, zoo_dir):
    zoo = str(with_wechat_variant(tmp_path, zoo_dir))
    client = make_app(MODELZOO_DIR=zoo, PLAN_POLICY={"wechat_precision_level": 4, "wechat_max_size": 384}).test_client()
    answer = plan(client, inferenceEngine=True)
    assert (answer["precision_level"], answer["long_side"]) == (4, 384)
    off = make_app(MODELZOO_DIR=zoo, PLAN_POLICY={"wechat_engine": False}).test_client()
    assert "engine" not in plan(off, inferenceEngine=True)


def test_style_without_wechat_variant_uses_the_tfjs_plan(client):
    answer = plan(client, inferenceEngine=True)
    assert answer["where"] == "device" and answer["variant"] == "uint8" and "engine" not in answer
