"""`python -m training crop-photos`: more whole pictures of the training photos, never of a held-out one."""

import numpy as np
import pytest
from PIL import Image

from training import crops, distill
from training.cli import main
from training.imaging import load_photo


@pytest.fixture
def ten_photos(tmp_path):
    """Ten photos of different sizes and flat colours: a crop's colour tells which photo it came from."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(10):
        width, height = 200 + 10 * index, 150 + 5 * index
        pixels = np.full((height, width, 3), (20 * index, 100, 200), np.uint8)
        Image.fromarray(pixels).save(folder / f"photo{index}.png")
    return folder


def test_a_crop_keeps_its_part_of_each_side_and_lies_inside_the_photo():
    rng = np.random.default_rng(0)
    for _ in range(500):
        left, top, right, bottom = crops.crop_box(300, 200, rng, 0.55, 0.80)
        assert 0 <= left < right <= 300 and 0 <= top < bottom <= 200
        assert 165 <= right - left <= 240 and 110 <= bottom - top <= 160
    assert crops.crop_box(10, 10, rng, 1.0, 1.0) == (0, 0, 10, 10)
    with pytest.raises(ValueError, match="0 < smallest <= largest <= 1"):
        crops.crop_box(10, 10, rng, 0.8, 0.5)


def test_crops_come_from_the_training_photos_only_and_repeat_with_their_seed(tmp_path, ten_photos):
    written = crops.crop_photos(ten_photos, tmp_path / "crops", per_photo=2, seed=3)
    training, held_out = distill.split_photos(ten_photos)
    assert [path.name for path in written] == sorted(f"{p.stem}-crop{n}.jpg" for p in training for n in (1, 2))
    assert not any(path.name.startswith((held_out[0].stem + "-", held_out[1].stem + "-")) for path in written)
    for path in written:
        photo = load_photo(ten_photos / (path.name.split("-crop")[0] + ".png"))
        crop = load_photo(path)
        assert 0.55 * photo.width - 1 <= crop.width <= 0.80 * photo.width + 1
        assert 0.55 * photo.height - 1 <= crop.height <= 0.80 * photo.height + 1
        # The crop's colour is its photo's (JPEG changes it a little).
        assert np.abs(np.median(np.asarray(crop), axis=(0, 1)) - np.asarray(photo)[0, 0]).max() <= 3
    again = crops.crop_photos(ten_photos, tmp_path / "again", per_photo=2, seed=3)
    other = crops.crop_photos(ten_photos, tmp_path / "other", per_photo=2, seed=4)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in written]
    assert [p.read_bytes() for p in other] != [p.read_bytes() for p in written]
    # The crops are photos `distill --extra-photos` takes.
    assert len(distill.extra_training_photos(tmp_path / "crops", held_out)[0]) == 16


def test_the_manifest_names_each_crops_photo_and_distill_refuses_crops_of_photos_held_out_since(tmp_path, ten_photos):
    import json
    import os

    from training.conventions import sha256_file

    written = crops.crop_photos(ten_photos, tmp_path / "crops", per_photo=2, seed=3)
    manifest = json.loads((tmp_path / "crops" / crops.MANIFEST).read_text())
    assert (manifest["seed"], manifest["per_photo"], sorted(manifest["crops"])) == (3, 2, [p.name for p in written])
    for path in written:
        entry = manifest["crops"][path.name]
        left, top, right, bottom = entry["box"]
        assert load_photo(path).size == (right - left, bottom - top)
        assert entry["photo"] == path.name.split("-crop")[0] + ".png"
        assert entry["photo_sha256"] == sha256_file(ten_photos / entry["photo"])
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "crops").stat().st_mode & 0o777 == 0o777 & ~mask  # not mkdtemp's private folder
    # A photo added by name between photo3 and photo4 moves the split: photo8 is held out now.
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(ten_photos / "photo35.png")
    _, held_out = distill.split_photos(ten_photos)
    assert "photo8.png" in [path.name for path in held_out]
    with pytest.raises(ValueError, match=r"photo8-crop1.jpg is a crop of photo8.png, a held-out photo now"):
        distill.extra_training_photos(tmp_path / "crops", held_out)
    for damaged in ("{}", '{"crops": {"photo0-crop1.jpg": {"photo_sha256": ["a"]}}}', "[1"):
        (tmp_path / "crops" / crops.MANIFEST).write_text(damaged)
        with pytest.raises(ValueError, match="crops.json: not a crops manifest of crop-photos"):
            distill.extra_training_photos(tmp_path / "crops", held_out)


def test_a_colour_shift_applies_its_gains_and_gamma_per_channel():
    pixels = np.array([[[0, 64, 255], [128, 255, 200]]], np.uint8)
    shifted = crops.colour_shift(pixels, [1.0, 0.5, 1.2], 2.0)
    # 0.5 * 255 * (64 / 255) ** 2 = 8.03, 255 * (128 / 255) ** 2 = 64.25, 1.2 * 255 * (200 / 255) ** 2 = 188.2
    expected = [[[0, 8, 255], [64, 128, 188]]]
    assert shifted.dtype == np.uint8 and shifted.tolist() == expected
    assert np.array_equal(crops.colour_shift(pixels, [1, 1, 1], 1.0), pixels)


def test_colour_crops_are_the_same_crops_with_the_colour_shift_their_manifest_records(tmp_path, ten_photos):
    import json

    plain = crops.crop_photos(ten_photos, tmp_path / "plain", seed=5)
    coloured = crops.crop_photos(ten_photos, tmp_path / "coloured", seed=5, colour=0.2)
    plain_manifest = json.loads((tmp_path / "plain" / crops.MANIFEST).read_text())
    manifest = json.loads((tmp_path / "coloured" / crops.MANIFEST).read_text())
    assert (plain_manifest["colour"], manifest["colour"]) == (0, 0.2)
    assert all("gains" not in entry for entry in plain_manifest["crops"].values())
    gains_seen = set()
    for path, plain_path in zip(coloured, plain, strict=True):
        entry = manifest["crops"][path.name]
        assert entry["box"] == plain_manifest["crops"][plain_path.name]["box"]  # the same crops as without colour
        assert all(0.8 <= gain <= 1.2 for gain in entry["gains"]) and 0.8 <= entry["gamma"] <= 1.2
        gains_seen.add(tuple(entry["gains"]))
        expected = crops.colour_shift(np.asarray(load_photo(plain_path)), entry["gains"], entry["gamma"])
        # Flat photos: the crop's colour is its photo's, shifted (JPEG changes each a little).
        assert np.abs(np.median(np.asarray(load_photo(path)), axis=(0, 1)) - expected[0, 0]).max() <= 4
    assert len(gains_seen) == len(coloured)  # each crop its own shift


def test_crops_go_into_a_new_folder_whole_or_not_at_all(tmp_path, ten_photos, capsys):
    (tmp_path / "taken").mkdir()
    assert main(["crop-photos", "--photos", str(ten_photos), "--output", str(tmp_path / "taken")]) == 2
    assert "taken exists: remove it or choose another folder" in capsys.readouterr().err
    assert main(["crop-photos", "--photos", str(ten_photos), "--output", str(tmp_path / "c"), "--per-photo", "0"]) == 2
    assert "--per-photo must be a positive integer" in capsys.readouterr().err
    (ten_photos / "photo3.png").write_bytes(b"not a picture")
    assert main(["crop-photos", "--photos", str(ten_photos), "--output", str(tmp_path / "c")]) == 2
    assert "photo3.png: not an image file" in capsys.readouterr().err
    assert main(["crop-photos", "--photos", str(ten_photos), "--output", str(tmp_path / "c"), "--seed", "-1"]) == 2
    assert "--seed must be a non-negative integer" in capsys.readouterr().err
    assert main(["crop-photos", "--photos", str(ten_photos), "--output", str(tmp_path / "c"), "--colour", "1"]) == 2
    assert "--colour must be at least 0 and below 1, got 1.0" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["photos", "taken"]


def test_the_command_says_what_it_wrote(tmp_path, ten_photos, capsys):
    output = tmp_path / "new" / "crops"
    assert main(["crop-photos", "--photos", str(ten_photos), "--output", f"{output}/"]) == 0
    assert f"8 crops of the training photos of {ten_photos} in {output}/" in capsys.readouterr().out
    assert len(list(output.glob("*.jpg"))) == 8 and [path.name for path in output.parent.iterdir()] == ["crops"]
