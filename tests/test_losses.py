"""The CartoonGAN losses (`training.losses`). VGG19 has random weights here: no download."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from training import losses

IMAGENET_MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)


@pytest.fixture(scope="module")
def extractor():
    keras.utils.set_random_seed(0)
    return losses.build_vgg_feature_extractor(weights=None)


def random_images(seed, shape=(2, 32, 32, 3)):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def test_vgg_input_is_caffe_bgr_with_the_mean_subtracted():
    rgb = random_images(1)
    expected = (rgb[..., ::-1] + 1.0) * 127.5 - IMAGENET_MEAN_BGR
    np.testing.assert_allclose(np.asarray(losses.to_vgg_input(rgb, "RGB")), expected, atol=1e-4)
    # A BGR generator's images reach VGG exactly as the same picture in RGB does.
    np.testing.assert_allclose(
        np.asarray(losses.to_vgg_input(rgb[..., ::-1], "BGR")), np.asarray(losses.to_vgg_input(rgb, "RGB")), atol=1e-5
    )
    with pytest.raises(ValueError, match="color_order"):
        losses.to_vgg_input(rgb, "rgb")


def test_the_extractor_is_a_frozen_vgg19_cut_at_block4_conv4(extractor):
    assert extractor.layers[-1].name == "block4_conv4"
    assert extractor.trainable_weights == [] and extractor.count_params() > 10_000_000
    assert tuple(extractor(np.zeros((1, 32, 32, 3), np.float32)).shape) == (1, 4, 4, 512)


def test_the_extractor_loads_weights_from_a_file(extractor, tmp_path):
    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    path = tmp_path / "vgg19_notop.weights.h5"
    vgg.save_weights(path)
    loaded = losses.build_vgg_feature_extractor(weights=path)
    probe = losses.to_vgg_input(random_images(2, (1, 16, 16, 3)))
    expected = keras.Model(vgg.input, vgg.get_layer("block4_conv4").output)(probe)
    np.testing.assert_allclose(np.asarray(loaded(probe)), np.asarray(expected), rtol=1e-5, atol=1e-6)
    assert not np.allclose(np.asarray(extractor(probe)), np.asarray(expected))


def test_a_failed_imagenet_download_says_what_to_do(monkeypatch):
    def no_internet(*args, **kwargs):
        raise Exception("URL fetch failure: Name or service not known")

    # Stands in for the download: nothing is fetched.
    monkeypatch.setattr(keras.src.applications.vgg19.file_utils, "get_file", no_internet)
    with pytest.raises(ValueError, match="vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        losses.build_vgg_feature_extractor(weights="imagenet")


@pytest.mark.parametrize("weights", ["no/such/file.h5", 123])
def test_bad_vgg_weights_are_refused(weights):
    with pytest.raises(ValueError, match="VGG19 weights"):
        losses.build_vgg_feature_extractor(weights=weights)


def test_content_loss_is_an_l1_distance_of_features_with_no_gradient_to_the_photo(extractor):
    photos, other = tf.constant(random_images(3)), tf.constant(random_images(4))
    assert float(losses.content_loss(extractor, photos, photos)) == 0.0
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([photos, other])
        loss = losses.content_loss(extractor, photos, other)
    assert float(loss) > 0
    features = extractor(losses.to_vgg_input(tf.concat([photos, other], 0)))
    expected = np.abs(features[2:] - features[:2]).mean()
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    assert not np.asarray(tape.gradient(loss, photos)).any()
    assert float(tf.reduce_sum(tf.abs(tape.gradient(loss, other)))) > 0


def test_least_squares_losses():
    ones, zeros = np.ones((2, 8, 8, 1), np.float32), np.zeros((2, 8, 8, 1), np.float32)
    assert float(losses.discriminator_loss(ones, zeros, zeros, "lsgan")) == 0.0
    assert float(losses.discriminator_loss(zeros, ones, ones, "lsgan")) == 3.0
    assert float(losses.generator_adversarial_loss(ones, "lsgan")) == 0.0
    assert float(losses.generator_adversarial_loss(zeros - 1, "lsgan")) == 4.0


def test_cross_entropy_losses_on_logits():
    logits = np.random.default_rng(5).normal(size=(3, 2, 8, 8, 1)).astype(np.float32)
    real, smoothed, generated = logits

    def softplus(x):
        return np.log1p(np.exp(x))

    # -log(sigmoid(x)) = softplus(-x); -log(1 - sigmoid(x)) = softplus(x).
    expected = softplus(-real).mean() + softplus(smoothed).mean() + softplus(generated).mean()
    np.testing.assert_allclose(float(losses.discriminator_loss(real, smoothed, generated, "bce")), expected, rtol=1e-5)
    np.testing.assert_allclose(
        float(losses.generator_adversarial_loss(generated, "bce")), softplus(-generated).mean(), rtol=1e-5
    )
    # A discriminator that tells cartoons apart better has a lower loss.
    assert float(losses.discriminator_loss(real + 2, smoothed - 2, generated - 2, "bce")) < expected


def test_an_unknown_adversarial_loss_is_refused():
    zeros = np.zeros((1, 4, 4, 1), np.float32)
    with pytest.raises(ValueError, match="adversarial loss"):
        losses.discriminator_loss(zeros, zeros, zeros, "wgan")
    with pytest.raises(ValueError, match="adversarial loss"):
        losses.generator_adversarial_loss(zeros, "hinge")
