import numpy as np
import pytest
import reference_cartoongan as reference

from training.layers import InstanceNormalization, ReflectionPadding2D
from training.models import (
    GENERATOR_PARAMETERS,
    build_discriminator,
    build_generator,
    generator_output_size,
)


@pytest.fixture(scope="module")
def generator():
    return build_generator()


def test_generator_has_the_published_parameter_count(generator):
    assert generator.count_params() == GENERATOR_PARAMETERS == 11_129_667


@pytest.mark.parametrize("height, width", [(5, 5), (5, 7), (37, 53), (64, 48), (101, 30)])
def test_generator_output_size_follows_the_published_network(generator, height, width):
    output = np.asarray(generator(np.zeros((1, height, width, 3), "float32")))
    expected = (1, generator_output_size(height), generator_output_size(width), 3)
    assert output.shape == expected
    assert expected[1] - height in range(4) and expected[1] % 4 == 0
    assert np.all(np.abs(output) <= 1.0)


def test_generator_output_size_rejects_nonpositive_sizes():
    with pytest.raises(ValueError, match="positive"):
        generator_output_size(0)


def test_generator_layers_carry_the_published_tensor_names(generator):
    names = {layer.name for layer in generator.layers if layer.weights}
    assert {"conv01_1", "conv11_2", "deconv01_1", "deconv02_2", "deconv03_1", "in01_1", "in13_1"} <= names
    # 21 convs (1 + 4 down + 16 residual), 5 on the up path, 21 instance norms: 94 published tensors
    assert len(names) == 21 + 5 + 21


def test_reflection_padding_mirrors_without_repeating_the_edge():
    x = np.arange(2 * 4 * 5 * 3, dtype="float32").reshape(2, 4, 5, 3)
    padded = np.asarray(ReflectionPadding2D(2)(x))
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect"))
    with pytest.raises(ValueError, match="positive"):
        ReflectionPadding2D(0)


def test_instance_normalization_normalizes_each_channel_of_each_image():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=(2, 6, 7, 4)).astype("float32")
    layer = InstanceNormalization()
    layer.build(x.shape)
    layer.set_weights([np.array([1, 2, 3, 4], "float32"), np.array([0, 1, 0, -1], "float32")])
    got = np.asarray(layer(x))
    expected = np.stack(
        [
            reference.instance_norm(image.transpose(2, 0, 1).astype(np.float64), *map(np.float64, layer.get_weights()))
            for image in x
        ]
    ).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert layer.epsilon == 1e-9
    with pytest.raises(ValueError, match="epsilon"):
        InstanceNormalization(epsilon=-1)


def test_upsampling_reproduces_pytorch_conv_transpose(generator):
    """deconv01_1 + its crop must equal ConvTranspose2d(3, stride 2, padding 1, output_padding 1)."""
    import keras

    rng = np.random.default_rng(2)
    layer = generator.get_layer("deconv01_1")
    crop = generator.get_layer("crop_deconv01_1")
    torch_weight = rng.normal(size=(256, 128, 3, 3))  # PyTorch (in, out, kh, kw)
    bias = rng.normal(size=128)
    x = rng.normal(size=(1, 5, 7, 256)).astype("float32")
    probe = keras.Sequential(
        [
            keras.Input((None, None, 256)),
            layer.__class__.from_config(layer.get_config()),
            crop.__class__.from_config(crop.get_config()),
        ]
    )
    probe.layers[0].set_weights([np.transpose(torch_weight, (2, 3, 1, 0)).astype("float32"), bias.astype("float32")])
    got = np.asarray(probe(x))[0]
    expected = reference.conv_transpose2d(x[0].transpose(2, 0, 1).astype(np.float64), torch_weight, bias)
    assert got.shape == (10, 14, 128)
    np.testing.assert_allclose(got, expected.transpose(1, 2, 0), atol=1e-3)


def test_discriminator_is_the_paper_network():
    discriminator = build_discriminator()
    convs = [layer for layer in discriminator.layers if layer.__class__.__name__ == "Conv2D"]
    norms = [layer.name for layer in discriminator.layers if isinstance(layer, InstanceNormalization)]
    assert [conv.filters for conv in convs] == [32, 64, 128, 128, 256, 256, 1]
    assert [conv.strides for conv in convs] == [(1, 1), (2, 2), (1, 1), (2, 2), (1, 1), (1, 1), (1, 1)]
    assert norms == ["in3", "in5", "in6"]
    leaky = [layer for layer in discriminator.layers if layer.__class__.__name__ == "LeakyReLU"]
    assert len(leaky) == 6 and all(abs(layer.negative_slope - 0.2) < 1e-9 for layer in leaky)
    patches = np.asarray(discriminator(np.zeros((2, 64, 96, 3), "float32")))
    assert patches.shape == (2, 16, 24, 1)
