"""`manifest.json` and `catalogue.json`: file entries with sha256, versions, reading, writing and
validation against the JSON Schemas in `modelzoo/schemas/` (documented in docs/modelzoo-format.md).
"""

import hashlib
import json
import os
import zlib
from functools import cache
from pathlib import Path

from modelzoo.constants import CATALOGUE_FILE, FORMAT_VERSION, MANIFEST_FILE, SCHEMAS_DIR, STUDENT, TEACHER
from training.conventions import sha256_file

CHUNK = 1 << 20
VERSION_LENGTH = 12  # hex digits of the sha256 of the build inputs


def gzip_size(path, level=6):
    """Bytes of `path` compressed as an HTTP server's gzip would send it."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            size += len(compressor.compress(chunk))
    return size + len(compressor.flush())


def file_entry(path, root):
    """`{"path", "bytes", "sha256"}` of one file, its path relative to `root` with `/`."""
    path = Path(path)
    return {"path": path.relative_to(root).as_posix(), "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def file_entries(paths, root):
    return [file_entry(path, root) for path in sorted(Path(p) for p in paths)]


def variant_entry(fmt, files, root, model=None, **extra):
    """A manifest variant: its files, their total bytes and gzip download bytes, its model path."""
    entries = file_entries(files, root)
    entry = {"format": fmt}
    if model is not None:
        entry["model"] = Path(model).relative_to(root).as_posix()
    entry["files"] = entries
    entry["bytes"] = sum(item["bytes"] for item in entries)
    entry["download_bytes"] = sum(gzip_size(Path(root) / item["path"]) for item in entries)
    entry.update(extra)
    return entry


def derive_version(source, build_settings, student=None):
    """The version of a package: the first hex digits of the sha256 of everything that decides
    its files (the network's content, its style, name and input convention, its student's content
    and convention when it has one, the format and the converter settings and versions). Same
    inputs, same version; any change, a new one."""
    inputs = {
        "format": FORMAT_VERSION,
        "content": source.content_sha256,
        "id": source.id,
        "name": source.name,
        "input": source.input,
        "build": build_settings,
    }
    if student is not None:
        inputs["student"] = {"content": student.content_sha256, "input": student.input}
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:VERSION_LENGTH]


def write_json(path, data):
    """Writes JSON atomically (a partial file renamed over the target)."""
    path = Path(path)
    partial = path.with_name(f"{path.name}.partial")
    partial.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(partial, path)
    return path


def read_json(path):
    return json.loads(Path(path).read_text())


@cache
def schema(name):
    """The JSON Schema `catalogue` or `manifest`."""
    return json.loads((SCHEMAS_DIR / f"{name}.schema.json").read_text())


def validate(data, name):
    """Raises `jsonschema.ValidationError` when `data` does not match the schema `name`, and
    `ValueError` when a manifest's variants name a context input their network does not have
    (`check_context_names`)."""
    import jsonschema

    jsonschema.validate(data, schema(name), cls=jsonschema.Draft202012Validator)
    if name == "manifest":
        check_context_names(data)
    return data


CONTEXT_NAMING_ENTRIES = ("signature", "engine", "serving")  # where a variant names its inputs


def check_context_names(data):
    """Raises `ValueError` unless every variant's `signature`, `engine` and `serving` names the
    context input of its network (`input.context.name`, the student's for a student variant), or
    none when the network has no context input. A schema cannot compare the two places."""
    for name, variant in data["variants"].items():
        network = data.get(STUDENT, {}) if variant.get("network") == STUDENT else data
        wanted = network.get("input", {}).get("context", {}).get("name")
        for entry in CONTEXT_NAMING_ENTRIES:
            if entry in variant and variant[entry].get("context") != wanted:
                raise ValueError(
                    f"variant {name!r}: its {entry} names the context input {variant[entry].get('context')!r}, "
                    f"its network's input has {wanted!r}"
                )
    return data


def empty_catalogue():
    return {"format": FORMAT_VERSION, "styles": []}


def read_catalogue(output_dir):
    path = Path(output_dir) / CATALOGUE_FILE
    return read_json(path) if path.is_file() else empty_catalogue()


def catalogue_entry(output_dir, manifest, package_dir):
    """The catalogue's entry of a package (paths relative to the catalogue)."""
    output_dir = Path(output_dir)
    manifest_path = Path(package_dir) / MANIFEST_FILE
    return {
        "id": manifest["id"],
        "name": manifest["name"],
        "version": manifest["version"],
        "preview": (Path(package_dir) / manifest["preview"]).relative_to(output_dir).as_posix(),
        "manifest": manifest_path.relative_to(output_dir).as_posix(),
        "manifest_sha256": sha256_file(manifest_path),
        "variants": {
            name: {"bytes": v["bytes"], "download_bytes": v["download_bytes"], "network": v.get("network", TEACHER)}
            for name, v in manifest["variants"].items()
        },
    }


def update_catalogue(output_dir, entry):
    """Puts `entry` in place of the style's current entry (or appends it) and writes the catalogue."""
    catalogue = read_catalogue(output_dir)
    styles = [style for style in catalogue["styles"] if style["id"] != entry["id"]]
    position = next((i for i, s in enumerate(catalogue["styles"]) if s["id"] == entry["id"]), len(styles))
    styles.insert(position, entry)
    catalogue = {"format": FORMAT_VERSION, "styles": styles}
    validate(catalogue, "catalogue")
    write_json(Path(output_dir) / CATALOGUE_FILE, catalogue)
    return catalogue


def write_package_manifest(output_dir, package_dir, data):
    """Writes `data` as the `manifest.json` of the package in `package_dir` (after checking it
    against the manifest schema) and its entry, with the new manifest sha256, into the catalogue
    of `output_dir`. Returns the catalogue."""
    validate(data, "manifest")
    write_json(Path(package_dir) / MANIFEST_FILE, data)
    return update_catalogue(output_dir, catalogue_entry(output_dir, data, package_dir))


def package_files(manifest):
    """Every file entry of a manifest: the package's own files, then each variant's."""
    yield from manifest.get("files", [])
    for variant in manifest["variants"].values():
        yield from variant["files"]
