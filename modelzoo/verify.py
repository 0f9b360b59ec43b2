"""Checking an output folder (`verify`) and removing old versions (`prune`).

`verify` reads `catalogue.json`, checks each manifest against the catalogue's sha256 and the
schema, and every file of every package against its size and sha256. A problem is a
`(path, reason)` pair naming the file relative to the output folder.
"""

import shutil
from pathlib import Path

from modelzoo import manifest
from modelzoo.constants import CACHE_DIR, CATALOGUE_FILE, MANIFEST_FILE, PARTIAL_PREFIX
from training.conventions import sha256_file


def check_file(path, entry):
    """Why the file at `path` does not match its entry (missing, truncated, altered), or None."""
    path = Path(path)
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size != entry["bytes"]:
        kind = "truncated" if size < entry["bytes"] else "too long"
        return f"{kind}: {size} bytes, expected {entry['bytes']}"
    if sha256_file(path) != entry["sha256"]:
        return "altered: sha256 does not match"
    return None


def verify_package(package_dir, data):
    """The problems of one package (paths relative to `package_dir`)."""
    package_dir = Path(package_dir)
    problems = []
    for entry in manifest.package_files(data):
        reason = check_file(package_dir / entry["path"], entry)
        if reason:
            problems.append((entry["path"], reason))
    return problems


def verify(output_dir):
    """Every problem of an output folder, as `(path relative to the folder, reason)` pairs."""
    import jsonschema

    output_dir = Path(output_dir)
    catalogue_path = output_dir / CATALOGUE_FILE
    if not catalogue_path.is_file():
        return [(CATALOGUE_FILE, "missing")]
    try:
        catalogue = manifest.validate(manifest.read_json(catalogue_path), "catalogue")
    except (ValueError, jsonschema.ValidationError) as error:
        return [(CATALOGUE_FILE, f"invalid: {str(error).splitlines()[0]}")]

    problems = []
    for style in catalogue["styles"]:
        manifest_path = output_dir / style["manifest"]
        if not manifest_path.is_file():
            problems.append((style["manifest"], "missing"))
            continue
        if sha256_file(manifest_path) != style["manifest_sha256"]:
            problems.append((style["manifest"], "altered: sha256 does not match the catalogue"))
            continue
        try:
            data = manifest.validate(manifest.read_json(manifest_path), "manifest")
        except (ValueError, jsonschema.ValidationError) as error:
            problems.append((style["manifest"], f"invalid: {str(error).splitlines()[0]}"))
            continue
        if (data["id"], data["version"]) != (style["id"], style["version"]):
            problems.append(
                (
                    style["manifest"],
                    f"is {data['id']} {data['version']}, the catalogue says {style['id']} {style['version']}",
                )
            )
        package_dir = manifest_path.parent
        prefix = package_dir.relative_to(output_dir)
        problems += [((prefix / path).as_posix(), reason) for path, reason in verify_package(package_dir, data)]
    return problems


def prunable(output_dir, keep=1):
    """Package folders (and leftovers of interrupted builds) that `prune` removes: for each style,
    all versions but the catalogue's current one and the `keep - 1` most recently built others."""
    output_dir = Path(output_dir)
    current = {(s["id"], s["version"]) for s in manifest.read_catalogue(output_dir)["styles"]}
    doomed = []
    for style_dir in sorted(p for p in output_dir.iterdir() if p.is_dir() and p.name != CACHE_DIR):
        versions = []
        for package_dir in sorted(p for p in style_dir.iterdir() if p.is_dir()):
            if package_dir.name.startswith(PARTIAL_PREFIX):
                doomed.append(package_dir)
            elif (style_dir.name, package_dir.name) not in current:
                manifest_path = package_dir / MANIFEST_FILE
                built = manifest.read_json(manifest_path).get("built_at", "") if manifest_path.is_file() else ""
                versions.append((built, package_dir))
        has_current = any(style_id == style_dir.name for style_id, _ in current)
        spare = max(0, keep - 1) if has_current else max(0, keep)
        versions.sort(reverse=True)
        doomed += [path for _, path in versions[spare:]]
    return doomed


def prune(output_dir, keep=1, dry_run=False):
    """Removes what `prunable` lists; returns the removed (or, dry, the would-be removed) folders."""
    doomed = prunable(output_dir, keep)
    if not dry_run:
        for path in doomed:
            shutil.rmtree(path)
    return doomed
