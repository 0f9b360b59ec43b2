"""The CartoonGAN losses: VGG19 content loss and the adversarial losses on patch logits.

Content loss (paper eq. 3): the L1 distance between the VGG19 `block4_conv4` feature maps of
the generated image and of the photo, weighted by 10 in the generator's objective.

Input convention: our images are in [-1, 1], in the generator's channel order (`"RGB"`, or
`"BGR"` like the published weights). `keras.applications.vgg19.preprocess_input` expects RGB
values in 0..255 (it converts them to BGR and subtracts the ImageNet mean itself), so
`to_vgg_input` maps [-1, 1] to 0..255 and, for a BGR generator, reverses the channels to RGB
*before* calling it.
"""

import os
from pathlib import Path

import keras
from keras import ops

from training.conventions import TANH_RANGE, from_value_range, swap_channels

CONTENT_LAYER = "block4_conv4"
VGG19_NO_TOP_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
CONTENT_WEIGHT = 10.0
ADVERSARIAL_LOSSES = ("lsgan", "bce")


def build_vgg_feature_extractor(weights="imagenet", layer=CONTENT_LAYER):
    """A frozen VGG19 cut at `layer`: preprocessed images `(batch, h, w, 3)` in, feature maps out.

    `weights`: `"imagenet"` (Keras downloads the no-top file on first use and caches it in
    `~/.keras/models`), the path of such a `.h5` file, or `None` for random weights (tests).
    """
    is_file = isinstance(weights, (str, os.PathLike)) and Path(weights).is_file()
    if weights not in ("imagenet", None) and not is_file:
        raise ValueError(f"VGG19 weights must be 'imagenet', None or an existing .h5 file, got {weights!r}")
    weights = None if weights is None else str(weights)
    try:
        vgg = keras.applications.VGG19(include_top=False, weights=weights, input_shape=(None, None, 3))
    except Exception as error:  # Keras raises a bare Exception when the download fails
        if weights != "imagenet":
            raise
        raise ValueError(
            f"cannot get the VGG19 ImageNet weights ({error}); download {VGG19_NO_TOP_URL} "
            "on a machine with internet access and pass the file's path instead"
        ) from None
    try:
        output = vgg.get_layer(layer).output
    except ValueError:
        raise ValueError(f"VGG19 has no layer {layer!r}") from None
    extractor = keras.Model(vgg.input, output, name=f"vgg19_{layer}")
    extractor.trainable = False
    return extractor


def to_vgg_input(images, color_order="RGB"):
    """[-1, 1] images in `color_order` -> the input VGG19 was trained on (caffe-style BGR, mean
    subtracted), through `keras.applications.vgg19.preprocess_input`."""
    rgb = swap_channels(images, color_order)
    return keras.applications.vgg19.preprocess_input(from_value_range(rgb, TANH_RANGE))


def content_loss(feature_extractor, photos, generated, color_order="RGB"):
    """Mean absolute difference of the VGG features of `generated` and `photos` (unweighted).

    Both batches go through VGG in one call; the photo features carry no gradient.
    """
    batch = ops.shape(photos)[0]
    features = feature_extractor(to_vgg_input(ops.concatenate([photos, generated], axis=0), color_order))
    photo_features = ops.stop_gradient(features[:batch])
    return ops.mean(ops.abs(features[batch:] - photo_features))


def check_adversarial_loss(name):
    if name not in ADVERSARIAL_LOSSES:
        raise ValueError(f"adversarial loss must be one of {ADVERSARIAL_LOSSES}, got {name!r}")
    return name


def _distance(logits, target, name):
    """Mean loss of patch `logits` against a constant `target` (1: cartoon, 0: not a cartoon)."""
    if name == "lsgan":
        return ops.mean(ops.square(logits - target))
    labels = ops.full_like(logits, target)
    return ops.mean(keras.losses.binary_crossentropy(labels, logits, from_logits=True))


def discriminator_loss(real_logits, smoothed_logits, generated_logits, name="lsgan"):
    """Paper eq. 2 for the discriminator: real cartoons are cartoons; edge-smoothed cartoons and
    generated images are not. `name`: `"lsgan"` (least squares) or `"bce"` (cross-entropy)."""
    check_adversarial_loss(name)
    return (
        _distance(real_logits, 1.0, name)
        + _distance(smoothed_logits, 0.0, name)
        + _distance(generated_logits, 0.0, name)
    )


def generator_adversarial_loss(generated_logits, name="lsgan"):
    """The generator's adversarial loss: its images should be taken for cartoons."""
    check_adversarial_loss(name)
    return _distance(generated_logits, 1.0, name)
