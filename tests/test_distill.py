"""`python -m training distill` and `python -m training evaluate` on small inputs."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from training import distill, evaluate, train
from training.cli import main
from training.imaging import list_images
from training.quality import psnr, ssim
from training.saving import load_generator, make_metadata, read_metadata, save_generator
from training.students import context_size_of, receptive_field


def make_teacher(path, style, color_order="BGR", seed=0):
    """A small fixed filter saved as a teacher (5x5 conv mixing the channels, tanh): fast, its
    pictures differ from the photo, and a student can learn it."""
    inputs = keras.Input((None, None, 3))
    conv = keras.layers.Conv2D(3, 5, padding="same", activation="tanh")
    model = keras.Model(inputs, conv(inputs))
    rng = np.random.default_rng(seed)
    conv.set_weights([rng.normal(0, 0.15, (5, 5, 3, 3)).astype("float32"), np.full(3, 0.2, "float32")])
    return save_generator(model, path, make_metadata(style, color_order))


@pytest.fixture
def small_teacher(tmp_path):
    return make_teacher(tmp_path / "teachers" / "tiny.keras", "tiny")


@pytest.fixture
def five_photos(tmp_path, photos):
    """A folder of five small photos: `split_photos` holds out the fifth by name."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in photos[:5]:
        Image.open(path).resize((120, 90)).save(folder / path.name)
    return folder


def validation_psnr(run, teacher_path, photos_dir, student_path):
    """The mean PSNR, computed here, of the student `student_path` against the teacher's cached
    pictures of the run's validation photos: what the run's history records as `val_psnr_tiny`."""
    teacher = distill.load_teachers([teacher_path])
    held_out = distill.split_photos(photos_dir)[1][: distill.VALIDATION_PHOTOS]
    validation = distill.cache_teacher_pictures(teacher, held_out, (64,), run / "cache" / "held-out", "held-out")
    student = evaluate.Stylizer.load(student_path)
    return np.mean([psnr(student(photo), targets["tiny"]) for photo, targets in validation])


def read_history(run):
    return [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]


def test_split_holds_out_every_fifth_photo(tmp_path):
    for index in range(12):
        (tmp_path / f"p{index:02d}.jpg").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a photo")
    training, held_out = distill.split_photos(tmp_path)
    assert [p.name for p in held_out] == ["p04.jpg", "p09.jpg"]
    assert len(training) == 10 and not set(training) & set(held_out)
    (tmp_path / ".p05.jpg").write_bytes(b"")  # hidden files (such as macOS's "._" files) are not photos
    assert distill.split_photos(tmp_path) == (training, held_out)
    (tmp_path / "P03.webp").write_bytes(b"")
    with pytest.raises(ValueError, match="P03.webp and p03.jpg share a name"):
        distill.split_photos(tmp_path)  # their cached teacher pictures would be one file
    with pytest.raises(ValueError, match="no such folder"):
        distill.split_photos(tmp_path / "missing")


def test_settings_are_checked():
    with pytest.raises(ValueError, match="crop_size"):
        distill.DistillSettings(styles=("a",), color_order="BGR", crop_size=30)
    with pytest.raises(ValueError, match="learning_rate"):
        distill.DistillSettings(styles=("a",), color_order="BGR", learning_rate=0)
    with pytest.raises(ValueError, match="ssim_weight"):
        distill.DistillSettings(styles=("a",), color_order="BGR", ssim_weight=-0.5)
    assert distill.DistillSettings(styles=("a",), color_order="BGR", context_size=16.0).context_size == 16
    for size in (4, -1, 8.5, None):
        with pytest.raises(ValueError, match="context size"):
            distill.DistillSettings(styles=("a",), color_order="BGR", context_size=size)


@pytest.mark.slow
def test_distillation_learns_resumes_and_saves_usable_students(tmp_path, small_teacher, five_photos, monkeypatch):
    monkeypatch.setattr(distill, "CACHE_LONG_SIDES", (64, 96))
    monkeypatch.setattr(distill, "VALIDATION_LONG_SIDE", 64)
    run = tmp_path / "run"
    options = dict(architecture="sep-s", crop_size=48, batch_size=4, steps_per_epoch=15, epochs=4, learning_rate=3e-3)

    # A first invocation stops after its first epoch: its time budget is used up by then.
    distill.distill([small_teacher], five_photos, run, minutes=1e-4, ssim_weight=0.5, **options)
    assert [entry["epoch"] for entry in read_history(run)] == [1]
    held_out = distill.split_photos(five_photos)[1][0].stem
    cached = sorted(p.name for p in (run / "cache" / "tiny").iterdir() if p.is_file())
    assert len(cached) == 8 and not any(name.startswith(f"{held_out}@") for name in cached)  # training photos only

    with pytest.raises(ValueError, match="--resume"):
        distill.distill([small_teacher], five_photos, run, **options)
    paths = distill.distill([small_teacher], five_photos, run, resume=True)
    history = read_history(run)
    assert [entry["epoch"] for entry in history] == [1, 2, 3, 4]
    assert [entry["steps"] for entry in history] == [15, 30, 45, 60]
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["val_psnr_tiny"] > history[0]["val_psnr_tiny"]
    assert 0 < history[0]["val_ssim_tiny"] < history[-1]["val_ssim_tiny"] <= 1
    assert (run / "loss_curves.png").is_file() and (run / "samples" / "epoch_0004.png").is_file()
    record = json.loads((run / "record.json").read_text())
    assert record["steps"] == 60 and record["training_seconds"] == history[-1]["seconds"] > 0
    assert (
        record["settings"]["ssim_weight"] == 0.5 and record["validation_ssim"]["tiny"] == history[-1]["val_ssim_tiny"]
    )

    (student,) = paths
    metadata = read_metadata(student)
    assert metadata["style"] == "tiny" and metadata["input"]["color_order"] == "BGR"
    assert metadata["receptive_field"] == receptive_field("sep-s")
    assert (
        main(["stylize", "--model", str(student), "--input", str(five_photos), "--output", str(tmp_path / "out")]) == 0
    )
    assert len(list((tmp_path / "out").glob("*.png"))) == 5


@pytest.fixture
def two_more_photos(tmp_path, photos):
    folder = tmp_path / "more"
    folder.mkdir()
    for path in photos[5:7]:
        Image.open(path).resize((120, 90)).save(folder / path.name)
    return folder


def test_extra_photos_are_trained_on_but_never_a_held_out_one(tmp_path, small_teacher, five_photos, two_more_photos):
    held_out = distill.split_photos(five_photos)[1]
    photos, digest = distill.extra_training_photos(two_more_photos, held_out)
    assert photos == list_images(two_more_photos) and len(photos) == 2
    (two_more_photos / "third.png").write_bytes(list_images(five_photos)[0].read_bytes())
    assert distill.extra_training_photos(two_more_photos, held_out)[1] != digest  # the cache follows the content

    shutil.copy(held_out[0], two_more_photos / "renamed.jpg")
    with pytest.raises(ValueError, match=f"renamed.jpg is the held-out photo {held_out[0].name}"):
        distill.distill([small_teacher], five_photos, tmp_path / "run", extra_photos=str(two_more_photos))
    assert not (tmp_path / "run").exists()  # refused before the run folder is made
    (two_more_photos / "renamed.jpg").unlink()
    shutil.copy(two_more_photos / "third.png", two_more_photos / "third.jpg")
    with pytest.raises(ValueError, match="third.jpg and third.png share a name"):
        distill.extra_training_photos(two_more_photos, held_out)
    with pytest.raises(ValueError, match="no photos to train on"):
        distill.extra_training_photos(tmp_path / "teachers", held_out)


@pytest.mark.slow
def test_losses_go_down_for_every_style_of_a_shared_student(
    tmp_path, small_teacher, five_photos, two_more_photos, monkeypatch
):
    """Two styles in one student that also sees its whole picture (`context_size`), trained on the
    training photos and on extra photos."""
    monkeypatch.setattr(distill, "CACHE_LONG_SIDES", (64,))
    monkeypatch.setattr(distill, "VALIDATION_LONG_SIDE", 64)
    other = tmp_path / "teachers" / "other.keras"
    make_teacher(other, "other", seed=1)
    run = tmp_path / "run"
    batches = []

    class RecordedBatches(distill.CropBatches):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            batches.append(self)

    monkeypatch.setattr(distill, "CropBatches", RecordedBatches)
    distill.distill(
        [small_teacher, other],
        five_photos,
        run,
        architecture="sep-s",
        crop_size=48,
        batch_size=4,
        steps_per_epoch=15,
        epochs=3,
        learning_rate=3e-3,
        feature_weight=0.0,
        context_size=16,
        extra_photos=str(two_more_photos),
    )
    assert len(batches) == 1 and len(batches[0].pairs) == 4 + 2  # the training photos and the extra ones
    (extra,) = (run / "cache" / "extra").iterdir()  # named by the photos' digest
    cached = sorted(p.name for p in (extra / "tiny").iterdir())
    assert cached == sorted(f"{p.stem}@64.png" for p in list_images(two_more_photos))
    history = read_history(run)
    for style in ("tiny", "other"):
        assert history[-1][f"{style}_loss"] < history[0][f"{style}_loss"]
    assert sorted(p.name for p in (run / "students").glob("*.keras")) == ["other.keras", "tiny.keras"]
    student, metadata = load_generator(run / "students" / "tiny.keras")
    assert context_size_of(student) == 16 and metadata["student"]["context_size"] == 16
    output = tmp_path / "out"
    assert (
        main(
            [
                "stylize",
                "--model",
                str(run / "students" / "tiny.keras"),
                "--input",
                str(five_photos),
                "--output",
                str(output),
            ]
        )
        == 0
    )
    assert len(list(output.glob("*.png"))) == 5


@pytest.mark.slow
def test_distillation_trains_without_tensorflow_and_its_students_load_here(tmp_path, small_teacher, five_photos):
    """As on a GPU machine without TensorFlow: the run trains under Keras's JAX backend with
    `import tensorflow` failing, and the students it writes make here, under TensorFlow, the
    pictures it validated with (the same PSNR against the teacher)."""
    run = tmp_path / "run"
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["tensorflow"] = None  # `import tensorflow` raises ImportError, as where it is not installed
        from training import distill
        distill.CACHE_LONG_SIDES, distill.VALIDATION_LONG_SIDE = (64, 96), 64
        distill.distill(
            [{str(small_teacher)!r}], {str(five_photos)!r}, {str(run)!r}, architecture="sep-s", crop_size=48,
            batch_size=4, steps_per_epoch=10, epochs=2, learning_rate=3e-3, context_size=16, ssim_weight=0.5,
        )
        import numpy as np
        pair = np.load({str(tmp_path / "pair.npy")!r}).astype("float32") / 127.5 - 1
        print("ssim", float(distill.structural_similarity(pair[0], pair[1])))
        """
    )
    rng = np.random.default_rng(5)
    pair = rng.integers(0, 256, (2, 1, 30, 40, 3), dtype=np.uint8)
    pair[1] = np.clip(pair[0] + rng.normal(0, 25, pair[0].shape), 0, 255)
    np.save(tmp_path / "pair.npy", pair)
    root = Path(__file__).resolve().parents[1]
    environment = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(root)}
    finished = subprocess.run(
        [sys.executable, "-c", script], env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=900
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    assert "(jax backend)" in json.loads((run / "record.json").read_text())["hardware"]
    jax_ssim = float(finished.stdout.split("ssim ")[-1])  # the SSIM term, computed under JAX
    assert jax_ssim == pytest.approx(ssim(pair[1, 0], pair[0, 0]), abs=1e-6) and jax_ssim < 0.99
    history = read_history(run)
    assert [entry["steps"] for entry in history] == [10, 20]
    assert not (run / "logs").exists()  # TensorBoard scalars are written under TensorFlow only

    assert context_size_of(load_generator(run / "students" / "tiny.keras")[0]) == 16
    here = validation_psnr(run, small_teacher, five_photos, run / "students" / "tiny.keras")
    assert here == pytest.approx(history[-1]["val_psnr_tiny"], abs=0.01)


@pytest.mark.slow
def test_a_mixed_precision_run_trains_and_saves_float32_students(tmp_path, small_teacher, five_photos, monkeypatch):
    monkeypatch.setattr(distill, "CACHE_LONG_SIDES", (64,))
    monkeypatch.setattr(distill, "VALIDATION_LONG_SIDE", 64)
    run = tmp_path / "run"
    options = dict(architecture="sep-s", crop_size=48, batch_size=4, steps_per_epoch=10, epochs=2, learning_rate=3e-3)
    (path,) = distill.distill(
        [small_teacher], five_photos, run, precision="mixed_bfloat16", context_size=16, ssim_weight=0.5, **options
    )
    assert keras.config.dtype_policy().name == "float32"  # the global policy is as it was
    settings = distill.run_settings(run, True, None)
    trained = distill.build_run_student(settings)  # as the run built it
    assert trained.get_layer("stem").compute_dtype == "bfloat16" and trained.get_layer("stem").kernel.dtype == "float32"
    history = read_history(run)
    assert history[-1]["loss"] < history[0]["loss"]
    assert json.loads((run / "config.json").read_text())["precision"] == "mixed_bfloat16"
    student, _ = load_generator(path)
    assert {layer.dtype_policy.name for layer in student.layers} == {"float32"}
    assert context_size_of(student) == 16

    float32 = distill.build_run_student(settings, "float32")
    float32.load_weights(run / "backup" / "latest.weights.h5")  # the training state, kept in float32
    for layer in student.layers:
        for got, want in zip(layer.get_weights(), float32.get_layer(layer.name).get_weights(), strict=True):
            np.testing.assert_array_equal(got, want)
    # The validation figure is the saved students' (float32), not the bfloat16 network's.
    here = validation_psnr(run, small_teacher, five_photos, path)
    assert here == pytest.approx(read_history(run)[-1]["val_psnr_tiny"], abs=0.001)
    with pytest.raises(ValueError, match="precision must be one of float32, mixed_bfloat16"):
        distill.DistillSettings(styles=("a",), color_order="BGR", precision="float16")


def test_a_context_run_starts_from_students_without_one_not_the_other_way(tmp_path):
    """Plain students start a run with `context_size` (its new branch starts neutral); a student
    with a context branch does not start a run without one, which would drop the branch."""
    plain = distill.DistillSettings(styles=("tiny",), color_order="BGR", architecture="sep-s")
    seeing = distill.DistillSettings(styles=("tiny",), color_order="BGR", architecture="sep-s", context_size=16)
    metadata = {"tiny": make_metadata("tiny", "BGR")}
    earlier = distill.build_student(plain.styles, "sep-s")
    distill.save_students(earlier, plain, metadata, tmp_path / "plain")
    fresh = distill.build_student(seeing.styles, "sep-s", context_size=16)
    distill.copy_student_weights(fresh, distill.starting_students(tmp_path / "plain", seeing))
    np.testing.assert_array_equal(
        fresh.get_layer("tiny_out").get_weights()[0], earlier.get_layer("tiny_out").get_weights()[0]
    )

    distill.save_students(fresh, seeing, metadata, tmp_path / "seeing")
    with pytest.raises(ValueError, match="--context-size 16"):
        distill.starting_students(tmp_path / "seeing", plain)
    other = distill.DistillSettings(styles=("tiny",), color_order="BGR", architecture="sep-s", context_size=32)
    with pytest.raises(ValueError, match="at 16 pixels"):
        distill.starting_students(tmp_path / "seeing", other)


@pytest.mark.slow
def test_a_run_from_students_takes_their_context_size_and_a_refused_start_leaves_no_run(
    tmp_path, small_teacher, five_photos, monkeypatch
):
    """`--init-from` without `--context-size` keeps the students' branch (as the committed students
    are started from); students the run cannot start from are refused before its folder holds a
    run, so the corrected command can use the same --output."""
    monkeypatch.setattr(distill, "CACHE_LONG_SIDES", (64,))
    monkeypatch.setattr(distill, "VALIDATION_LONG_SIDE", 64)
    seeing = distill.DistillSettings(styles=("tiny",), color_order="BGR", architecture="sep-s", context_size=16)
    student = distill.build_student(seeing.styles, "sep-s", context_size=16)
    distill.save_students(student, seeing, {"tiny": make_metadata("tiny", "BGR")}, tmp_path / "seeing")
    assert distill.default_context_size(tmp_path / "seeing", ("tiny",)) == 16
    assert distill.default_context_size(None, ("tiny",)) == 0

    run = tmp_path / "run"
    options = dict(crop_size=48, batch_size=2, steps_per_epoch=1, epochs=1, init_from=str(tmp_path / "seeing"))
    with pytest.raises(ValueError, match="'sep-s' student; the run trains 'sep-m'"):
        distill.distill([small_teacher], five_photos, run, architecture="sep-m", **options)
    assert not (run / "config.json").exists()
    (path,) = distill.distill([small_teacher], five_photos, run, architecture="sep-s", **options)
    assert json.loads((run / "config.json").read_text())["context_size"] == 16
    assert context_size_of(load_generator(path)[0]) == 16
    # Resumed, the run keeps its own settings, whatever the students or the command say.
    (path,) = distill.distill([small_teacher], five_photos, run, resume=True, architecture="sep-m", **options)
    assert json.loads((run / "config.json").read_text())["context_size"] == 16
    assert context_size_of(load_generator(path)[0]) == 16


def test_a_new_run_starts_from_earlier_students(tmp_path):
    """`--init-from`: every layer of a fresh two-style student takes the saved students' weights
    (the shared body and each style's own head); a missing style or another architecture is refused."""
    settings = distill.DistillSettings(styles=("tiny", "other"), color_order="BGR", architecture="sep-s")
    teacher_metadata = {style: make_metadata(style, "BGR") for style in settings.styles}
    earlier = distill.build_student(settings.styles, "sep-s")
    distill.save_students(earlier, settings, teacher_metadata, tmp_path / "earlier")

    fresh = distill.build_student(settings.styles, "sep-s")
    assert not np.array_equal(
        fresh.get_layer("tiny_out").get_weights()[0], earlier.get_layer("tiny_out").get_weights()[0]
    )
    distill.copy_student_weights(fresh, distill.starting_students(tmp_path / "earlier", settings))
    for layer in earlier.layers:
        for got, want in zip(fresh.get_layer(layer.name).get_weights(), layer.get_weights()):
            np.testing.assert_array_equal(got, want)

    with pytest.raises(ValueError, match="'sep-s' student; the run trains 'conv-s'"):
        conv = distill.DistillSettings(styles=settings.styles, color_order="BGR", architecture="conv-s")
        distill.starting_students(tmp_path / "earlier", conv)
    (tmp_path / "earlier" / "other.keras").unlink()
    with pytest.raises(FileNotFoundError, match="no student of the style 'other'"):
        distill.copy_student_weights(fresh, distill.starting_students(tmp_path / "earlier", settings))


def test_a_record_carries_the_record_of_the_students_it_started_from(tmp_path):
    settings = {"init_from": str(tmp_path)}
    record = {"steps": 300, "training_seconds": 60.0, "settings": settings}
    assert distill.earlier_record(None) is None
    assert distill.earlier_record(tmp_path) is None  # no earlier record.json
    assert distill.with_earlier_record(record, None) == record  # as it is
    first = {"steps": 4400, "training_seconds": 5024.4, "settings": {"init_from": None}}
    (tmp_path / "record.json").write_text(json.dumps(first))
    second = distill.with_earlier_record(record, distill.earlier_record(tmp_path))
    assert (second["total_steps"], second["total_training_seconds"]) == (4700, 5084.4)
    assert second["started_from"] == first
    (tmp_path / "record.json").write_text(json.dumps(second))  # a third run adds to the totals
    third = distill.with_earlier_record(
        {**record, "steps": 100, "training_seconds": 10.0}, distill.earlier_record(tmp_path)
    )
    assert (third["total_steps"], third["total_training_seconds"]) == (4800, 5094.4)
    assert third["started_from"]["started_from"] == first


def test_the_ssim_term_scores_what_evaluate_reports():
    rng = np.random.default_rng(3)
    target = rng.integers(0, 256, (2, 40, 52, 3), dtype=np.uint8)
    output = np.clip(target + rng.normal(0, 30, target.shape), 0, 255).astype(np.uint8)
    t, o = (image.astype("float32") / 127.5 - 1 for image in (target, output))  # as the generators' [-1, 1]

    expected = np.mean([ssim(output[i], target[i]) for i in range(2)])
    assert float(distill.structural_similarity(t, o)) == pytest.approx(expected, abs=1e-6)
    assert float(distill.structural_similarity(t, t)) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="at least 11 pixels a side"):
        distill.structural_similarity(t[:, :10], o[:, :10])
    with pytest.raises(ValueError, match="batches of pictures"):
        distill.structural_similarity(t[0], o[0])
    # Brighter by a constant is a different picture for SSIM (its luminance term), as for evaluate.
    brighter = np.minimum(target, 200) + 40
    assert float(distill.structural_similarity(t, brighter.astype("float32") / 127.5 - 1)) == pytest.approx(
        np.mean([ssim(brighter[i], target[i]) for i in range(2)]), abs=1e-6
    )

    l1 = float(np.mean(np.abs(t - o)))
    loss = distill.DistillationLoss(gradient_weight=0.0, feature_weight=0.0, ssim_weight=0.5)
    assert float(loss(t, o)) == pytest.approx(l1 + 0.5 * (1 - expected), abs=1e-5)


def test_crops_say_which_photos_are_too_small_for_them(capsys):
    settings = distill.DistillSettings(styles=("a",), color_order="RGB", crop_size=32, batch_size=3)
    small, large = (np.zeros((h, 40, 3), np.uint8) for h in (24, 48))
    batches = distill.CropBatches([(small, {"a": small}), (large, {"a": large})], settings)
    photos, pictures = batches[0]
    assert photos.shape == pictures.shape == (3, 32, 32, 3)
    assert "1 of 2 cached photo sizes are shorter than the crop (32 pixels)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no photo is at least 32 pixels"):
        distill.CropBatches([(small, {"a": small})], settings)


def test_feature_loss_needs_teacher_layers(small_teacher):
    model, _ = load_generator(small_teacher)
    with pytest.raises(ValueError, match="refpad01_1"):
        distill.teacher_features(model, "tiny")


def test_teachers_must_share_a_convention(tmp_path, small_teacher):
    rgb = make_teacher(tmp_path / "rgb.keras", "rgb", color_order="RGB")
    with pytest.raises(ValueError, match="one input convention"):
        distill.load_teachers([small_teacher, rgb])
    with pytest.raises(ValueError, match="two teachers"):
        distill.load_teachers([small_teacher, shutil.copy(small_teacher, tmp_path / "copy.keras")])


def test_evaluate_known_answers(tmp_path, small_teacher, five_photos, capsys):
    """A model against itself: 100 dB and SSIM 1; the floor is the photo against the reference."""
    code = main(
        [
            "evaluate",
            "--model",
            str(small_teacher),
            "--reference",
            str(small_teacher),
            "--photos",
            str(five_photos),
            "--held-out",
            "--long-side",
            "64",
            "--output",
            str(tmp_path / "eval"),
        ]
    )
    assert code == 0
    figures = json.loads((tmp_path / "eval" / "tiny" / "figures.json").read_text())
    assert [row["photo"] for row in figures["photos"]] == [distill.split_photos(five_photos)[1][0].name]
    assert figures["summary"]["psnr_db"] == 100.0 and figures["summary"]["ssim"] == pytest.approx(1.0)
    assert figures["summary"]["photo_psnr_db"] < 40
    assert Image.open(tmp_path / "eval" / "tiny" / "grid.png").size[0] > 3 * 64
    assert "mean" in capsys.readouterr().out
    rows, _ = evaluate.evaluate(*(evaluate.Stylizer.load(small_teacher),) * 2, distill.split_photos(five_photos)[1], 32)
    labels = [evaluate.model_label(path) for path in ("models/hayao.keras", "training/students/hayao.keras")]
    assert labels == ["models/hayao.keras", "students/hayao.keras"]  # the grid's columns tell them apart
    assert evaluate.model_label("hayao.keras") == "hayao.keras"
    assert rows[0]["size"] in ("32x24", "24x32")
    with pytest.raises(ValueError, match="no photos"):
        evaluate.evaluate(None, None, [])


def test_ctrl_c_stops_a_command_with_a_message_not_a_traceback(monkeypatch, capsys, tmp_path):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(distill, "run", interrupted)
    arguments = ["distill", "--teacher", "t.keras", "--photos", "photos", "--output", str(tmp_path / "run")]
    assert main(arguments) == 130
    assert capsys.readouterr().err == "\nstopped by Ctrl-C\n"  # before the run was made: nothing to resume
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}")
    assert main(arguments) == 130
    assert capsys.readouterr().err == "\nstopped by Ctrl-C; --resume continues the run from its last checkpoint\n"
    monkeypatch.setattr(train, "run", interrupted)  # its --output is args.run_dir
    assert main(["train", "--photos", "p", "--cartoons", "c", "--output", str(tmp_path / "run")]) == 130
    assert capsys.readouterr().err.endswith("; --resume continues the run from its last checkpoint\n")
    monkeypatch.setattr(evaluate, "run", interrupted)
    assert main(["evaluate", "--model", "m.keras", "--reference", "r.keras", "--photos", "photos"]) == 130
    assert capsys.readouterr().err == "\nstopped by Ctrl-C\n"  # nothing to resume
