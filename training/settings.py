"""Where the shared data lives. One setting, `CARTOON_SHARED_DIR`, defaulting to `../shared`
beside the repository checkout (the published weights and the sample photos; never copied in).
The published styles' students are read from `CARTOON_STUDENTS_DIR`, by default the ones
committed in `training/students/`."""

import os
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


def shared_dir():
    return Path(os.environ.get("CARTOON_SHARED_DIR", REPOSITORY_ROOT.parent / "shared"))


def pretrained_dir():
    """The folder holding one sub-folder of published `.npy` tensors per style."""
    return shared_dir() / "pretrained" / "cartoongan"


def published_weights_dir(style, root=None):
    """The folder of one published style's `.npy` tensors: `root/style`, `root` by default
    `pretrained_dir()`."""
    return Path(root or pretrained_dir()) / style


def photos_dir():
    return shared_dir() / "photos"


def students_dir():
    """The folder of the students packaged beside their teachers, one `<style>.keras` each."""
    return Path(os.environ.get("CARTOON_STUDENTS_DIR", REPOSITORY_ROOT / "training" / "students"))
