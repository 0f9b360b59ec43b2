"""Training a style (`training.train`, `training.gan`) on tiny images with a random-weight VGG.

There are no real cartoon frames here: posterized photos stand in for them. One run is trained
in two goes: stopped after epoch 2 of the initialization phase, then resumed to finish it and run
two adversarial epochs; the tests below check what that run wrote.
"""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from training import train as train_module
from training.cli import main
from training.edges import prepare_folder
from training.gan import ADVERSARIAL, INITIALIZATION
from training.saving import load_generator, read_metadata

IMAGE_SIZE = 32
STEPS = 4
BATCH = 2


def write_small(path, image, shorter_side=40):
    scale = shorter_side / min(image.size)
    image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS).save(path)


@pytest.fixture(scope="module")
def folders(tmp_path_factory, photos):
    """4 photos; 4 other photos posterized as 'cartoon frames'; their edge-smoothed copies."""
    root = tmp_path_factory.mktemp("style")
    for name in ("photos", "cartoons"):
        (root / name).mkdir()
    for path in photos[:4]:
        write_small(root / "photos" / f"{path.stem}.jpg", Image.open(path).convert("RGB"))
    for path in photos[4:8]:
        write_small(root / "cartoons" / f"{path.stem}.png", ImageOps.posterize(Image.open(path).convert("RGB"), 3))
    prepare_folder(root / "cartoons", root / "smoothed", progress=False)
    return root


def settings(folders, run_dir, **overrides):
    """The settings of a small run; `resume` and `verbose` go to `train` itself."""
    base = {
        "photos_dir": folders / "photos",
        "cartoons_dir": folders / "cartoons",
        "smoothed_dir": folders / "smoothed",
        "run_dir": run_dir,
        "steps_per_epoch": STEPS,
        "batch_size": BATCH,
        "image_size": IMAGE_SIZE,
        "vgg_weights": "random",
        "learning_rate": 1e-3,
        "seed": 0,
    }
    return {**base, **overrides}


def train(settings, resume=False):
    return train_module.train(train_module.TrainSettings(**settings), resume=resume, verbose=0)


@pytest.fixture(scope="module")
def run(folders, tmp_path_factory):
    """The run, trained in two goes; its folder and the models of both goes."""
    run_dir = tmp_path_factory.mktemp("runs") / "posterized"
    stopped = train(settings(folders, run_dir, init_epochs=2, epochs=0))
    stopped_history = train_module.read_history(run_dir / "history.jsonl")
    resumed = train(settings(folders, run_dir, init_epochs=3, epochs=2), resume=True)
    yield {"dir": run_dir, "stopped": stopped, "stopped_history": stopped_history, "resumed": resumed}
    shutil.rmtree(run_dir / "checkpoints")  # 3 x 140 MB; pytest keeps the last few temporary folders


@pytest.mark.slow
def test_the_initialization_phase_lowers_the_content_loss(run):
    history = train_module.read_history(run["dir"] / "history.jsonl")
    content = [entry["content_loss"] for entry in history if entry["phase"] == INITIALIZATION]
    assert len(content) == 3
    assert content[1] < content[0]
    # Epoch 3 ran after the restart: had the weights not been restored it would start over.
    assert content[2] < 0.9 * content[0]


@pytest.mark.slow
def test_resuming_continues_at_the_next_epoch_in_its_phase(run):
    assert [entry["epoch"] for entry in run["stopped_history"]] == [1, 2]
    history = train_module.read_history(run["dir"] / "history.jsonl")
    assert [(entry["epoch"], entry["phase"]) for entry in history] == [
        (1, INITIALIZATION),
        (2, INITIALIZATION),
        (3, INITIALIZATION),
        (4, ADVERSARIAL),
        (5, ADVERSARIAL),
    ]
    assert len((run["dir"] / "history.jsonl").read_text().splitlines()) == 5  # no epoch ran twice
    # The optimizers were restored too: their step counts go on from where the first go stopped.
    assert int(run["stopped"].generator_optimizer.iterations) == 2 * STEPS
    assert int(run["resumed"].generator_optimizer.iterations) == 5 * STEPS
    assert int(run["resumed"].discriminator_optimizer.iterations) == 2 * STEPS
    assert run["resumed"].phase == ADVERSARIAL
    checkpoint = tf.train.latest_checkpoint(run["dir"] / "checkpoints")
    assert checkpoint.endswith("ckpt-5")
    assert len(list((run["dir"] / "checkpoints").glob("*.index"))) == train_module.CHECKPOINTS_KEPT


@pytest.mark.slow
def test_the_adversarial_phase_reports_all_losses(run):
    last = train_module.read_history(run["dir"] / "history.jsonl")[-1]
    for name in ("content_loss", "generator_loss", "adversarial_loss", "discriminator_loss"):
        assert np.isfinite(last[name]) and last[name] > 0
    # generator loss = adversarial loss + 10 * content loss, as epoch means.
    assert last["generator_loss"] == pytest.approx(last["adversarial_loss"] + 10 * last["content_loss"], rel=1e-4)


@pytest.mark.slow
def test_every_epoch_writes_a_grid_of_samples(run):
    grids = sorted((run["dir"] / "samples").glob("*.png"))
    assert [path.name for path in grids] == [f"epoch_{epoch:04d}.png" for epoch in range(1, 6)]
    with Image.open(grids[-1]) as grid:
        grid.verify()
    with Image.open(grids[-1]) as grid:
        # 4 photos side by side, 2 pixels apart; photos above, generated images below.
        assert grid.size == (4 * IMAGE_SIZE + 3 * 2, 2 * IMAGE_SIZE + 2) and grid.mode == "RGB"
        pixels = np.asarray(grid)
    photos_row, generated_row = pixels[:IMAGE_SIZE], pixels[IMAGE_SIZE + 2 :]
    assert photos_row.std() > 10 and not np.array_equal(photos_row, generated_row)


@pytest.mark.slow
def test_tensorboard_gets_epoch_scalars_and_the_loss_curves_are_drawn(run):
    tags = set()
    for path in (run["dir"] / "logs").rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(value.tag for value in event.summary.value)
    assert {"epoch_content_loss", "epoch_discriminator_loss", "epoch_generator_loss"} <= tags
    with Image.open(run["dir"] / "loss_curves.png") as curves:
        assert curves.size[1] == 4 * 150  # one panel per metric


@pytest.mark.slow
def test_the_trained_generator_is_saved_with_its_metadata(run):
    path = run["dir"] / "generator.keras"
    metadata = read_metadata(path)
    assert metadata["style"] == "posterized" and metadata["input"]["color_order"] == "RGB"
    model, _ = load_generator(path)
    photos = np.random.default_rng(0).uniform(-1, 1, (1, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
    np.testing.assert_allclose(model(photos), run["resumed"].generator(photos), atol=1e-5)
    config = json.loads((run["dir"] / "config.json").read_text())
    assert config["init_epochs"] == 3 and config["epochs"] == 2 and config["replicas"] == 1


@pytest.mark.slow
def test_a_run_folder_is_not_overwritten_without_resume(run, folders):
    with pytest.raises(ValueError, match="--resume"):
        train(settings(folders, run["dir"], init_epochs=1, epochs=0))
    with pytest.raises(ValueError, match="conflicts"):
        train(settings(folders, run["dir"], color_order="BGR"), resume=True)


@pytest.mark.slow
def test_fine_tuning_starts_from_a_saved_generator_and_keeps_its_color_order(folders, tmp_path, hayao_generator_path):
    run_dir = tmp_path / "hayao_tuned"
    train(settings(folders, run_dir, init_epochs=0, epochs=0, init_from=hayao_generator_path))
    metadata = read_metadata(run_dir / "generator.keras")
    assert metadata["input"]["color_order"] == "BGR" and metadata["style"] == "hayao_tuned"
    tuned, _ = load_generator(run_dir / "generator.keras")
    hayao, _ = load_generator(hayao_generator_path)
    for tuned_weight, hayao_weight in zip(tuned.get_weights(), hayao.get_weights(), strict=True):
        np.testing.assert_array_equal(tuned_weight, hayao_weight)
    with pytest.raises(ValueError, match="conflicts"):
        train(settings(folders, tmp_path / "other", color_order="RGB", init_from=hayao_generator_path))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"image_size": 30}, "multiple of 4"),
        ({"image_size": 0}, "multiple of 4"),
        ({"init_epochs": -1}, "init_epochs"),
        ({"epochs": 1.5}, "epochs"),
        ({"steps_per_epoch": 0}, "steps_per_epoch"),
        ({"content_weight": -1.0}, "content_weight"),
        ({"adversarial_loss": "wgan"}, "adversarial_loss"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"color_order": "RBG"}, "color_order"),
        ({"batch_size": 0}, "batch_size"),
        ({"photos_dir": "/no/such/folder"}, "no such folder"),
    ],
)
def test_bad_settings_raise_clear_errors(folders, tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        train(settings(folders, tmp_path / "run", **overrides))


def test_the_train_command_passes_its_options_on(folders, tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(train_module, "train", lambda *args, **kwargs: calls.append((args, kwargs)))
    command = ["train", "--photos", "P", "--cartoons", "C", "--output", str(tmp_path / "run")]
    options = ["--init-epochs", "0", "--epochs", "3", "--steps-per-epoch", "5", "--batch-size", "4"]
    options += ["--image-size", "64", "--adversarial-loss", "bce", "--vgg-weights", "random", "--resume"]
    options += ["--color-order", "BGR", "--init-from", "g.keras", "--content-weight", "2.5", "--seed", "7"]
    assert main(command + options) == 0
    (((given,), kwargs),) = calls
    assert (given.photos_dir, given.cartoons_dir, given.run_dir) == ("P", "C", str(tmp_path / "run"))
    assert given.init_epochs == 0 and given.epochs == 3 and given.steps_per_epoch == 5
    assert given.batch_size == 4 and given.image_size == 64 and given.adversarial_loss == "bce"
    assert given.vgg_weights == "random" and kwargs["resume"] is True and given.color_order == "BGR"
    assert given.init_from == "g.keras" and given.content_weight == 2.5 and given.seed == 7
    assert given.smoothed_dir is None and given.learning_rate == train_module.LEARNING_RATE


def test_the_train_command_reports_bad_settings(folders, tmp_path, capsys):
    command = ["train", "--photos", str(folders / "photos"), "--cartoons", str(folders / "cartoons")]
    assert main(command + ["--output", str(tmp_path / "run"), "--image-size", "30"]) == 2
    assert "multiple of 4" in capsys.readouterr().err
