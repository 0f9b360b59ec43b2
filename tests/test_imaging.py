"""Reading the photos people actually have."""

import io

import numpy as np
import pytest
from PIL import Image

from training.imaging import (
    PhotoError,
    from_model_output,
    load_photo,
    resize_long_side,
    to_model_input,
)


def gradient(width=40, height=30):
    x = np.linspace(0, 255, width, dtype=np.float64)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.float64)[:, None, None]
    return np.concatenate(
        [
            np.broadcast_to(x, (height, width, 1)),
            np.broadcast_to(y, (height, width, 1)),
            np.full((height, width, 1), 128.0),
        ],
        axis=2,
    ).astype(np.uint8)


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.fromarray(gradient(40, 30)).save(path, exif=exif)
    assert load_photo(path).size == (30, 40)


@pytest.mark.parametrize(
    "mode, save_kwargs",
    [("L", {}), ("LA", {}), ("RGBA", {}), ("P", {}), ("CMYK", {"format": "JPEG"}), ("1", {}), ("I;16", {})],
)
def test_unusual_modes_become_rgb(tmp_path, mode, save_kwargs):
    source = Image.fromarray(gradient())
    image = (
        source.convert(mode)
        if mode != "I;16"
        else Image.fromarray((np.asarray(source.convert("L"), np.uint16) * 257), "I;16")
    )
    path = tmp_path / ("photo.jpg" if save_kwargs.get("format") == "JPEG" else "photo.png")
    image.save(path, **save_kwargs)
    photo = load_photo(path)
    assert photo.mode == "RGB" and photo.size == (40, 30)
    if mode == "I;16":
        # 16-bit values are scaled down, not clipped to white.
        np.testing.assert_allclose(np.asarray(photo)[..., 0], np.asarray(source.convert("L")), atol=1)


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:4, :, :] = (255, 0, 0, 255)
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    pixels = np.asarray(load_photo(path))
    assert tuple(pixels[0, 0]) == (255, 0, 0) and tuple(pixels[7, 7]) == (255, 255, 255)


def test_bad_files_get_one_line_errors_naming_them(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a picture\n")
    buffer = io.BytesIO()
    Image.fromarray(gradient(200, 150)).save(buffer, format="JPEG")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    cases = {empty: "empty file", text: "not an image", truncated: "truncated", tmp_path / "absent.jpg": "no such file"}
    for path, reason in cases.items():
        with pytest.raises(PhotoError) as error:
            load_photo(path)
        message = str(error.value)
        assert str(path) in message and reason in message and "\n" not in message


def test_pixel_limit_is_checked_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (300, 200)).save(path)
    with pytest.raises(PhotoError, match=r"300x200 is 60,000 pixels, over the limit of 59,999"):
        load_photo(path, max_pixels=59_999)
    assert load_photo(path, max_pixels=60_000).size == (300, 200)


@pytest.mark.parametrize(
    "size, long_side, expected",
    [
        ((1024, 768), 450, (450, 337)),
        ((768, 1024), 450, (337, 450)),
        ((500, 500), 450, (450, 450)),
        ((100, 30), 450, (450, 135)),
        ((1000, 333), 450, (450, 149)),
    ],
)
def test_resize_long_side_matches_the_authors_preprocessing(size, long_side, expected):
    assert resize_long_side(Image.new("RGB", size), long_side).size == expected


def test_resize_long_side_rejects_nonpositive_sizes():
    with pytest.raises(ValueError, match="positive"):
        resize_long_side(Image.new("RGB", (10, 10)), 0)


def test_model_conventions_round_trip_and_swap_channels():
    rgb = gradient()
    bgr_input = to_model_input(rgb, "BGR", (-1.0, 1.0))
    assert bgr_input.shape == (1, 30, 40, 3) and bgr_input.dtype == np.float32
    np.testing.assert_allclose(bgr_input[0, ..., 0], rgb[..., 2] / 127.5 - 1, atol=1e-6)
    assert bgr_input.min() >= -1 and bgr_input.max() <= 1
    for order in ("RGB", "BGR"):
        back = from_model_output(to_model_input(rgb, order, (-1.0, 1.0)), order, (-1.0, 1.0))
        np.testing.assert_array_equal(back, rgb)
    assert from_model_output(np.full((1, 2, 2, 3), 7.0), "RGB", (-1.0, 1.0)).max() == 255


def test_the_model_zoo_reads_photos_by_the_same_rules_as_stylize(tmp_path):
    """modelzoo.images.load_photo_array: upright like load_photo, resized like resize_long_side,
    cropped to sides that are multiples of the generator's size multiple, RGB in [0, 1]."""
    from modelzoo.images import load_photo_array

    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.fromarray(gradient(42, 30)).save(path, exif=exif, quality=95)
    array = load_photo_array(path, 21, 4)
    expected = np.asarray(resize_long_side(load_photo(path), 21), dtype=np.float32) / 255.0  # 15 x 21, upright
    assert expected.shape == (21, 15, 3) and array.shape == (20, 12, 3) and array.dtype == np.float32
    np.testing.assert_array_equal(array, expected[:20, :12])
    with pytest.raises(ValueError, match="multiples of 8"):
        load_photo_array(path, 6, 8)
