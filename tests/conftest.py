"""Fixtures shared by the whole Python test suite."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# tensorflowjs imports tensorflow_decision_forests, whose welcome banner imports IPython when
# output is captured; the variable turns the banner off.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")

import pytest  # noqa: E402

from training import settings  # noqa: E402


@pytest.fixture(scope="session")
def photos():
    """The sample photos in the shared folder (never copied into the repository)."""
    paths = sorted(settings.photos_dir().glob("*.jpg"))
    assert len(paths) >= 8, f"expected the shared sample photos in {settings.photos_dir()}"
    return paths


@pytest.fixture(scope="session")
def hayao_weights_dir():
    path = settings.published_weights_dir("hayao")
    assert path.is_dir(), f"expected the published weights in {path}"
    return path


@pytest.fixture(scope="session")
def hayao_generator_path(tmp_path_factory, hayao_weights_dir):
    """The published Hayao style imported and saved as a .keras generator, once per session."""
    from training.pretrained import import_published
    from training.saving import save_generator

    model, metadata = import_published("hayao", hayao_weights_dir)
    return save_generator(model, tmp_path_factory.mktemp("models") / "hayao.keras", metadata)
