"""Edge smoothing of cartoon frames (`training.edges`) and the `prepare` command."""

import shutil

import cv2
import numpy as np
import pytest

from training.cli import main
from training.edges import prepare_folder, smooth_edges


def step_image(height=40, width=64, edge_at=32):
    """Black on the left, white on the right: one vertical edge."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, edge_at:] = 255
    return image


def small_photo(path, shorter_side=48):
    image = cv2.imread(str(path))
    scale = shorter_side / min(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def test_only_the_edge_neighbourhood_is_blurred():
    image = step_image()
    smoothed = smooth_edges(image, kernel_size=5)
    assert smoothed.dtype == np.uint8 and smoothed.shape == image.shape
    changed_columns = np.flatnonzero((smoothed != image).any(axis=(0, 2)))
    # The blur mixes black and white next to the edge, and nowhere else.
    assert changed_columns.size > 0
    assert changed_columns.min() >= 32 - 5 and changed_columns.max() <= 32 + 5
    middle = smoothed[20, 30:34, 0]
    assert ((middle > 0) & (middle < 255)).any()
    np.testing.assert_array_equal(smoothed[:, :24], image[:, :24])
    np.testing.assert_array_equal(smoothed[:, 40:], image[:, 40:])


def test_a_flat_image_is_unchanged():
    image = np.full((32, 32, 3), 120, np.uint8)
    np.testing.assert_array_equal(smooth_edges(image), image)


def test_the_channel_order_does_not_matter(photos):
    bgr = small_photo(photos[0])
    smoothed = smooth_edges(bgr)
    assert (smoothed != bgr).any()
    np.testing.assert_array_equal(smooth_edges(bgr[..., ::-1].copy()), smoothed[..., ::-1])


def test_a_wider_kernel_blurs_more_pixels(photos):
    bgr = small_photo(photos[1])
    assert (smooth_edges(bgr, kernel_size=7) != bgr).sum() > (smooth_edges(bgr, kernel_size=3) != bgr).sum()


@pytest.mark.parametrize(
    "image, options",
    [
        (np.zeros((8, 8, 3), np.float32), {}),
        (np.zeros((8, 8), np.uint8), {}),
        (np.zeros((8, 8, 4), np.uint8), {}),
        (np.zeros((8, 8, 3), np.uint8), {"kernel_size": 4}),
        (np.zeros((8, 8, 3), np.uint8), {"kernel_size": 0}),
        (np.zeros((8, 8, 3), np.uint8), {"low_threshold": 200, "high_threshold": 100}),
    ],
)
def test_bad_inputs_are_refused(image, options):
    with pytest.raises(ValueError):
        smooth_edges(image, **options)


@pytest.fixture
def frames(tmp_path, photos):
    """Three small frames (jpg, png, bmp), a broken one and a text file; neither a hidden file (such
    as macOS's "._" copies) nor a WebP frame, which `train`'s TensorFlow cannot decode, is listed."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, suffix in enumerate((".jpg", ".png", ".bmp")):
        cv2.imwrite(str(folder / f"frame{index}{suffix}"), small_photo(photos[index], 60))
    (folder / "broken.jpg").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("not a frame")
    shutil.copy(folder / "frame0.jpg", folder / "._frame0.jpg")
    cv2.imwrite(str(folder / "frame3.webp"), small_photo(photos[3], 60))
    return folder


def test_prepare_folder_writes_one_png_per_frame_and_reports_broken_files(frames, tmp_path, capsys):
    written, failed = prepare_folder(frames, tmp_path / "smoothed", size=32, progress=False)
    assert sorted(path.name for path in written) == ["frame0.png", "frame1.png", "frame2.png"]
    assert failed == [frames / "broken.jpg"]
    assert "broken.jpg" in capsys.readouterr().err
    for path in written:
        image = cv2.imread(str(path))
        assert min(image.shape[:2]) == 32
    # Without a size the frame keeps its size, and the PNG holds exactly the smoothed frame.
    written, _ = prepare_folder(frames, tmp_path / "full", progress=False)
    original = cv2.imread(str(frames / "frame1.png"))
    np.testing.assert_array_equal(cv2.imread(str(written[1])), smooth_edges(original))


def test_prepare_folder_refuses_bad_folders_and_sizes(frames, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        prepare_folder(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(ValueError, match="no such folder"):
        prepare_folder(tmp_path / "missing", tmp_path / "out")
    with pytest.raises(ValueError, match="size"):
        prepare_folder(frames, tmp_path / "out", size=0)
    with pytest.raises(ValueError, match="differ"):
        prepare_folder(frames, frames)


def test_prepare_command(frames, tmp_path, capsys):
    output = tmp_path / "cli"
    assert main(["prepare", "--input", str(frames), "--output", str(output), "--size", "24"]) == 1  # one broken
    assert sorted(path.name for path in output.iterdir()) == ["frame0.png", "frame1.png", "frame2.png"]
    assert "3 edge-smoothed images" in capsys.readouterr().out
    (frames / "broken.jpg").unlink()
    assert main(["prepare", "--input", str(frames), "--output", str(output)]) == 0
    assert main(["prepare", "--input", str(tmp_path / "missing"), "--output", str(output)]) == 2
    assert "no such folder" in capsys.readouterr().err
