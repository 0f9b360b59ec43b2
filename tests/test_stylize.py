"""`python -m training stylize` on ordinary and hostile inputs."""

import io

import keras
import numpy as np
import pytest
from PIL import Image

from training.cli import main
from training.saving import make_metadata, save_generator
from training.stylize import Stylizer, output_names


def write_photo(path, size=(61, 43), **kwargs):
    rng = np.random.default_rng(len(str(path)))
    Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)).save(path, **kwargs)
    return path


@pytest.fixture(scope="module")
def blue_probe(tmp_path_factory):
    """A 'generator' that copies its first input channel into all three: it shows what it was fed."""
    inputs = keras.Input((None, None, 3))
    conv = keras.layers.Conv2D(3, 1, use_bias=False)
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([np.array([[[[1, 1, 1], [0, 0, 0], [0, 0, 0]]]], "float32")])
    path = tmp_path_factory.mktemp("probe") / "probe.keras"
    return save_generator(model, path, make_metadata("probe", "BGR"))


def test_published_generators_are_fed_bgr(blue_probe, tmp_path):
    photo = write_photo(tmp_path / "photo.png")
    picture = np.asarray(Stylizer.load(blue_probe).stylize_photo(photo))
    blue = np.asarray(Image.open(photo))[..., 2]
    for channel in range(3):
        np.testing.assert_array_equal(picture[..., channel], blue)


def test_stylize_keeps_the_exact_size_of_odd_photos(hayao_generator_path, tmp_path):
    sizes = {"wide.png": (61, 43), "tall.jpg": (22, 37), "tiny.png": (5, 5)}
    (tmp_path / "in").mkdir()
    for name, size in sizes.items():
        write_photo(tmp_path / "in" / name, size)
    status = main(
        [
            "stylize",
            "--model",
            str(hayao_generator_path),
            "--input",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert status == 0
    for name, size in sizes.items():
        with Image.open(tmp_path / "out" / (name.rsplit(".", 1)[0] + ".png")) as picture:
            assert picture.size == size and picture.mode == "RGB"


def test_stylize_output_is_the_generator_output_cropped(hayao_generator_path, photos):
    stylizer = Stylizer.load(hayao_generator_path)
    photo = np.asarray(Image.open(photos[1]).convert("RGB").resize((38, 29), Image.BICUBIC))
    full = np.asarray(stylizer.model(photo[None, ..., ::-1].astype("float32") / 127.5 - 1))[0]
    assert full.shape == (32, 40, 3)
    expected = np.clip(np.rint((full[:29, :38, ::-1] + 1) * 127.5), 0, 255)
    np.testing.assert_allclose(stylizer(photo), expected, atol=1)
    assert not np.array_equal(stylizer(photo), photo)


def test_long_side_resizes_like_the_authors(hayao_generator_path, tmp_path, capsys):
    write_photo(tmp_path / "landscape.jpg", size=(90, 67))
    status = main(
        [
            "stylize",
            "--model",
            str(hayao_generator_path),
            "--input",
            str(tmp_path / "landscape.jpg"),
            "--output",
            str(tmp_path / "out"),
            "--long-side",
            "45",
        ]
    )
    assert status == 0 and "1 stylized" in capsys.readouterr().out
    assert Image.open(tmp_path / "out" / "landscape.png").size == (45, 33)


def test_bad_files_fail_alone_with_a_message_naming_them(blue_probe, tmp_path, capsys):
    folder = tmp_path / "batch"
    folder.mkdir()
    write_photo(folder / "good1.jpg")
    write_photo(folder / "good2.png", size=(30, 20))
    write_photo(folder / "huge.png", size=(400, 300))
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("not a picture")
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "red").save(buffer, format="JPEG")
    (folder / "cut.jpg").write_bytes(buffer.getvalue()[:400])
    write_photo(folder / "sliver.png", size=(3, 40))

    status = main(
        [
            "stylize",
            "--model",
            str(blue_probe),
            "--input",
            str(folder),
            "--output",
            str(tmp_path / "out"),
            "--max-pixels",
            "100000",
        ]
    )
    captured = capsys.readouterr()
    assert status == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good1.png", "good2.png"]
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 5
    for name, reason in [
        ("empty.jpg", "empty"),
        ("notes.png", "not an image"),
        ("cut.jpg", "truncated"),
        ("huge.png", "over the limit"),
        ("sliver.png", "too small"),
    ]:
        assert any(name in line and reason in line for line in errors), (name, errors)
    assert "2 stylized" in captured.out and "5 failed" in captured.out


def test_unusable_arguments_are_clear_errors(blue_probe, tmp_path, capsys):
    def stylize(model, source, *more):
        output = str(tmp_path / "out")
        return main(["stylize", "--model", str(model), "--input", str(source), "--output", output, *more])

    assert stylize(blue_probe, tmp_path / "nothing") == 2
    assert "no such file or folder" in capsys.readouterr().err
    write_photo(tmp_path / "a.png")
    assert stylize(tmp_path / "a.png", tmp_path / "a.png") == 2
    assert "not a generator" in capsys.readouterr().err
    assert stylize(blue_probe, tmp_path / "a.png", "--long-side", "0") == 2


def test_output_names_follow_the_inputs(tmp_path):
    paths = [tmp_path / "a.jpg", tmp_path / "a.png", tmp_path / "b.JPG"]
    assert output_names(paths) == ["a.jpg.png", "a.png.png", "b.png"]
