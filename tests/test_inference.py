"""`training.inference`: the compiled generator gives `model(x)`'s numbers; the FLOP count is right."""

import keras
import numpy as np
import pytest

from training.inference import compile_generator, generator_flops
from training.models import build_generator


@pytest.fixture(scope="module")
def hayao(hayao_weights_dir):
    from training.pretrained import import_published

    return import_published("hayao", hayao_weights_dir)[0]


def test_compiled_generator_matches_the_model_at_odd_sizes(hayao):
    generate = compile_generator(hayao)
    rng = np.random.default_rng(0)
    for shape in [(1, 21, 34, 3), (1, 40, 40, 3), (2, 13, 9, 3), (1, 37, 6, 3)]:
        images = rng.uniform(-1, 1, shape).astype(np.float32)
        result = generate(images)
        assert isinstance(result, np.ndarray) and result.dtype == np.float32
        np.testing.assert_allclose(result, np.asarray(hayao(images)), atol=1e-4, err_msg=str(shape))


def test_one_trace_serves_every_size(hayao):
    generate = compile_generator(hayao)
    for size in (12, 20, 28, 36):
        generate(np.zeros((1, size, size + 4, 3), np.float32))
    assert generate.function.experimental_get_tracing_count() == 1


def test_accepts_float64_and_rejects_bad_shapes(hayao):
    generate = compile_generator(hayao)
    assert generate(np.zeros((1, 8, 8, 3))).shape == (1, 8, 8, 3)
    for shape in [(8, 8, 3), (1, 8, 8, 4)]:
        with pytest.raises(ValueError, match="expected float32 images of shape"):
            generate(np.zeros(shape, np.float32))


def counted_flops(model, height, width):
    """2 x multiply-adds of the model's convs, from the shapes of a real forward pass."""
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D | keras.layers.Conv2DTranspose)]
    probe = keras.Model(model.input, [layer.input for layer in convs] + [layer.output for layer in convs])
    shapes = [tuple(t.shape) for t in probe(np.zeros((1, height, width, 3), np.float32))]
    inputs, outputs = shapes[: len(convs)], shapes[len(convs) :]
    total = 0
    for layer, (_, in_h, in_w, _), (_, out_h, out_w, _) in zip(convs, inputs, outputs, strict=True):
        pixels = in_h * in_w if isinstance(layer, keras.layers.Conv2DTranspose) else out_h * out_w
        total += pixels * int(np.prod(layer.kernel.shape))
    return 2 * total


@pytest.mark.slow
def test_generator_flops_matches_the_layers():
    model = build_generator()
    for height, width in [(16, 16), (21, 34), (7, 5)]:
        assert generator_flops(height, width) == counted_flops(model, height, width), (height, width)
    assert generator_flops(512, 512) == 435_066_765_312
    with pytest.raises(ValueError):
        generator_flops(0, 5)
