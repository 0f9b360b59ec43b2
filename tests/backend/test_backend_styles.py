"""The catalogue, manifests and model file delivery (immutable caching, ETag, Range, CDN base)."""

import hashlib
import json
import logging
import shutil

import pytest

from backend.models import Job
from backend.zoo import ID_PATTERN
from modelzoo import sources
from tests.backend.helpers import rewrite_manifest


def test_styles_list(client, zoo_dir):
    response = client.get("/api/v1/styles")
    assert response.status_code == 200
    styles = {s["id"]: s for s in response.get_json()["styles"]}
    assert set(styles) == {"tiny", "tiny_rgb"}
    tiny = styles["tiny"]
    manifest = json.loads(next(zoo_dir.glob("tiny/*/manifest.json")).read_text())
    assert tiny["name"] == "Tiny" and tiny["version"] == manifest["version"]
    assert set(tiny["variants"]) == {"uint8", "float16", "onnx"}  # savedmodel is for the server only
    assert tiny["variants"]["uint8"] == {
        "bytes": manifest["variants"]["uint8"]["bytes"],
        "download_bytes": manifest["variants"]["uint8"]["download_bytes"],
        "network": "teacher",
    }
    assert tiny["profile"]["uint8"]["webgl"][0]["texture_bytes"] == 100_000_000
    assert tiny["preview_url"].startswith("http://localhost/models/tiny/")
    assert client.get(tiny["preview_url"]).status_code == 200


def test_catalogue_etag(client):
    first = client.get("/api/v1/styles")
    again = client.get("/api/v1/styles", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("variant", ["uint8", "float16", "onnx"])
def test_manifest_files_download_and_verify(client, variant):
    response = client.get(f"/api/v1/styles/tiny/manifest?variant={variant}")
    assert response.status_code == 200
    manifest = response.get_json()
    assert manifest["variant"] == variant
    assert manifest["input"]["color_order"] == "BGR" and manifest["input"]["size_multiple"] == 4
    assert manifest["webgl_settings"]["WEBGL_DELETE_TEXTURE_THRESHOLD"] == 0
    assert manifest["bytes"] == sum(f["bytes"] for f in manifest["files"])
    assert manifest["model_url"] in [f["url"] for f in manifest["files"]]
    for entry in manifest["files"]:
        data = client.get(entry["url"]).data
        assert len(data) == entry["bytes"] and hashlib.sha256(data).hexdigest() == entry["sha256"]


def test_manifest_errors(client):
    assert client.get("/api/v1/styles/nope/manifest").status_code == 404
    bad = client.get("/api/v1/styles/tiny/manifest?variant=savedmodel")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_variant"
    assert client.get("/api/v1/styles/tiny/manifest").get_json()["variant"] == "uint8"  # the default


def test_missing_variant(client, zoo_dir, tmp_path, make_app):
    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    path = next(copy.glob("tiny/*/manifest.json"))
    manifest = json.loads(path.read_text())
    del manifest["variants"]["float16"]
    rewrite_manifest(copy, manifest)
    client = make_app(MODELZOO_DIR=str(copy)).test_client()
    response = client.get("/api/v1/styles/tiny/manifest?variant=float16")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "variant_unavailable"


def model_url(client, variant="uint8"):
    files = client.get(f"/api/v1/styles/tiny/manifest?variant={variant}").get_json()["files"]
    return max(files, key=lambda f: f["bytes"])["url"]  # the weight shard


def test_model_file_caching_etag_and_range(client):
    url = model_url(client)
    full = client.get(url)
    assert full.status_code == 200
    cache = full.headers["Cache-Control"]
    assert "immutable" in cache and "max-age=31536000" in cache and "public" in cache
    assert client.get(url, headers={"If-None-Match": full.headers["ETag"]}).status_code == 304
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.data == full.data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(full.data)}"
    assert client.get(url, headers={"Range": f"bytes={len(full.data) + 10}-"}).status_code == 416


def test_a_package_manifest_file_is_not_cached_for_good(client):
    """manifest.json gains its profile when a package is measured after it was built."""
    style = client.get("/api/v1/styles").get_json()["styles"][0]
    response = client.get(f"/models/tiny/{style['version']}/manifest.json")
    assert response.status_code == 200
    assert "immutable" not in response.headers["Cache-Control"] and "max-age=60" in response.headers["Cache-Control"]


def test_only_listed_files_are_served(client, zoo_dir):
    version = client.get("/api/v1/styles").get_json()["styles"][0]["version"]
    (next(zoo_dir.glob("tiny/*/")) / "secret.txt").write_text("not part of a package")
    for path in ["secret.txt", "../../catalogue.json", "%2e%2e/%2e%2e/catalogue.json", "nope.bin"]:
        assert client.get(f"/models/tiny/{version}/{path}").status_code == 404, path
    assert client.get("/models/tiny/0000/model.onnx").status_code == 404
    assert client.get("/models/nope/1/model.onnx").status_code == 404


def test_models_base_url_points_downloads_elsewhere(make_app):
    client = make_app(MODELS_BASE_URL="https://cdn.example.com/zoo/").test_client()
    manifest = client.get("/api/v1/styles/tiny/manifest?variant=onnx").get_json()
    assert manifest["model_url"] == f"https://cdn.example.com/zoo/tiny/{manifest['version']}/model.onnx"
    style = client.get("/api/v1/styles").get_json()["styles"][0]
    assert style["preview_url"].startswith("https://cdn.example.com/zoo/")


def test_public_base_url(make_app):
    client = make_app(PUBLIC_BASE_URL="https://api.example.com").test_client()
    manifest = client.get("/api/v1/styles/tiny/manifest").get_json()
    assert manifest["model_url"].startswith("https://api.example.com/models/tiny/")


def test_catalogue_missing_then_appears(make_app, tmp_path, zoo_dir):
    empty = tmp_path / "later"
    empty.mkdir()
    app = make_app(MODELZOO_DIR=str(empty))
    client = app.test_client()
    assert client.get("/readyz").status_code == 503
    response = client.get("/api/v1/styles")
    assert response.status_code == 503 and response.headers["Retry-After"]
    shutil.copytree(zoo_dir, empty, dirs_exist_ok=True)
    app.extensions["zoo"].refresh(force=True)
    assert client.get("/readyz").status_code == 200
    assert len(client.get("/api/v1/styles").get_json()["styles"]) == 2


def test_broken_catalogue_keeps_the_last_good_one(make_app, tmp_path, zoo_dir):
    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    app = make_app(MODELZOO_DIR=str(copy))
    (copy / "catalogue.json").write_text("{not json")
    app.extensions["zoo"].refresh(force=True)
    assert len(app.test_client().get("/api/v1/styles").get_json()["styles"]) == 2
    assert "catalogue.json" in app.extensions["zoo"].error


def test_what_the_model_zoo_schemas_refuse_is_refused_with_a_clear_log_line(make_app, tmp_path, zoo_dir, caplog):
    copy = tmp_path / "zoo"
    shutil.copytree(zoo_dir, copy)
    app = make_app(MODELZOO_DIR=str(copy))
    zoo = app.extensions["zoo"]
    assert zoo.refresh(force=True)
    good = (copy / "catalogue.json").read_text()
    catalogue = json.loads(good)
    catalogue["styles"][0]["id"] = "-tiny"  # the schema's ids start with a letter or digit
    (copy / "catalogue.json").write_text(json.dumps(catalogue))
    with caplog.at_level(logging.ERROR, logger="backend.zoo"):
        zoo.refresh(force=True)
    assert "catalogue.schema.json at styles/0/id" in zoo.error and "'-tiny'" in zoo.error
    assert "model zoo not loaded" in caplog.text and "catalogue.schema.json at styles/0/id" in caplog.text
    assert len(app.test_client().get("/api/v1/styles").get_json()["styles"]) == 2  # the last good catalogue

    path = next(copy.glob("tiny/*/manifest.json"))
    manifest = json.loads(path.read_text())
    del manifest["files"]  # the package's own files (the preview), which the schema requires
    path.write_text(json.dumps(manifest))
    (copy / "catalogue.json").write_text(good + "\n")
    zoo.refresh(force=True)
    assert f"the manifest {path} refused by modelzoo/schemas/manifest.schema.json" in zoo.error
    assert "'files' is a required property" in zoo.error

    # What a schema cannot say: a variant names a context input that its network does not have.
    path.write_text(
        json.dumps(
            {
                **manifest,
                "files": [],
                "variants": {
                    **manifest["variants"],
                    "onnx": {**manifest["variants"]["onnx"], "signature": {"input": "image", "context": "context"}},
                },
            }
        )
    )
    (copy / "catalogue.json").write_text(good + "\n\n")
    zoo.refresh(force=True)
    assert f"the manifest {path} refused: variant 'onnx': its signature names the context input 'context'" in zoo.error

    (copy / "catalogue.json").write_text(good)
    rewrite_manifest(copy, {**manifest, "files": []})
    assert zoo.refresh(force=True) and zoo.error is None


def test_a_style_id_fits_the_jobs_table():
    """The schema caps style ids at the length of `jobs.style` (PostgreSQL refuses longer values,
    SQLite would keep them), so a catalogue the backend loads never leads to a failing job."""
    length = Job.__table__.c.style.type.length
    assert ID_PATTERN.match("a" * length) and not ID_PATTERN.match("a" * (length + 1))
    assert sources.STYLE_ID.pattern == ID_PATTERN.pattern
