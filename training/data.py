"""`tf.data` pipelines of the training data: photos, and cartoon frames with their edge-smoothed copies.

Every image is decoded, resized so that its shorter side is `load_size` pixels (default: the
training size), randomly cropped to an `image_size` square, randomly flipped left-right, and
scaled to [-1, 1] in the generator's channel order (`"RGB"`, or `"BGR"` like the published
weights). A cartoon frame and its edge-smoothed copy get the same resize, crop and flip: they are
stacked into one 6-channel image for those steps.

Elements of `training_dataset` are `(photos, cartoons, smoothed)` batches of shape
`(batch_size, image_size, image_size, 3)`. The datasets repeat forever: train with
`steps_per_epoch`. Files that cannot be decoded are skipped (with a TensorFlow warning).
`seed` seeds the shuffling of the files; crops and flips follow TensorFlow's global seed.
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

from training.conventions import TANH_RANGE, check_color_order, from_value_range, swap_channels, to_value_range
from training.edges import smooth_edges
from training.imaging import TRAINING_IMAGE_SUFFIXES, list_images


def check_sizes(image_size, batch_size, load_size=None):
    """Validates the pipeline sizes; returns `load_size` with its default (`image_size`) applied."""
    if int(image_size) != image_size or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    load_size = image_size if load_size is None else load_size
    if int(load_size) != load_size or load_size < image_size:
        raise ValueError(f"load_size must be an integer >= image_size ({image_size}), got {load_size!r}")
    return int(load_size)


def image_files(folder, what="images"):
    """The image files of `folder` as strings; `ValueError` if it is missing or has none."""
    paths = list_images(folder, TRAINING_IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"{folder}: no {what} found ({', '.join(TRAINING_IMAGE_SUFFIXES)})")
    return [str(path) for path in paths]


def paired_files(cartoon_paths, smoothed_dir):
    """`(cartoons, smoothed)`: the frames that have an edge-smoothed copy in `smoothed_dir` (same
    file name stem, as `prepare` writes them), and those copies. Frames without one are left out
    with a warning (e.g. a frame `prepare` could not read); none at all is a `ValueError`."""
    by_stem = {}
    for path in list_images(smoothed_dir, TRAINING_IMAGE_SUFFIXES):
        by_stem.setdefault(path.stem, path)
    paired = [path for path in cartoon_paths if Path(path).stem in by_stem]
    missing = len(cartoon_paths) - len(paired)
    if not paired:
        raise ValueError(
            f"{smoothed_dir}: no edge-smoothed copies of the cartoon frames (run `python -m training prepare`)"
        )
    if missing:
        example = next(Path(path).name for path in cartoon_paths if Path(path).stem not in by_stem)
        print(
            f"warning: {missing} cartoon frames have no edge-smoothed copy in {smoothed_dir} (e.g. {example}); left out"
        )
    return paired, [str(by_stem[Path(path).stem]) for path in paired]


def decode(path):
    """Reads an image file as a float32 RGB tensor of 0..255 values."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return tf.cast(image, tf.float32)


def shorter_side_shape(image, size):
    """The `(height, width)` that makes the shorter side of `image` `size` pixels."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    new_shape = tf.round(shape * (size / tf.reduce_min(shape)))
    return tf.maximum(tf.cast(new_shape, tf.int32), size)


def resize(image, shape):
    return tf.image.resize(image, shape, method="bilinear", antialias=True)


def to_model_range(image, color_order):
    """0..255 RGB -> [-1, 1] in `color_order`."""
    return swap_channels(to_value_range(image, TANH_RANGE), color_order)


def to_uint8_rgb(images, color_order):
    """[-1, 1] images in `color_order` (a NumPy array or tensor) -> uint8 RGB NumPy array."""
    pixels = from_value_range(swap_channels(np.asarray(images, dtype=np.float32), color_order), TANH_RANGE)
    return np.clip(np.round(pixels), 0, 255).astype(np.uint8)


def random_crop_and_flip(image, image_size):
    """A random `image_size` square of `image`, flipped left-right half of the time. No op seeds:
    with `tf.random.set_seed`, TensorFlow derives a different one for each op."""
    channels = image.shape[-1]
    image = tf.image.random_crop(image, [image_size, image_size, channels])
    return tf.image.random_flip_left_right(image)


def finish(dataset, batch_size):
    """Skips undecodable files, repeats forever, batches, prefetches.

    Errors are dropped *before* repeating, so a folder of only broken files ends the dataset
    instead of looping on errors forever.
    """
    dataset = dataset.ignore_errors(log_warning=True).repeat()
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def photo_dataset(photos_dir, image_size=256, batch_size=8, load_size=None, color_order="RGB", seed=None):
    """Batches of randomly cropped and flipped photos, `(batch_size, image_size, image_size, 3)`."""
    load_size = check_sizes(image_size, batch_size, load_size)
    check_color_order(color_order)
    paths = image_files(photos_dir, "photos")

    def load(path):
        image = decode(path)
        image = resize(image, shorter_side_shape(image, load_size))
        return to_model_range(random_crop_and_flip(image, image_size), color_order)

    dataset = tf.data.Dataset.from_tensor_slices(paths).shuffle(len(paths), seed=seed)
    return finish(dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE), batch_size)


def smooth_on_the_fly(image):
    """Edge-smooths a 0..255 float RGB tensor with `training.edges.smooth_edges` (NumPy, OpenCV)."""
    as_uint8 = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
    smoothed = tf.numpy_function(smooth_edges, [as_uint8], tf.uint8, stateful=False)
    smoothed.set_shape(image.shape)
    return tf.cast(as_uint8, tf.float32), tf.cast(smoothed, tf.float32)


def cartoon_dataset(
    cartoons_dir, smoothed_dir=None, image_size=256, batch_size=8, load_size=None, color_order="RGB", seed=None
):
    """Batches of `(cartoons, smoothed)`: cartoon frames and their edge-smoothed copies, with the
    same crop and flip. `smoothed_dir` holds the output of `prepare` (frames are paired by file
    name stem); without it, frames are edge-smoothed on the fly, after resizing."""
    load_size = check_sizes(image_size, batch_size, load_size)
    check_color_order(color_order)
    cartoon_paths = image_files(cartoons_dir, "cartoon frames")

    def load(cartoon_path, smoothed_path):
        cartoon = decode(cartoon_path)
        shape = shorter_side_shape(cartoon, load_size)
        cartoon = resize(cartoon, shape)
        if smoothed_dir is None:
            cartoon, smoothed = smooth_on_the_fly(cartoon)
        else:
            smoothed = resize(decode(smoothed_path), shape)
        pair = random_crop_and_flip(tf.concat([cartoon, smoothed], axis=-1), image_size)
        return to_model_range(pair[..., :3], color_order), to_model_range(pair[..., 3:], color_order)

    if smoothed_dir is None:
        smoothed_paths = cartoon_paths  # a placeholder, never read
    else:
        cartoon_paths, smoothed_paths = paired_files(cartoon_paths, smoothed_dir)
    dataset = tf.data.Dataset.from_tensor_slices((cartoon_paths, smoothed_paths))
    dataset = dataset.shuffle(len(cartoon_paths), seed=seed)
    return finish(dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE), batch_size)


def training_dataset(
    photos_dir,
    cartoons_dir,
    smoothed_dir=None,
    image_size=256,
    batch_size=8,
    load_size=None,
    color_order="RGB",
    seed=None,
):
    """Batches of `(photos, cartoons, smoothed)` for `CartoonGAN.fit`; repeats forever."""
    photos = photo_dataset(photos_dir, image_size, batch_size, load_size, color_order, seed)
    cartoons = cartoon_dataset(cartoons_dir, smoothed_dir, image_size, batch_size, load_size, color_order, seed)
    dataset = tf.data.Dataset.zip(photos, cartoons)
    return dataset.map(lambda photo, pair: (photo, pair[0], pair[1])).prefetch(tf.data.AUTOTUNE)


def sample_photo_batch(photos_dir, count, image_size, color_order="RGB"):
    """The first `count` photos of `photos_dir`, resized and center-cropped to `image_size`
    squares: a fixed NumPy batch in [-1, 1] for sample grids."""
    check_sizes(image_size, 1)
    check_color_order(color_order)
    if count < 1:
        raise ValueError(f"count must be positive, got {count!r}")
    images = []
    for path in image_files(photos_dir, "photos")[:count]:
        image = decode(path)
        image = resize(image, shorter_side_shape(image, image_size))
        image = tf.image.resize_with_crop_or_pad(image, image_size, image_size)
        images.append(to_model_range(image, color_order))
    return tf.stack(images).numpy()
