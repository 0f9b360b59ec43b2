"""The imported published styles against an independent NumPy forward pass of the published network."""

import json
import zipfile

import numpy as np
import pytest
import reference_cartoongan as reference
from PIL import Image

from training import settings
from training.cli import main
from training.pretrained import STYLES, import_published, load_published_weights
from training.saving import METADATA_MEMBER, load_generator, read_metadata


def keras_output(model, image_hwc):
    return np.asarray(model(image_hwc[None].astype("float32")))[0]


def reference_output(tensors, image_hwc):
    return reference.forward(tensors, image_hwc.transpose(2, 0, 1).astype(np.float64)).transpose(1, 2, 0)


@pytest.mark.slow
@pytest.mark.parametrize("style", sorted(STYLES))
def test_imported_style_matches_the_independent_reference_on_odd_sizes(style):
    weights_dir = settings.published_weights_dir(style)
    model, metadata = import_published(style, weights_dir)
    tensors = reference.load_tensors(weights_dir)
    rng = np.random.default_rng(7)
    for height, width in ((21, 34), (13, 9)):
        image = rng.uniform(-1, 1, size=(height, width, 3))
        got, expected = keras_output(model, image), reference_output(tensors, image)
        assert got.shape == expected.shape == (4 * -(-height // 4), 4 * -(-width // 4), 3)
        np.testing.assert_allclose(got, expected, atol=1e-4)
    assert metadata["input"] == {"color_order": "BGR", "value_range": [-1.0, 1.0], "size_multiple": 4}
    assert metadata["style"] == style and metadata["display_name"] == STYLES[style]


@pytest.mark.slow
def test_imported_style_matches_the_reference_on_a_real_photo(photos, hayao_weights_dir):
    model, _ = import_published("hayao", hayao_weights_dir)
    photo = Image.open(photos[0]).convert("RGB")
    photo = photo.resize((48, round(48 * photo.height / photo.width)), Image.BICUBIC)
    bgr = np.asarray(photo, dtype=np.float64)[..., ::-1] / 127.5 - 1
    got = keras_output(model, bgr)
    expected = reference_output(reference.load_tensors(hayao_weights_dir), bgr)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    # Off by even one 8-bit level at most after rounding, i.e. far above the 30.5 dB fidelity bar.
    assert np.abs(np.rint((got + 1) * 127.5) - np.rint((expected + 1) * 127.5)).max() <= 1


def test_the_reference_check_catches_misplaced_reflection_padding(hayao_weights_dir):
    """A port with reflection padding in the down and up convs (a known wrong variant) must fail."""
    tensors = reference.load_tensors(hayao_weights_dir)
    model, _ = import_published("hayao", hayao_weights_dir)
    image = np.random.default_rng(3).uniform(-1, 1, size=(24, 24, 3))
    conv2d = reference.conv2d

    def reflecting_conv2d(x, weight, bias, stride=1, zero_pad=0):
        return conv2d(reference.reflect(x, zero_pad) if zero_pad else x, weight, bias, stride=stride)

    reference.conv2d = reflecting_conv2d
    try:
        wrong = reference_output(tensors, image)
    finally:
        reference.conv2d = conv2d
    assert np.abs(keras_output(model, image) - wrong).max() > 1e-2


def test_missing_or_misshapen_weights_are_named(tmp_path, hayao_weights_dir):
    for source in hayao_weights_dir.glob("*.npy"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    model, _ = import_published("hayao", tmp_path)
    before = [w.copy() for w in model.get_weights()]

    np.save(tmp_path / "conv05_1.weight.npy", np.zeros((256, 256, 3, 2), "float32"))
    with pytest.raises(ValueError, match=r"conv05_1\.weight\.npy: shape"):
        load_published_weights(model, tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))

    (tmp_path / "in13_1.shift.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"in13_1\.shift\.npy"):
        load_published_weights(model, tmp_path)
    with pytest.raises(ValueError, match="unknown style"):
        import_published("ghibli", tmp_path)


def test_import_pretrained_command_saves_a_generator_with_its_convention(tmp_path, hayao_weights_dir, capsys):
    output = tmp_path / "styles" / "hayao.keras"
    status = main(
        ["import-pretrained", "--style", "hayao", "--weights-dir", str(hayao_weights_dir), "--output", str(output)]
    )
    assert status == 0 and "11,129,667 parameters" in capsys.readouterr().out
    metadata = read_metadata(output)
    assert metadata["input"]["color_order"] == "BGR" and metadata["parameters"] == 11_129_667
    with zipfile.ZipFile(output) as archive:
        assert json.loads(archive.read(METADATA_MEMBER))["style"] == "hayao"
    model, loaded = load_generator(output)
    assert loaded == metadata and model.count_params() == 11_129_667


def test_import_pretrained_command_reports_a_missing_folder(tmp_path, capsys):
    status = main(
        [
            "import-pretrained",
            "--style",
            "hayao",
            "--weights-dir",
            str(tmp_path / "nowhere"),
            "--output",
            str(tmp_path / "x.keras"),
        ]
    )
    assert status == 2
    assert "no such folder" in capsys.readouterr().err
    assert not (tmp_path / "x.keras").exists()


def test_read_metadata_rejects_files_that_are_not_generators(tmp_path):
    bogus = tmp_path / "bogus.keras"
    bogus.write_text("hello")
    with pytest.raises(ValueError, match="not a generator"):
        read_metadata(bogus)
    with pytest.raises(FileNotFoundError):
        read_metadata(tmp_path / "absent.keras")
