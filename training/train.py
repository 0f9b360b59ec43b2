"""Training a new style: `python -m training train --photos DIR --cartoons DIR --output RUN_DIR ...`.

The run folder holds everything a run writes:

    RUN_DIR/config.json        the settings of the run (`TrainSettings`; color order and style are kept on resume)
    RUN_DIR/checkpoints/       networks, optimizers and the number of finished epochs (last 3 epochs)
    RUN_DIR/logs/              TensorBoard scalars, one point per epoch (`tensorboard --logdir RUN_DIR/logs`)
    RUN_DIR/samples/epoch_NNNN.png   sample photos (top row) and their stylized versions (bottom row)
    RUN_DIR/history.jsonl      one line of epoch means per epoch
    RUN_DIR/loss_curves.png    the curves of history.jsonl, drawn at the end
    RUN_DIR/generator.keras    the trained generator with its metadata (`training.saving`)

Epochs are numbered across both phases: epochs 1..init_epochs are the initialization phase
(content loss only), the next `epochs` the adversarial phase. `--resume` restores the last
checkpoint and continues from the next epoch, in whichever phase that is; asking for more
epochs than a finished run had extends it. With more than one GPU visible, training runs under
`tf.distribute.MirroredStrategy` (`--batch-size` is then the global batch).
"""

import json
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

import keras
import tensorflow as tf
from PIL import Image

from training import data
from training.conventions import COLOR_ORDERS, SIZE_MULTIPLE, check_color_order
from training.gan import ADVERSARIAL, INITIALIZATION, CartoonGAN
from training.history import plot_history, read_history
from training.losses import ADVERSARIAL_LOSSES, CONTENT_WEIGHT, build_vgg_feature_extractor
from training.models import build_discriminator, build_generator
from training.saving import load_generator, make_metadata, save_generator

LEARNING_RATE = 2e-4
ADAM_BETA_1 = 0.5
SAMPLE_COUNT = 4
CHECKPOINTS_KEPT = 3
SOURCE = "trained with `python -m training train` (CartoonGAN, Chen et al., CVPR 2018)"


def choose_strategy():
    """`MirroredStrategy` over all GPUs when there are several, the default strategy otherwise."""
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def option(flag=None, help="", **argument):
    """The command-line option of a setting (`flag` defaults to the field name with dashes)."""
    return {"flag": flag, "help": help, **argument}


@dataclass(frozen=True)
class TrainSettings:
    """Every setting of a training run, listed once: `train` takes them, the `train` command's
    options are made from them and `config.json` records them. Checked when made (`ValueError`).

    `steps_per_epoch` None: one pass over the photos. `vgg_weights`: `"imagenet"`, the path of
    VGG19 no-top `.h5` weights, or `"random"` (tests). `init_from`: a generator `.keras` file to
    start from (fine-tuning; then `init_epochs=0` is usual). `color_order` None: the resumed run's
    or `init_from` generator's, else RGB. `style` None: the resumed run's, else the folder name.
    """

    photos_dir: str = field(metadata=option("--photos", "folder of real photos", required=True))
    cartoons_dir: str = field(metadata=option("--cartoons", "folder of cartoon frames of the style", required=True))
    run_dir: str = field(
        metadata=option("--output", "run folder: checkpoints, logs, samples, generator.keras", required=True)
    )
    smoothed_dir: str | None = field(
        default=None,
        metadata=option("--smoothed", "folder of their edge-smoothed copies from `prepare` (default: on the fly)"),
    )
    init_epochs: int = field(
        default=10, metadata=option(help="initialization epochs, content loss only (10)", type=int)
    )
    epochs: int = field(default=100, metadata=option(help="adversarial epochs (100)", type=int))
    steps_per_epoch: int | None = field(
        default=None, metadata=option(help="batches per epoch (default: one pass over the photos)", type=int)
    )
    batch_size: int = field(default=8, metadata=option(help="batch size, over all GPUs (8)", type=int))
    image_size: int = field(default=256, metadata=option(help="square training crops, a multiple of 4 (256)", type=int))
    load_size: int | None = field(
        default=None, metadata=option(help="shorter side images are resized to before cropping", type=int)
    )
    content_weight: float = field(
        default=CONTENT_WEIGHT, metadata=option(help=f"content loss weight ({CONTENT_WEIGHT:g})", type=float)
    )
    adversarial_loss: str = field(
        default="lsgan",
        metadata=option(help="least squares (default) or cross-entropy", choices=ADVERSARIAL_LOSSES),
    )
    learning_rate: float = field(
        default=LEARNING_RATE, metadata=option(help=f"Adam learning rate ({LEARNING_RATE})", type=float)
    )
    vgg_weights: str = field(
        default="imagenet",
        metadata=option(help="imagenet (downloaded once by Keras), a VGG19 no-top .h5, or random"),
    )
    color_order: str | None = field(
        default=None,
        metadata=option(help="channel order of the generator (default: --init-from's, else RGB)", choices=COLOR_ORDERS),
    )
    style: str | None = field(
        default=None, metadata=option(help="style name in the saved generator's metadata (default: the folder name)")
    )
    init_from: str | None = field(
        default=None, metadata=option(help="generator .keras to fine-tune, e.g. from `import-pretrained`")
    )
    seed: int | None = field(default=None, metadata=option(help="random seed", type=int))

    def __post_init__(self):
        image_size = self.image_size
        if int(image_size) != image_size or image_size < SIZE_MULTIPLE or image_size % SIZE_MULTIPLE:
            raise ValueError(f"image_size must be a positive multiple of {SIZE_MULTIPLE}, got {image_size!r}")
        for name in ("init_epochs", "epochs"):
            value = getattr(self, name)
            if int(value) != value or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        steps = self.steps_per_epoch
        if steps is not None and (int(steps) != steps or steps < 1):
            raise ValueError(f"steps_per_epoch must be a positive integer, got {steps!r}")
        if not self.content_weight >= 0:
            raise ValueError(f"content_weight must be non-negative, got {self.content_weight!r}")
        if self.adversarial_loss not in ADVERSARIAL_LOSSES:
            raise ValueError(f"adversarial_loss must be one of {ADVERSARIAL_LOSSES}, got {self.adversarial_loss!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if self.color_order is not None:
            check_color_order(self.color_order)


def resolve_settings(settings, resume, init_metadata):
    """The settings with the run's color order and style filled in, checked against a run being
    resumed.

    A new run in a folder that already has checkpoints needs `resume=True`. The color order comes
    from the settings, else from the resumed run or `--init-from` generator, else RGB.
    """
    run_dir = Path(settings.run_dir)
    config_path = run_dir / "config.json"
    has_checkpoint = tf.train.latest_checkpoint(run_dir / "checkpoints") is not None
    if has_checkpoint and not resume:
        raise ValueError(f"{run_dir} already holds a training run: pass --resume to continue it, or another --output")
    previous = json.loads(config_path.read_text()) if resume and config_path.is_file() else {}
    known = previous.get("color_order") or (init_metadata or {}).get("input", {}).get("color_order")
    color_order = settings.color_order or known or "RGB"
    if known and color_order != known:
        raise ValueError(f"color order {color_order} conflicts with the {known} of the run or generator it continues")
    style = settings.style or previous.get("style") or run_dir.resolve().name
    return replace(settings, color_order=color_order, style=style)


def save_grid(rows, path, gap=2):
    """Writes rows of equally sized uint8 RGB images `(count, height, width, 3)` as one PNG."""
    count, height, width = rows[0].shape[:3]
    grid = Image.new("RGB", (count * width + (count - 1) * gap, len(rows) * height + (len(rows) - 1) * gap), "white")
    for row_index, row in enumerate(rows):
        for column, image in enumerate(row):
            grid.paste(Image.fromarray(image), (column * (width + gap), row_index * (height + gap)))
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
    return path


class EpochOutputs(keras.callbacks.Callback):
    """At the end of every epoch: the sample grid, a history line, then the checkpoint (last, so
    that a checkpointed epoch always has its outputs)."""

    def __init__(self, run_dir, sample_photos, color_order, manager, finished_epochs):
        super().__init__()
        self.run_dir = run_dir
        self.sample_photos = sample_photos
        self.color_order = color_order
        self.manager = manager
        self.finished_epochs = finished_epochs

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        if not logs:
            # Keras ends an epoch early, with a warning only, when the dataset yields nothing.
            raise ValueError(f"epoch {number} trained on no batch: none of the images could be read")
        generated = self.model.generator(self.sample_photos, training=False)
        rows = [data.to_uint8_rgb(images, self.color_order) for images in (self.sample_photos, generated)]
        save_grid(rows, self.run_dir / "samples" / f"epoch_{number:04d}.png")
        entry = {"epoch": number, "phase": self.model.phase, **{k: float(v) for k, v in logs.items()}}
        with open(self.run_dir / "history.jsonl", "a") as history:
            history.write(json.dumps(entry) + "\n")
        self.finished_epochs.assign(number)
        self.manager.save(checkpoint_number=number)


def train(settings, resume=False, strategy=None, jit_compile="auto", verbose=1):
    """Trains (or continues) the run of `settings` (a `TrainSettings`) in its run folder; returns
    the `CartoonGAN` after training. `resume`: continue the run from its last checkpoint.
    `jit_compile`: Keras's setting ("auto": XLA on a single GPU).
    """
    init_model, init_metadata = load_generator(settings.init_from) if settings.init_from else (None, None)
    settings = resolve_settings(settings, resume, init_metadata)
    run_dir = Path(settings.run_dir)
    metadata = make_metadata(settings.style, settings.color_order, source=SOURCE)  # checked before training
    if settings.seed is not None:
        keras.utils.set_random_seed(settings.seed)

    dataset = data.training_dataset(
        settings.photos_dir,
        settings.cartoons_dir,
        settings.smoothed_dir,
        settings.image_size,
        settings.batch_size,
        settings.load_size,
        settings.color_order,
        settings.seed,
    )
    if settings.steps_per_epoch is None:
        photo_count = len(data.image_files(settings.photos_dir))
        settings = replace(settings, steps_per_epoch=max(1, photo_count // settings.batch_size))
    sample_photos = data.sample_photo_batch(
        settings.photos_dir, SAMPLE_COUNT, settings.image_size, settings.color_order
    )

    strategy = strategy or choose_strategy()
    with strategy.scope():
        generator = build_generator(name=f"cartoongan_{settings.style}")
        if init_model is not None:
            if len(init_model.weights) != len(generator.weights):
                count = len(init_model.weights)
                raise ValueError(f"{settings.init_from}: not a CartoonGAN generator ({count} weights)")
            generator.set_weights(init_model.get_weights())
        discriminator = build_discriminator()
        vgg_weights = None if settings.vgg_weights in (None, "random") else settings.vgg_weights
        feature_extractor = build_vgg_feature_extractor(vgg_weights)
        gan = CartoonGAN(generator, discriminator, feature_extractor, settings.content_weight, settings.color_order)
        generator_optimizer = keras.optimizers.Adam(settings.learning_rate, beta_1=ADAM_BETA_1)
        discriminator_optimizer = keras.optimizers.Adam(settings.learning_rate, beta_1=ADAM_BETA_1)
        gan.compile(
            generator_optimizer,
            discriminator_optimizer,
            adversarial_loss=settings.adversarial_loss,
            jit_compile=jit_compile,
        )
        # Built now so that a checkpoint restores their state right away.
        generator_optimizer.build(generator.trainable_variables)
        discriminator_optimizer.build(discriminator.trainable_variables)
        finished_epochs = tf.Variable(0, dtype=tf.int64, trainable=False, name="finished_epochs")
        checkpoint = tf.train.Checkpoint(
            generator=generator,
            discriminator=discriminator,
            generator_optimizer=generator_optimizer,
            discriminator_optimizer=discriminator_optimizer,
            finished_epochs=finished_epochs,
        )
    manager = tf.train.CheckpointManager(checkpoint, run_dir / "checkpoints", max_to_keep=CHECKPOINTS_KEPT)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        print(f"resuming {manager.latest_checkpoint} after epoch {int(finished_epochs.numpy())}")
    elif resume:
        print(f"no checkpoint in {run_dir}: starting a new run")

    run_dir.mkdir(parents=True, exist_ok=True)
    config = {**asdict(settings), "replicas": strategy.num_replicas_in_sync}
    (run_dir / "config.json").write_text(json.dumps(config, indent=2, default=str) + "\n")

    callbacks = [
        keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs"), write_graph=False),
        EpochOutputs(run_dir, sample_photos, settings.color_order, manager, finished_epochs),
    ]
    fit_settings = {
        "steps_per_epoch": settings.steps_per_epoch,
        "callbacks": callbacks,
        "verbose": verbose,
        "shuffle": False,
    }
    finished = int(finished_epochs.numpy())
    init_epochs = settings.init_epochs
    total = init_epochs + settings.epochs
    if finished < init_epochs:
        gan.phase = INITIALIZATION
        gan.fit(dataset, initial_epoch=finished, epochs=init_epochs, **fit_settings)
    if max(finished, init_epochs) < total:
        gan.phase = ADVERSARIAL
        gan.fit(dataset, initial_epoch=max(finished, init_epochs), epochs=total, **fit_settings)
    if finished >= total > 0:
        print(f"the run has already trained {finished} epochs; nothing left of the {total} asked for")

    plot_history(read_history(run_dir / "history.jsonl"), run_dir / "loss_curves.png", marked_phase=ADVERSARIAL)
    save_generator(generator, run_dir / "generator.keras", metadata)
    return gan


def add_arguments(parser):
    for setting in fields(TrainSettings):
        argument = dict(setting.metadata)
        flag = argument.pop("flag") or "--" + setting.name.replace("_", "-")
        if setting.default is not MISSING:
            argument["default"] = setting.default
        parser.add_argument(flag, dest=setting.name, **argument)
    parser.add_argument("--resume", action="store_true", help="continue the run in --output from its last checkpoint")
    parser.add_argument("--no-xla", action="store_true", help="do not compile the train step with XLA on a GPU")


def run(args):
    settings = TrainSettings(**{setting.name: getattr(args, setting.name) for setting in fields(TrainSettings)})
    train(settings, resume=args.resume, jit_compile=False if args.no_xla else "auto")
    print(f"generator: {Path(settings.run_dir) / 'generator.keras'}")
    return 0
