"""The shared conventions of training/conventions.py: channel order, value range, file sha256."""

import hashlib

import numpy as np
import pytest

from training.conventions import check_color_order, from_value_range, sha256_file, swap_channels, to_value_range


def test_an_unknown_color_order_is_refused_with_one_message():
    assert check_color_order("BGR") == "BGR"
    for bad in ("RBG", "rgb", None):
        with pytest.raises(ValueError, match=r"color_order must be one of \('RGB', 'BGR'\)"):
            check_color_order(bad)
    with pytest.raises(ValueError, match="color_order"):
        swap_channels(np.zeros((2, 2, 3)), "RGBA")


def test_swapping_to_bgr_reverses_the_channels_and_rgb_is_left_alone():
    rgb = np.arange(2 * 2 * 3).reshape(2, 2, 3)
    np.testing.assert_array_equal(swap_channels(rgb, "BGR")[..., 0], rgb[..., 2])
    np.testing.assert_array_equal(swap_channels(swap_channels(rgb, "BGR"), "BGR"), rgb)
    assert swap_channels(rgb, "RGB") is rgb


@pytest.mark.parametrize("value_range", [(-1.0, 1.0), (0.0, 1.0), (-0.5, 2.0)])
def test_value_range_mapping_sends_0_and_255_to_the_ends_and_back(value_range):
    pixels = np.array([0.0, 127.5, 255.0])
    mapped = to_value_range(pixels, value_range)
    np.testing.assert_allclose(mapped, [value_range[0], sum(value_range) / 2, value_range[1]])
    np.testing.assert_allclose(from_value_range(mapped, value_range), pixels)
    np.testing.assert_allclose(from_value_range(mapped, value_range, peak=1.0), pixels / 255.0)


def test_sha256_file_is_the_sha256_of_the_bytes(tmp_path):
    data = bytes(range(256)) * 5000  # over one read chunk
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
