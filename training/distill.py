"""Distilling small students from published styles: `python -m training distill`.

    python -m training distill --teacher models/hayao.keras [--teacher models/hosoda.keras ...] \\
        --photos ../shared/photos --output runs/students [--minutes 60] [--resume] [--extra-photos DIR]

One student carries every style given (a shared body, one light head per style: the body's cost is
paid once per step). The students learn to reproduce their teachers' pictures:

1. Teacher pictures are computed once, on whole photos at several long sides (`CACHE_LONG_SIDES`),
   and cached under `RUN/cache/` as PNGs (so crops see the teacher's whole-picture result).
2. Each step takes random crops of the cached photos with random flips and mild brightness and
   contrast jitter of the photo, and fits every head to its teacher's picture of the same crop.
3. The loss of each style is pixel L1 + `gradient_weight` x L1 of image gradients at 1, 1/2 and
   1/4 of the size (strokes and flat regions) + `feature_weight` x L1 of the teacher's own first
   layer features (conv01_1, no downloaded weights) + `ssim_weight` x (1 - SSIM), SSIM being the
   index `evaluate` reports (`training.quality`). The weights are chosen by measurement
   (docs/students.md, "The losses"); the defaults are the committed students' loss.
4. Adam, with a cosine learning-rate decay over the run's `epochs`. `--precision mixed_bfloat16`
   computes in bfloat16 with float32 weights, for GPUs (on a CPU without bfloat16 instructions it
   is 3.4 times slower: docs/students.md); the students are always saved in float32.
   With `--context-size N` the student also sees its whole picture squeezed to N x N
   (`training.students`); each crop is given the context of the photo it was cut from, flipped and
   jittered with it. `--init-from` students without one start with a new branch that changes
   nothing until it learns (docs/students.md, "Learned whole-picture statistics").
5. A new run can start from earlier students (`--init-from training/students`) instead of random
   weights: run folders are not kept in the repository, the committed students are, so this is how
   a later session (or a GPU machine) trains them further.

The run folder holds:

    RUN/config.json         the settings (kept on --resume)
    RUN/cache/              photos and teacher pictures (PNG; `--cache DIR` shares one between runs)
    RUN/backup/             the training state: weights, optimizer, finished epochs
    RUN/logs/               TensorBoard scalars (under the TensorFlow backend)
    RUN/history.jsonl       per epoch: steps, seconds, losses, validation PSNR and SSIM per style
    RUN/loss_curves.png     the curves of history.jsonl
    RUN/samples/epoch_NNNN.png   held-out photos | teacher | student, one row per style
    RUN/students/<style>.keras   the one-style students (`training.saving`), after every epoch
    RUN/record.json         the training record: steps, training seconds, hardware, settings (and
                            the earlier students' record when the run started from them)

The held-out photos (`split_photos`) are never trained on; they are used for validation only.
`--extra-photos DIR` adds a folder of photos to train on (all of them; a setting of the run, kept
on --resume; their teacher pictures are cached under `cache/extra/<digest of the photos>/`); a
photo there with the content of a held-out one is refused.
The step is `keras.Model.fit` over a NumPy `keras.utils.PyDataset` with losses written in
`keras.ops`, so the same code trains under Keras's TensorFlow, PyTorch or JAX backend; nothing it
imports needs TensorFlow there (a test runs it under JAX with `import tensorflow` failing).
"""

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
from keras import ops
from PIL import Image
from tqdm import tqdm

from training.conventions import SIZE_MULTIPLE, TANH_RANGE, sha256_file
from training.history import plot_history, read_history
from training.imaging import (
    IMAGE_SUFFIXES,
    from_model_output,
    list_images,
    load_photo,
    resize_long_side,
    to_model_input,
)
from training.quality import SSIM_WINDOW, psnr, ssim, ssim_index, ssim_window
from training.saving import load_generator, make_metadata, save_generator
from training.students import (
    DEFAULT_ARCHITECTURE,
    build_student,
    check_context_size,
    context_input,
    context_size_of,
    context_thumbnail,
    receptive_field,
    single_style,
    tile_overlap,
)

CACHE_LONG_SIDES = (384, 512)
VALIDATION_LONG_SIDE = 384
VALIDATION_PHOTOS = 4
HELD_OUT_EVERY = 5  # every 5th photo (sorted by name) is held out: 12 of the 60 shared photos
GRADIENT_SCALES = (1, 2, 4)
PRECISIONS = ("float32", "mixed_bfloat16")  # Keras dtype policies a run may train under
SOURCE = "distilled with `python -m training distill` from the published CartoonGAN {style} generator"


@dataclass(frozen=True)
class DistillSettings:
    """Every setting of a run, checked once; `config.json` holds them."""

    styles: tuple
    color_order: str
    architecture: str = DEFAULT_ARCHITECTURE
    crop_size: int = 160
    batch_size: int = 8
    steps_per_epoch: int = 100
    epochs: int = 1000
    learning_rate: float = 1e-3
    gradient_weight: float = 1.0
    feature_weight: float = 0.0
    ssim_weight: float = 0.0
    jitter: float = 0.03
    seed: int = 0
    init_from: str | None = None  # a folder of earlier students (`<style>.keras`) to start from
    context_size: int = 0  # a context branch on the whole picture squeezed to this size (0: none)
    precision: str = "float32"  # the Keras dtype policy of training (`PRECISIONS`); students are saved in float32
    extra_photos: str | None = None  # a folder of more photos to train on, all of them (`extra_training_photos`)

    def __post_init__(self):
        if self.crop_size < 4 * SIZE_MULTIPLE or self.crop_size % SIZE_MULTIPLE:
            raise ValueError(f"crop_size must be a multiple of {SIZE_MULTIPLE} of at least 16, got {self.crop_size}")
        for name in ("batch_size", "steps_per_epoch", "epochs"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("gradient_weight", "feature_weight", "ssim_weight", "jitter"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        object.__setattr__(self, "context_size", check_context_size(self.context_size))
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")


# ---------------------------------------------------------------------------------------------
# Photos and teacher pictures


def _one_photo_a_name(folder, photos):
    """`photos`, refused if two share a name but for the suffix: their cached pictures would collide."""
    stems = {}
    for path in photos:
        stem = path.stem.casefold()  # a.jpg and A.png are one file name on macOS and Windows
        if stem in stems:
            raise ValueError(f"{folder}: {stems[stem].name} and {path.name} share a name; rename one")
        stems[stem] = path
    return photos


def split_photos(photos_dir):
    """`(training, held_out)` image paths of a folder: every `HELD_OUT_EVERY`th by name is held out.
    Two photos of one name (`a.jpg`, `a.png`) are refused."""
    folder = Path(photos_dir)
    paths = _one_photo_a_name(folder, list_images(folder))
    held_out = [p for i, p in enumerate(paths) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
    training = [p for p in paths if p not in held_out]
    if not training:
        raise ValueError(f"{folder}: no photos to train on")
    return training, held_out


def extra_training_photos(extra_dir, held_out):
    """`(photos, digest)`: the photos of `extra_dir`, all trained on, and a sha256 of their
    contents (their teacher pictures are cached by it, so runs sharing a cache never mix two
    folders). Refuses an empty folder, two photos of one name (their cached pictures would
    collide), any photo whose bytes are those of a held-out photo, whatever its name, and a crop
    (`crop-photos`, its `crops.json`) of a held-out photo."""
    import hashlib

    from training.crops import crop_sources

    photos = list_images(extra_dir)
    if not photos:
        raise ValueError(f"{extra_dir}: no photos to train on ({', '.join(IMAGE_SUFFIXES)})")
    _one_photo_a_name(extra_dir, photos)
    held = {sha256_file(path): path.name for path in held_out}
    digests = [sha256_file(path) for path in photos]
    sources = crop_sources(extra_dir)
    for path, digest in zip(photos, digests, strict=True):
        if digest in held:
            raise ValueError(f"{path} is the held-out photo {held[digest]}: the held-out photos are never trained on")
        if sources.get(path.name) in held:
            raise ValueError(
                f"{path} is a crop of {held[sources[path.name]]}, a held-out photo now (the photos have changed "
                "since the crops were made): make the crops again with crop-photos"
            )
    return photos, hashlib.sha256("".join(digests).encode()).hexdigest()


def forward_function(model):
    """`f(images) -> outputs` for float32 NHWC images of any size: one traced graph for every size
    under TensorFlow (`training.inference.compile_generator`), `predict_on_batch` elsewhere."""
    if keras.backend.backend() == "tensorflow":
        from training.inference import compile_generator

        return compile_generator(model)
    return lambda images: np.asarray(model.predict_on_batch(images))


def run_generator(forward, rgb, metadata):
    """The picture of an RGB uint8 array made by `forward` (a `forward_function`), cropped to the
    array's size, in RGB uint8."""
    color_order, value_range = metadata["input"]["color_order"], tuple(metadata["input"]["value_range"])
    output = forward(to_model_input(rgb, color_order, value_range))
    height, width = rgb.shape[:2]
    return from_model_output(output[:, :height, :width], color_order, value_range)


def _write_png(array, path):
    partial = path.with_name(path.name + ".partial.png")
    Image.fromarray(array).save(partial)
    partial.replace(path)


def cache_teacher_pictures(teachers, photos, long_sides, cache_dir, label="cache"):
    """Writes `cache_dir/photos/<stem>@<side>.png` and `cache_dir/<style>/<stem>@<side>.png`
    (skipping those already there) and returns `[(photo, {style: picture}), ...]` as uint8 arrays."""
    cache_dir = Path(cache_dir)
    jobs = [(path, side) for path in photos for side in long_sides]
    pairs = []
    forwards = {}
    for path, side in tqdm(jobs, desc=label, unit="photo"):
        name = f"{path.stem}@{side}.png"
        photo_path = cache_dir / "photos" / name
        if not photo_path.is_file():
            photo_path.parent.mkdir(parents=True, exist_ok=True)
            _write_png(np.asarray(resize_long_side(load_photo(path), side)), photo_path)
        photo = np.asarray(Image.open(photo_path).convert("RGB"))
        pictures = {}
        for style, (model, metadata) in teachers.items():
            picture_path = cache_dir / style / name
            if not picture_path.is_file():
                picture_path.parent.mkdir(parents=True, exist_ok=True)
                if style not in forwards:
                    forwards[style] = forward_function(model)
                _write_png(run_generator(forwards[style], photo, metadata), picture_path)
            pictures[style] = np.asarray(Image.open(picture_path).convert("RGB"))
        pairs.append((photo, pictures))
    return pairs


class CropBatches(keras.utils.PyDataset):
    """Random crops of `(photo, {style: picture})` pairs: `(photos, {style: pictures})` batches in
    the students' convention. NumPy only, so it feeds any Keras backend."""

    def __init__(self, pairs, settings, **kwargs):
        super().__init__(**kwargs)
        self.pairs = [pair for pair in pairs if min(pair[0].shape[:2]) >= settings.crop_size]
        if not self.pairs:
            raise ValueError(f"no photo is at least {settings.crop_size} pixels on its short side")
        if len(self.pairs) < len(pairs):
            tqdm.write(
                f"{len(pairs) - len(self.pairs)} of {len(pairs)} cached photo sizes are shorter than the crop "
                f"({settings.crop_size} pixels) and are not trained on",
                file=sys.stderr,
            )
        self.settings = settings
        self.epoch = 0
        size = settings.context_size
        self.contexts = [context_thumbnail(photo, size).astype(np.float32) for photo, _ in self.pairs] if size else None

    def __len__(self):
        return self.settings.steps_per_epoch

    def on_epoch_end(self):
        self.epoch += 1

    def __getitem__(self, index):
        s = self.settings
        rng = np.random.default_rng([s.seed, self.epoch, index])
        photos, contexts, pictures = [], [], {style: [] for style in s.styles}
        for _ in range(s.batch_size):
            chosen = rng.integers(len(self.pairs))
            photo, targets = self.pairs[chosen]
            top = rng.integers(photo.shape[0] - s.crop_size + 1)
            left = rng.integers(photo.shape[1] - s.crop_size + 1)
            window = (slice(top, top + s.crop_size), slice(left, left + s.crop_size))
            flip = slice(None, None, -1 if rng.random() < 0.5 else 1)
            crop = photo[window][:, flip].astype(np.float32)
            context = self.contexts[chosen][:, flip] if self.contexts else None
            if s.jitter:
                gain, offset = 1 + rng.uniform(-s.jitter, s.jitter), 255 * rng.uniform(-s.jitter, s.jitter)
                mean = crop.mean()
                crop = (crop - mean) * gain + mean + offset
                if context is not None:
                    context = (context - mean) * gain + mean + offset
            photos.append(to_model_input(np.clip(crop, 0, 255), s.color_order, TANH_RANGE)[0])
            if context is not None:
                contexts.append(to_model_input(np.clip(context, 0, 255), s.color_order, TANH_RANGE)[0])
            for style in s.styles:
                pictures[style].append(to_model_input(targets[style][window][:, flip], s.color_order, TANH_RANGE)[0])
        outputs = {style: np.stack(values) for style, values in pictures.items()}
        inputs = (np.stack(photos), np.stack(contexts)) if contexts else np.stack(photos)
        return inputs, outputs if len(s.styles) > 1 else outputs[s.styles[0]]


# ---------------------------------------------------------------------------------------------
# Losses


def _gradients(images):
    return images[:, 1:, :, :] - images[:, :-1, :, :], images[:, :, 1:, :] - images[:, :, :-1, :]


def gradient_loss(target, output):
    """Mean L1 distance of the vertical and horizontal image gradients at 1, 1/2 and 1/4 size."""
    total = 0.0
    for index, factor in enumerate(GRADIENT_SCALES):
        if index:
            pool = factor // GRADIENT_SCALES[index - 1]
            target, output = ops.average_pool(target, pool, pool), ops.average_pool(output, pool, pool)
        for t, o in zip(_gradients(target), _gradients(output)):
            total = total + ops.mean(ops.abs(t - o))
    return total / len(GRADIENT_SCALES)


def _blur(images, window):
    """`images` through SSIM's Gaussian window, valid positions only (a depthwise column then row)."""
    channels = images.shape[-1]
    column = ops.cast(np.tile(window.reshape(-1, 1, 1, 1), (1, 1, channels, 1)), images.dtype)
    row = ops.reshape(column, (1, -1, channels, 1))
    return ops.depthwise_conv(ops.depthwise_conv(images, column, padding="valid"), row, padding="valid")


def structural_similarity(target, output):
    """The mean SSIM of batches of pictures in [-1, 1], per channel, over the positions where the
    window fits: `training.quality.ssim` of the same pictures in 8 bits (its window and constants;
    SSIM's luminance term is not shift-invariant, so the values are counted from the range's low end)."""
    if len(target.shape) != 4:
        raise ValueError(f"SSIM takes batches of pictures (batch, height, width, channels), got shape {target.shape}")
    if any(side is not None and side < SSIM_WINDOW for side in target.shape[1:3]):
        raise ValueError(f"SSIM needs pictures of at least {SSIM_WINDOW} pixels a side, got {target.shape[1:3]}")
    low, high = TANH_RANGE
    target, output = target - low, output - low
    # The five local means in one blur of their channels stacked.
    means = ops.split(
        _blur(
            ops.concatenate([target, output, target * target, output * output, target * output], axis=-1),
            ssim_window(),
        ),
        5,
        axis=-1,
    )
    return ops.mean(ssim_index(*means, high - low))


def teacher_features(teacher, style):
    """The teacher's first layer (reflection pad, 7x7 conv01_1, ReLU) as a frozen model."""
    padded = teacher.get_layer("refpad01_1").output
    conv = teacher.get_layer("conv01_1")
    features = keras.Model(teacher.input, ops.relu(conv(padded)), name=f"features_{style}")
    features.trainable = False
    return features


class DistillationLoss(keras.losses.Loss):
    """L1 + weighted gradient L1 + weighted teacher-feature L1 + weighted (1 - SSIM) of one style's head."""

    def __init__(self, gradient_weight, feature_weight, features=None, ssim_weight=0.0, name="distillation"):
        super().__init__(name=name)
        if feature_weight and features is None:
            raise ValueError("a feature loss needs the teacher's feature model")
        self.gradient_weight, self.feature_weight, self.features = gradient_weight, feature_weight, features
        self.ssim_weight = ssim_weight

    def call(self, target, output):
        loss = ops.mean(ops.abs(target - output))
        if self.gradient_weight:
            loss = loss + self.gradient_weight * gradient_loss(target, output)
        if self.feature_weight:
            loss = loss + self.feature_weight * ops.mean(ops.abs(self.features(target) - self.features(output)))
        if self.ssim_weight:
            loss = loss + self.ssim_weight * (1.0 - structural_similarity(target, output))
        return loss


def run_losses(settings, teachers=None):
    """The loss of the run's student, as `compile` takes it: a `DistillationLoss` per style (one
    loss for a one-style student), with the settings' weights. `teachers` (`{style: model}`) are
    needed for a feature term only."""
    losses = {
        style: DistillationLoss(
            settings.gradient_weight,
            settings.feature_weight,
            teacher_features(teachers[style], style) if settings.feature_weight and teachers else None,
            settings.ssim_weight,
            name=f"loss_{style}",
        )
        for style in settings.styles
    }
    return losses if len(settings.styles) > 1 else losses[settings.styles[0]]


# ---------------------------------------------------------------------------------------------
# The run


def starting_students(folder, settings):
    """The one-style students `folder/<style>.keras` that a run with `settings` starts from, checked
    against them: every style there, the run's architecture, a context branch the run keeps."""
    students = []
    for style in settings.styles:
        path = Path(folder) / f"{style}.keras"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no student of the style {style!r} to start from")
        student, metadata = load_generator(path)
        architecture = metadata.get("student", {}).get("architecture")
        if architecture != settings.architecture:
            raise ValueError(f"{path} is a {architecture!r} student; the run trains {settings.architecture!r}")
        context_size = context_size_of(student)
        if context_size not in (0, settings.context_size):
            raise ValueError(
                f"{path} sees its whole picture at {context_size} pixels; "
                f"pass --context-size {context_size} to keep that branch"
            )
        students.append(student)
    return students


def default_context_size(folder, styles):
    """The context size of a new run that names none: that of the students it starts from (in
    `folder`, or none), else 0 (no context branch)."""
    path = Path(folder or "") / f"{styles[0]}.keras"
    if not folder or not path.is_file():
        return 0  # `starting_students` names a missing student
    return context_size_of(load_generator(path)[0])


def copy_student_weights(model, students):
    """Copies the weights of one-style `students` into the (multi-style) student `model`, layer by
    layer by name: each style's head from its own student, the shared layers from each in turn
    (students cut from one model agree on them)."""
    for student in students:
        for layer in student.layers:
            if layer.weights:
                model.get_layer(layer.name).set_weights(layer.get_weights())


def learning_rate_schedule(settings):
    """Cosine decay from `learning_rate` to 5% of it over the run's `epochs` (the optimizer's step
    count is part of the training state, so a resumed run continues the schedule)."""
    total_steps = settings.epochs * settings.steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(settings.learning_rate, total_steps, alpha=0.05)


def student_metadata(settings, style, teacher_metadata):
    metadata = make_metadata(
        style,
        settings.color_order,
        display_name=teacher_metadata.get("display_name"),
        source=SOURCE.format(style=style),
        value_range=teacher_metadata["input"]["value_range"],
    )
    return {
        **metadata,
        "student": {
            "architecture": settings.architecture,
            "teacher_parameters": teacher_metadata.get("parameters"),
            "context_size": settings.context_size,
        },
        "receptive_field": receptive_field(settings.architecture),
        "tile_overlap": tile_overlap(settings.architecture),
    }


def build_run_student(settings, precision=None):
    """The (multi-style) student of a run, its layers computing in `precision` (default: the run's
    `settings.precision`); the global Keras dtype policy is left as it was."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision or settings.precision)
    try:
        return build_student(settings.styles, settings.architecture, settings.context_size)
    finally:
        keras.config.set_dtype_policy(previous)


def float32_student(model, settings):
    """`model` when it computes in float32, else a float32 copy of it (a mixed policy keeps its
    weights in float32): what is validated and saved, whatever the run's precision."""
    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model
    copy = build_run_student(settings, "float32")
    copy.set_weights(model.get_weights())
    return copy


def save_students(model, settings, teacher_metadata, folder):
    """Writes one `<style>.keras` per style of the (multi-style) `model`, in float32 whatever the
    run's precision; returns the paths."""
    model = float32_student(model, settings)
    paths = []
    for style in settings.styles:
        student = model if len(settings.styles) == 1 else single_style(model, style)
        paths.append(
            save_generator(
                student, Path(folder) / f"{style}.keras", student_metadata(settings, style, teacher_metadata[style])
            )
        )
    return paths


class EpochOutputs(keras.callbacks.Callback):
    """After each epoch: validation PSNR and SSIM per style, a sample grid, a history line, the
    students, and a stop when the time budget would run out before the next epoch ends."""

    def __init__(self, run_dir, settings, validation, teacher_metadata, deadline, steps_done):
        super().__init__()
        self.run_dir, self.settings, self.validation = Path(run_dir), settings, validation
        self.teacher_metadata, self.deadline = teacher_metadata, deadline
        self.started = time.monotonic()
        self.seconds_before = _trained_seconds(run_dir)
        self.earlier = earlier_record(settings.init_from)  # read once, not after every epoch
        self.bar = None
        self.steps_done = steps_done
        self.first_epoch = steps_done // settings.steps_per_epoch  # the epochs a resumed run had finished

    def on_train_begin(self, logs=None):
        remaining = self.settings.epochs * self.settings.steps_per_epoch - self.steps_done
        self.bar = tqdm(total=remaining, desc="distill", unit="step")

    def on_train_batch_end(self, batch, logs=None):
        self.steps_done += 1
        postfix = {"step": self.steps_done, "loss": f"{(logs or {}).get('loss', float('nan')):.4f}"}
        if self.deadline is not None:
            left = max(0, round(self.deadline - time.monotonic()))
            postfix["time left"] = f"{left // 60}:{left % 60:02d}"
        self.bar.set_postfix(postfix, refresh=False)  # shown by the update, with this step's count
        self.bar.update(1)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()

    def _student_pictures(self, student, photo):
        """`{style: picture}` of the (multi-style) `student` for an RGB uint8 photo."""
        convention = self.settings.color_order, TANH_RANGE
        inputs = to_model_input(photo, *convention)
        if self.settings.context_size:
            inputs = [inputs, context_input(photo, self.settings.context_size, *convention)]
        predicted = student.predict_on_batch(inputs)
        if len(self.settings.styles) == 1:
            predicted = {self.settings.styles[0]: predicted}
        height, width = photo.shape[:2]
        return {
            style: from_model_output(np.asarray(predicted[style])[:, :height, :width], *convention)
            for style in self.settings.styles
        }

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        student = float32_student(self.model, self.settings)  # the students saved are the ones validated
        scores = {style: [] for style in self.settings.styles}
        similarity = {style: [] for style in self.settings.styles}
        rows = []
        for photo, targets in self.validation:
            made = self._student_pictures(student, photo)
            for style in self.settings.styles:
                scores[style].append(psnr(made[style], targets[style]))
                similarity[style].append(ssim(made[style], targets[style]))
            if len(rows) < 2 * len(self.settings.styles):
                rows += [np.concatenate([photo, targets[s], made[s]], axis=1) for s in self.settings.styles]
        entry = {
            "epoch": number,
            "phase": "distill",
            "steps": self.steps_done,
            "seconds": round(self.seconds_before + time.monotonic() - self.started, 1),
            **{key: float(value) for key, value in (logs or {}).items()},
            **{f"val_psnr_{style}": round(float(np.mean(values)), 3) for style, values in scores.items()},
            **{f"val_ssim_{style}": round(float(np.mean(values)), 4) for style, values in similarity.items()},
        }
        with open(self.run_dir / "history.jsonl", "a") as history:
            history.write(json.dumps(entry) + "\n")
        _save_rows(rows, self.run_dir / "samples" / f"epoch_{number:04d}.png")
        save_students(student, self.settings, self.teacher_metadata, self.run_dir / "students")
        record = {
            "styles": list(self.settings.styles),
            "architecture": self.settings.architecture,
            "epochs": number,
            "steps": self.steps_done,
            "training_seconds": entry["seconds"],
            "hardware": hardware(),
            "settings": asdict(self.settings),
            "validation_psnr_db": {s: entry[f"val_psnr_{s}"] for s in self.settings.styles},
            "validation_ssim": {s: entry[f"val_ssim_{s}"] for s in self.settings.styles},
        }
        (self.run_dir / "record.json").write_text(json.dumps(with_earlier_record(record, self.earlier), indent=2))
        plot_history(read_history(self.run_dir / "history.jsonl"), self.run_dir / "loss_curves.png")
        tqdm.write(
            f"epoch {number}: step {self.steps_done}, "
            + ", ".join(f"{s} {entry[f'val_psnr_{s}']:.2f} dB / {entry[f'val_ssim_{s}']:.3f}" for s in scores)
        )
        elapsed = time.monotonic() - self.started
        per_epoch = elapsed / max(1, number - self.first_epoch)
        if self.deadline is not None and time.monotonic() + per_epoch > self.deadline:
            self.model.stop_training = True


def earlier_record(init_from):
    """The record of the students a run started from (`INIT_FROM/record.json`), or None."""
    path = Path(init_from) / "record.json" if init_from else None
    return json.loads(path.read_text()) if path is not None and path.is_file() else None


def with_earlier_record(record, earlier):
    """`record` carrying the `earlier` record of the students it started from (None: as it is) as
    `started_from`, with the steps and training seconds of both as `total_steps` and
    `total_training_seconds`: the students' whole history."""
    if earlier is None:
        return record
    return {
        **record,
        "total_steps": earlier.get("total_steps", earlier["steps"]) + record["steps"],
        "total_training_seconds": round(
            earlier.get("total_training_seconds", earlier["training_seconds"]) + record["training_seconds"], 1
        ),
        "started_from": earlier,
    }


def _save_rows(rows, path):
    if not rows:
        return
    width = max(row.shape[1] for row in rows)
    grid = np.full((sum(row.shape[0] for row in rows), width, 3), 255, np.uint8)
    top = 0
    for row in rows:
        grid[top : top + row.shape[0], : row.shape[1]] = row
        top += row.shape[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path)


def load_teachers(paths):
    """`{style: (model, metadata)}`; all teachers must share one input convention."""
    teachers = {}
    for path in paths:
        model, metadata = load_generator(path)
        if metadata["style"] in teachers:
            raise ValueError(f"two teachers have the style {metadata['style']!r}")
        teachers[metadata["style"]] = (model, metadata)
    conventions = {(m["input"]["color_order"], tuple(m["input"]["value_range"])) for _, m in teachers.values()}
    if len(conventions) != 1:
        raise ValueError(f"the teachers must share one input convention, got {sorted(conventions)}")
    if next(iter(conventions))[1] != (-1.0, 1.0):
        raise ValueError("students take [-1, 1] input; the teachers do not")
    return teachers


def run_settings(run_dir, resume, settings):
    """The settings of the run: the saved ones on --resume, else `settings` (a new run, whose
    folder must not hold one yet; `save_settings` writes them once they are checked)."""
    config = run_dir / "config.json"
    if resume:
        if not config.is_file():
            raise FileNotFoundError(f"{run_dir}: no run to resume (no config.json)")
        saved = json.loads(config.read_text())
        saved["styles"] = tuple(saved["styles"])
        return DistillSettings(**saved)
    if config.is_file():
        raise ValueError(f"{run_dir} already holds a run: pass --resume to continue it, or choose another --output")
    return settings


def save_settings(run_dir, settings):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(asdict(settings), indent=2))


def distill(teacher_paths, photos_dir, run_dir, resume=False, minutes=None, cache_dir=None, **options):
    """Runs (or resumes) a distillation; returns the paths of the students written. `cache_dir`
    (default `RUN/cache`) can be shared by runs on the same photos and teachers."""
    if minutes is not None and not minutes > 0:
        raise ValueError(f"minutes must be positive, got {minutes!r}")
    run_dir = Path(run_dir)
    teachers = load_teachers(teacher_paths)
    color_order = next(iter(teachers.values()))[1]["input"]["color_order"]
    if options.get("context_size") is None:  # a resumed run keeps its own
        options["context_size"] = 0 if resume else default_context_size(options.get("init_from"), tuple(teachers))
    settings = run_settings(
        run_dir, resume, DistillSettings(styles=tuple(teachers), color_order=color_order, **options)
    )
    if set(settings.styles) != set(teachers):
        raise ValueError(f"the run distils {list(settings.styles)}; got teachers for {sorted(teachers)}")
    training_photos, held_out = split_photos(photos_dir)  # checked before a new run's folder is made
    extra, extra_digest = extra_training_photos(settings.extra_photos, held_out) if settings.extra_photos else ([], "")
    # Checked (and refused) before a new run's folder is made; loaded once.
    starting = starting_students(settings.init_from, settings) if settings.init_from else []
    if not resume:
        save_settings(run_dir, settings)
    teachers = {style: teachers[style] for style in settings.styles}
    keras.utils.set_random_seed(settings.seed)

    cache_dir = Path(cache_dir) if cache_dir else run_dir / "cache"
    pairs = cache_teacher_pictures(teachers, training_photos, CACHE_LONG_SIDES, cache_dir, "teacher pictures")
    if extra:
        extra_cache = cache_dir / "extra" / extra_digest[:16]
        pairs += cache_teacher_pictures(teachers, extra, CACHE_LONG_SIDES, extra_cache, "extra photos")
    validation = cache_teacher_pictures(
        teachers, held_out[:VALIDATION_PHOTOS], (VALIDATION_LONG_SIDE,), cache_dir / "held-out", "held-out"
    )
    teacher_metadata = {style: metadata for style, (_, metadata) in teachers.items()}
    deadline = None if minutes is None else time.monotonic() + 60 * minutes  # training time, cache excluded

    student = build_run_student(settings)
    student.compile(
        optimizer=keras.optimizers.Adam(learning_rate_schedule(settings)),
        loss=run_losses(settings, {style: model for style, (model, _) in teachers.items()}),
    )
    copy_student_weights(student, starting)  # a resumed run's backup overrides them
    batches = CropBatches(pairs, settings)
    backup = keras.callbacks.BackupAndRestore(run_dir / "backup", save_freq="epoch", delete_checkpoint=False)
    finished = _finished_epochs(run_dir)
    outputs = EpochOutputs(
        run_dir, settings, validation, teacher_metadata, deadline, finished * settings.steps_per_epoch
    )
    batches.epoch = finished
    callbacks = [backup, outputs]
    if keras.backend.backend() == "tensorflow":
        callbacks.append(keras.callbacks.TensorBoard(run_dir / "logs", write_graph=False))
    if finished >= settings.epochs:
        print(f"{run_dir}: all {settings.epochs} epochs are done")
    else:
        student.fit(batches, epochs=settings.epochs, callbacks=callbacks, verbose=0)
    return save_students(student, settings, teacher_metadata, run_dir / "students")


def _trained_seconds(run_dir):
    """The training seconds of the epochs in history.jsonl (before this invocation)."""
    history = read_history(Path(run_dir) / "history.jsonl")
    return history[-1]["seconds"] if history else 0.0


def _finished_epochs(run_dir):
    metadata = Path(run_dir) / "backup" / "training_metadata.json"
    return json.loads(metadata.read_text())["epoch"] if metadata.is_file() else 0


def hardware():
    """One line about the machine a run trains on (for training records)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, Keras {keras.__version__} ({keras.backend.backend()} backend)"


def add_arguments(parser):
    parser.add_argument(
        "--teacher", action="append", required=True, help="a teacher .keras file (repeat for several styles)"
    )
    parser.add_argument("--photos", required=True, help="folder of photos (every 5th by name is held out)")
    parser.add_argument("--output", required=True, help="the run folder")
    parser.add_argument("--resume", action="store_true", help="continue the run in --output")
    parser.add_argument("--minutes", type=float, help="stop after the last epoch that ends within this many minutes")
    parser.add_argument("--cache", help="folder of cached teacher pictures (default: RUN/cache); runs may share one")
    defaults = DistillSettings(styles=("x",), color_order="RGB")
    parser.add_argument(
        "--architecture", default=defaults.architecture, help="student architecture (default: %(default)s)"
    )
    for name in ("crop_size", "batch_size", "steps_per_epoch", "epochs"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name), help="(default: %(default)s)"
        )
    parser.add_argument(
        "--context-size",
        type=int,
        help="let the student see its whole picture squeezed to this many pixels a side "
        "(default: that of the --init-from students, else 0: none)",
    )
    for name in ("learning_rate", "gradient_weight", "feature_weight", "ssim_weight", "jitter"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name), help="(default: %(default)s)"
        )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=defaults.precision,
        help="mixed_bfloat16 computes in bfloat16, for GPUs; students are saved in float32 (default: %(default)s)",
    )
    parser.add_argument(
        "--init-from",
        metavar="FOLDER",
        help="start from the students FOLDER/<style>.keras (such as training/students) instead of random weights",
    )
    parser.add_argument(
        "--extra-photos", metavar="DIR", help="a folder of more photos to train on (none of them is held out)"
    )


def run(args):
    options = {
        name: getattr(args, name)
        for name in (
            "architecture",
            "crop_size",
            "batch_size",
            "steps_per_epoch",
            "epochs",
            "learning_rate",
            "gradient_weight",
            "feature_weight",
            "ssim_weight",
            "jitter",
            "seed",
            "init_from",
            "context_size",
            "precision",
            "extra_photos",
        )
    }
    paths = distill(
        args.teacher,
        args.photos,
        args.output,
        resume=args.resume,
        minutes=args.minutes,
        cache_dir=args.cache,
        **options,
    )
    print("students: " + ", ".join(str(path) for path in paths))
    return 0
