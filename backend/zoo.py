"""The model zoo folder (`MODELZOO_DIR`): `catalogue.json` and each style's `manifest.json`.

Only the keys that docs/modelzoo-format.md marks as read by others are relied on, but the catalogue
and every manifest must match the model zoo's JSON Schemas (`modelzoo/schemas/`): the backend
refuses what the schemas refuse, and a manifest whose variants name a context input their network
does not have (`modelzoo.manifest.check_context_names`). The catalogue is read again when the file
changes (checked at most every `CHECK_SECONDS`), so a rebuilt zoo is picked up without a restart; a
broken or refused rebuild keeps the last good catalogue and is logged with the file and the reason.
"""

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jsonschema

from modelzoo import manifest as zoo_format

log = logging.getLogger(__name__)

# Style ids and versions as the catalogue schema allows them (they are also folder names).
ID_PATTERN = re.compile(zoo_format.schema("catalogue")["$defs"]["id"]["pattern"])
VERSION_PATTERN = re.compile(zoo_format.schema("catalogue")["$defs"]["version"]["pattern"])
CHECK_SECONDS = 2.0
# The networks of a package (docs/modelzoo-format.md, "Teacher and student"): the style's generator,
# and the small student distilled from it for phones, whose variants are named STUDENT_PREFIX + name.
TEACHER, STUDENT = "teacher", "student"
STUDENT_PREFIX = "student_"
PHONE_VARIANTS = ("uint8", "float16", "onnx", "wechat")
# The variants clients download: the teacher's and the student's.
CLIENT_VARIANTS = PHONE_VARIANTS + tuple(STUDENT_PREFIX + name for name in PHONE_VARIANTS)


@dataclass(frozen=True)
class Style:
    id: str
    name: str
    version: str
    folder: Path  # the folder of manifest.json
    preview: str | None  # relative to `folder`
    manifest: dict

    def variant(self, name):
        return (self.manifest.get("variants") or {}).get(name)

    @property
    def has_student(self):
        return isinstance(self.manifest.get(STUDENT), dict)

    def network_variant(self, network, name):
        """`(variant name, variant)` of the teacher's or the student's variant `name` ("uint8",
        "onnx", ...); the variant is None when the package has none."""
        full_name = STUDENT_PREFIX + name if network == STUDENT else name
        return full_name, self.variant(full_name)

    def facts(self, network):
        """The input convention, `tiling` and WebGL advice of `network`: the manifest's `student`
        object for the student, the manifest itself for the teacher."""
        return self.manifest[STUDENT] if network == STUDENT and self.has_student else self.manifest

    def variant_facts(self, variant_name):
        """`facts` of the network that the variant runs."""
        return self.facts((self.variant(variant_name) or {}).get("network", TEACHER))


def _inside(root, relative):
    path = (root / relative).resolve()
    if root.resolve() not in path.parents:
        raise ValueError(f"{relative!r} points outside {root}")
    return path


def check_schema(data, name, what):
    """`data` when it matches the model zoo's schema `name` (catalogue or manifest) and its checks
    (`modelzoo.manifest.validate`); otherwise a `ValueError` saying `what` was refused and why
    (for a schema, which one and where in the file)."""
    try:
        return zoo_format.validate(data, name)
    except jsonschema.ValidationError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "the top level"
        schema = f"modelzoo/schemas/{name}.schema.json"
        raise ValueError(f"{what} refused by {schema} at {where}: {error.message}") from None
    except ValueError as error:  # what a schema cannot say (modelzoo.manifest.check_context_names)
        raise ValueError(f"{what} refused: {error}") from None


def read_style(root, entry):
    style_id, version = entry["id"], str(entry["version"])
    manifest_path = _inside(root, entry["manifest"])
    manifest = check_schema(json.loads(manifest_path.read_text()), "manifest", f"the manifest {manifest_path}")
    if manifest.get("id") != style_id or str(manifest.get("version")) != version:
        raise ValueError(f"{manifest_path}: id/version differ from the catalogue")
    folder = manifest_path.parent
    preview = entry.get("preview") or manifest.get("preview")
    if preview and entry.get("preview"):
        preview = str(_inside(root, entry["preview"]).relative_to(folder.resolve()))
    return Style(style_id, entry.get("name") or style_id, version, folder, preview, manifest)


@lru_cache(maxsize=64)
def servable_files(folder, mtime):
    """The paths (relative to the manifest's folder) a client may download: every variant's files,
    the manifest and the preview. Cached per folder and manifest modification time."""
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    paths = {"manifest.json"}
    if manifest.get("preview"):
        paths.add(manifest["preview"])
    paths.update(f["path"] for f in manifest.get("files") or [])
    for variant in (manifest.get("variants") or {}).values():
        paths.update(f["path"] for f in variant.get("files") or [])
    return frozenset(paths)


class ModelZoo:
    def __init__(self, root):
        self.root = Path(root)
        self.error = None
        self._styles = {}
        self._loaded = False
        self._mtime = None
        self._checked = 0.0
        self._lock = threading.Lock()

    @property
    def catalogue_path(self):
        return self.root / "catalogue.json"

    def refresh(self, force=False):
        """Reads the catalogue again if it changed; returns whether a catalogue is loaded."""
        now = time.monotonic()
        if not force and now - self._checked < CHECK_SECONDS:
            return self._loaded
        with self._lock:
            self._checked = now
            try:
                mtime = self.catalogue_path.stat().st_mtime_ns
            except OSError:
                self.error = f"no catalogue.json in {self.root}"
                return self._loaded
            if mtime == self._mtime:
                return self._loaded
            try:
                catalogue = check_schema(json.loads(self.catalogue_path.read_text()), "catalogue", "the catalogue")
                styles = {}
                for entry in catalogue["styles"]:
                    style = read_style(self.root, entry)
                    styles[style.id] = style
            except (OSError, ValueError, KeyError, TypeError) as error:
                self.error = f"{self.catalogue_path}: {error}"
                log.error("model zoo not loaded: %s", self.error)
                return self._loaded
            self._styles, self._mtime, self._loaded, self.error = styles, mtime, True, None
            log.info("model zoo: %d styles from %s", len(styles), self.root)
            return True

    @property
    def ready(self):
        return self.refresh()

    def styles(self):
        self.refresh()
        return list(self._styles.values())

    def get(self, style_id):
        self.refresh()
        return self._styles.get(style_id)

    def version_folder(self, style_id, version):
        """The folder of one version of a style (the current one or an older one still on disk)."""
        style = self.get(style_id)
        if style is not None and style.version == version:
            return style.folder
        if not ID_PATTERN.match(style_id) or not VERSION_PATTERN.match(version):
            return None
        folder = self.root / style_id / version
        return folder if (folder / "manifest.json").is_file() else None

    def servable(self, folder, path):
        try:
            mtime = (folder / "manifest.json").stat().st_mtime_ns
            return path in servable_files(str(folder), mtime)
        except (OSError, ValueError, KeyError, TypeError):
            return False
