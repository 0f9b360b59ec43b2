"""Photos at full size on the server: jobs stylized in tiles, `long_side: "original"`, the cap of
styles that cannot be tiled, and the plan's tiled sizes for local networks."""

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from backend.inference import Generators, OnnxGenerator, stylize
from backend.zoo import ModelZoo
from tests.backend.helpers import dev_login, finished_job, image_bytes, plan, rewrite_manifest, submit

# The tiny zoo's networks are two 3x3 convolutions: one pixel a side each.
LOCAL_TILING = {"receptive_field": 2, "overlap": 4, "statistics": False}


@pytest.fixture
def tiled_zoo(tmp_path, zoo_dir):
    """The tiny zoo with `tiny` marked as a local network that can be tiled (`tiny_rgb` is not)."""
    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    path = next(copy.glob("tiny/*/manifest.json"))
    rewrite_manifest(copy, {**json.loads(path.read_text()), "tiling": LOCAL_TILING})
    return copy


def photo(width, height):
    rng = np.random.default_rng(width * height)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_tiled_job_equals_the_whole_picture_and_tiles_stay_small(tiled_zoo):
    style = ModelZoo(tiled_zoo).get("tiny")
    picture = np.asarray(photo(301, 203))
    whole = stylize(OnnxGenerator(style.folder / "model.onnx"), picture, style.manifest["input"])
    generators = Generators("onnx", tile=64)
    shapes = []
    session = generators.get(style)
    generators._loaded[(style.id, style.version)]["whole"] = lambda batch: shapes.append(batch.shape) or session(batch)
    tiled = generators.run(style, picture)
    assert np.abs(tiled.astype(int) - whole).max() <= 1
    assert len(shapes) > 1 and max(max(s[1:3]) for s in shapes) <= 64
    assert Generators("onnx", tile=0).run(style, picture).shape == picture.shape  # 0: never tile
    with pytest.raises(ValueError, match="INFERENCE_TILE"):
        Generators("onnx", tile=50)


def test_original_size_up_to_the_limit_of_each_style(make_app, tiled_zoo):
    app = make_app(MODELZOO_DIR=str(tiled_zoo), INFERENCE_TILE=64, JOB_MAX_LONG_SIDE=400, JOB_MAX_UNTILED_LONG_SIDE=128)
    client = app.test_client()
    alice = dev_login(client)
    job = finished_job(client, alice, data=png(photo(300, 200)), long_side="original")
    assert (job["result"]["width"], job["result"]["height"]) == (300, 200) and job["long_side"] == 300
    assert "notes" not in job
    job = finished_job(client, alice, data=png(photo(600, 300)), long_side="original")
    assert (job["result"]["width"], job["result"]["height"]) == (400, 200)
    assert any("at most 400" in note for note in job["notes"])
    # tiny_rgb has no `tiling`: stylized whole, so at most JOB_MAX_UNTILED_LONG_SIDE.
    job = finished_job(client, alice, data=png(photo(300, 200)), style="tiny_rgb", long_side="original")
    assert (job["result"]["width"], job["result"]["height"]) == (128, 85) and job["long_side"] == 128
    assert any("at most 128" in note for note in job["notes"])
    job = finished_job(client, alice, data=png(photo(300, 200)), style="tiny_rgb", long_side=256)
    assert job["result"]["width"] == 128
    for bad in ("originals", "401", "0"):
        response = submit(client, alice, data=image_bytes(), long_side=bad)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_long_side"
        assert "original" in response.get_json()["error"]["message"]


def test_plan_tiles_local_networks_on_the_phone(make_app, tiled_zoo):
    client = make_app(MODELZOO_DIR=str(tiled_zoo)).test_client()
    answer = plan(client)  # a 3000x4000 photo, a phone that runs 512
    assert answer["where"] == "device" and answer["tile"] == 512 and answer["long_side"] == 2048
    assert plan(client, photo={"width": 1200, "height": 900})["long_side"] == 1200
    small = plan(client, photo={"width": 400, "height": 300})
    assert small["long_side"] == 400 and "tile" not in small
    assert "tile" not in plan(client, style="tiny_rgb")  # not a local network: one piece, as before
    capped = make_app(MODELZOO_DIR=str(tiled_zoo), PLAN_POLICY={"device_tiled_long_side": 1024}).test_client()
    assert plan(capped)["long_side"] == 1024


def test_plan_server_size_is_capped_for_styles_that_cannot_be_tiled(make_app, tiled_zoo):
    policy = {"force": "server", "server_long_side": 4096}
    client = make_app(MODELZOO_DIR=str(tiled_zoo), PLAN_POLICY=policy, JOB_MAX_UNTILED_LONG_SIDE=1024).test_client()
    assert plan(client)["long_side"] == 4000
    assert plan(client, style="tiny_rgb")["long_side"] == 1024


def test_manifest_answer_carries_the_tiling(make_app, tiled_zoo):
    client = make_app(MODELZOO_DIR=str(tiled_zoo)).test_client()
    assert client.get("/api/v1/styles/tiny/manifest").get_json()["tiling"] == LOCAL_TILING
    assert client.get("/api/v1/styles/tiny_rgb/manifest").get_json()["tiling"] is None
