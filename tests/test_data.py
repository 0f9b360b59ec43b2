"""The `tf.data` pipelines of `training.data`."""

import cv2
import numpy as np
import pytest

from training import data
from training.edges import smooth_edges


def write_frames(folder, photos, shorter_side=40, suffix=".png"):
    """Small copies of `photos` (BGR files for OpenCV) in `folder`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in photos:
        image = cv2.imread(str(path))
        scale = shorter_side / min(image.shape[:2])
        cv2.imwrite(str(folder / f"{path.stem}{suffix}"), cv2.resize(image, None, fx=scale, fy=scale))
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory, photos):
    root = tmp_path_factory.mktemp("data")
    return {
        "photos": write_frames(root / "photos", photos[:3], suffix=".jpg"),
        "cartoons": write_frames(root / "cartoons", photos[3:5]),
        # Identical copies stand in for the smoothed frames: aligned pairs must then stay identical.
        "copies": write_frames(root / "copies", photos[3:5]),
        "empty": (root / "empty").mkdir() or root / "empty",
    }


def take(dataset, count):
    return [tuple(np.asarray(part) for part in element) for element in dataset.take(count)]


def test_photo_batches_are_square_crops_in_minus_one_to_one(folders):
    dataset = data.photo_dataset(folders["photos"], image_size=32, batch_size=2, load_size=36)
    for (batch,) in take(dataset.map(lambda photos: (photos,)), 4):
        assert batch.shape == (2, 32, 32, 3) and batch.dtype == np.float32
        assert batch.min() >= -1.0 and batch.max() <= 1.0 and batch.min() < 0 < batch.max()


def test_a_cartoon_and_its_smoothed_copy_get_the_same_crop_and_flip(folders):
    dataset = data.cartoon_dataset(folders["cartoons"], folders["copies"], image_size=24, batch_size=2, load_size=40)
    crops = []
    for cartoons, smoothed in take(dataset, 8):
        np.testing.assert_array_equal(cartoons, smoothed)
        crops.extend(cartoons)
    # The crops do vary (position, flip): equal pairs are not equal by accident.
    distinct = {crop.tobytes() for crop in crops}
    assert len(distinct) > 4


def test_frames_are_smoothed_on_the_fly_without_a_smoothed_folder(tmp_path, photos):
    # A square frame of the training size: the crop is the whole frame, only the flip is random.
    frame = cv2.imread(str(photos[5]))[200:600, 100:500]
    frame = cv2.resize(frame, (40, 40), interpolation=cv2.INTER_AREA)[..., ::-1].copy()  # RGB
    (tmp_path / "frames").mkdir()
    cv2.imwrite(str(tmp_path / "frames" / "frame.png"), frame[..., ::-1])
    expected = smooth_edges(frame)
    assert (expected != frame).any()
    dataset = data.cartoon_dataset(tmp_path / "frames", None, image_size=40, batch_size=1)
    flips = set()
    for cartoons, smoothed in take(dataset, 16):  # both flips, but for a 2 ** -15 chance
        cartoon, smoothed = data.to_uint8_rgb(cartoons[0], "RGB"), data.to_uint8_rgb(smoothed[0], "RGB")
        flipped = not np.array_equal(cartoon, frame)
        if flipped:
            np.testing.assert_array_equal(cartoon, frame[:, ::-1])
        np.testing.assert_array_equal(smoothed, expected[:, ::-1] if flipped else expected)
        flips.add(flipped)
    assert flips == {False, True}


def test_training_batches_are_photo_cartoon_smoothed_triples(folders):
    dataset = data.training_dataset(
        folders["photos"], folders["cartoons"], folders["copies"], image_size=32, batch_size=3
    )
    (photos, cartoons, smoothed), *_ = take(dataset, 1)
    assert photos.shape == cartoons.shape == smoothed.shape == (3, 32, 32, 3)


def test_bgr_reverses_the_channels(folders):
    rgb = data.sample_photo_batch(folders["photos"], 2, 32, "RGB")
    bgr = data.sample_photo_batch(folders["photos"], 2, 32, "BGR")
    assert rgb.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(bgr, rgb[..., ::-1])
    np.testing.assert_array_equal(data.to_uint8_rgb(bgr, "BGR"), data.to_uint8_rgb(rgb, "RGB"))
    # The RGB samples agree with the file as OpenCV (BGR) reads it, up to resizing.
    first = cv2.imread(str(sorted(folders["photos"].iterdir())[0]))[..., ::-1]
    assert abs(float(data.to_uint8_rgb(rgb[0], "RGB").mean()) - float(first.mean())) < 8


def test_frames_without_a_smoothed_copy_are_left_out(folders, tmp_path, capsys):
    partial = tmp_path / "partial"
    partial.mkdir()
    copy = next(folders["copies"].iterdir())
    (partial / copy.name).write_bytes(copy.read_bytes())
    data.cartoon_dataset(folders["cartoons"], partial, image_size=16, batch_size=1)
    assert "1 cartoon frames have no edge-smoothed copy" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no edge-smoothed copies"):
        data.cartoon_dataset(folders["cartoons"], folders["empty"], image_size=16, batch_size=1)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"photos_dir": "empty"}, "no photos"),
        ({"photos_dir": "missing"}, "no such folder"),
        ({"cartoons_dir": "empty"}, "no cartoon frames"),
        ({"image_size": 0}, "image_size"),
        ({"image_size": 31.5}, "image_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"load_size": 16}, "load_size"),
        ({"color_order": "RGBA"}, "color_order"),
    ],
)
def test_bad_arguments_raise_clear_errors(folders, tmp_path, options, message):
    settings = {"photos_dir": "photos", "cartoons_dir": "cartoons", "image_size": 32, "batch_size": 2}
    settings.update(options)
    for key in ("photos_dir", "cartoons_dir"):
        settings[key] = folders.get(settings[key], tmp_path / settings[key])
    with pytest.raises(ValueError, match=message):
        data.training_dataset(**settings)
