"""The student networks, their cost counter, and the picture-quality measures."""

import math

import keras
import numpy as np
import pytest
from keras import layers

from training.inference import compile_generator, generator_flops
from training.layers import NearestUpSampling2D
from training.models import build_generator, generator_output_size
from training.quality import MAX_PSNR_DB, SSIM_C1, colour_fit, psnr, shift_agreement, ssim
from training.students import (
    ARCHITECTURES,
    build_student,
    count_multiply_adds,
    receptive_field,
    single_style,
    tile_overlap,
)


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_student_keeps_the_teacher_size_rule(architecture):
    student = build_student(("hayao",), architecture)
    for height, width in ((16, 16), (21, 34), (13, 9)):
        output = student.predict_on_batch(np.zeros((1, height, width, 3), np.float32))
        assert output.shape == (1, generator_output_size(height), generator_output_size(width), 3)
        assert np.all(np.abs(output) <= 1)


@pytest.mark.slow
def test_one_style_cut_shares_the_weights_of_the_multi_style_student():
    student = build_student(("hayao", "paprika"), "sep-s")
    image = np.random.default_rng(0).uniform(-1, 1, (1, 24, 20, 3)).astype(np.float32)
    both = student.predict_on_batch(image)
    for style in ("hayao", "paprika"):
        np.testing.assert_allclose(single_style(student, style).predict_on_batch(image), both[style], atol=1e-6)
    assert single_style(student, "hayao").count_params() < student.count_params()
    with pytest.raises(ValueError, match="no style 'shinkai'"):
        single_style(student, "shinkai")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="architecture must be one of"):
        build_student(("a",), "huge")
    with pytest.raises(ValueError, match="distinct"):
        build_student(("a", "a"))


def test_multiply_adds_of_the_teacher_match_the_analytic_count():
    assert count_multiply_adds(build_generator(), 256, 256) * 2 == pytest.approx(generator_flops(256, 256), rel=1e-3)


def test_students_are_an_order_of_magnitude_cheaper_than_the_teacher():
    teacher = count_multiply_adds(build_generator(), 256, 256)
    for architecture in ARCHITECTURES:
        assert count_multiply_adds(build_student(("s",), architecture), 256, 256) * 10 <= teacher


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_a_pixel_changes_nothing_beyond_the_receptive_field(architecture):
    """The tiling contract: outputs further than `receptive_field` from a changed input pixel keep
    their value exactly, and the tile overlap covers the field."""
    student = build_student(("s",), architecture)
    rng = np.random.default_rng(1)
    size, centre = 160, 80
    image = rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
    changed = image.copy()
    changed[0, centre, centre] = -changed[0, centre, centre] + 0.5
    difference = np.abs(student.predict_on_batch(changed) - student.predict_on_batch(image)).max(axis=(0, 3))
    rows, columns = np.nonzero(difference > 0)
    reach = max(np.abs(rows - centre).max(), np.abs(columns - centre).max())
    radius = receptive_field(architecture)
    assert 0 < reach <= radius
    assert tile_overlap(architecture) >= radius and tile_overlap(architecture) % 4 == 0


def test_psnr_known_answers():
    picture = np.full((8, 8, 3), 100, np.uint8)
    assert psnr(picture, picture) == MAX_PSNR_DB
    assert psnr(picture + 1, picture) == pytest.approx(20 * math.log10(255), abs=1e-9)
    with pytest.raises(ValueError, match="one shape"):
        psnr(picture, picture[:4])


def test_ssim_known_answers():
    rng = np.random.default_rng(2)
    picture = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert ssim(picture, picture) == pytest.approx(1.0)
    # Two flat pictures: only the luminance term differs from 1.
    a, b = np.full((32, 32, 3), 60, np.uint8), np.full((32, 32, 3), 120, np.uint8)
    assert ssim(a, b) == pytest.approx((2 * 60 * 120 + SSIM_C1) / (60**2 + 120**2 + SSIM_C1))
    assert ssim(picture, 255 - picture) < 0


def test_colour_fit_finds_a_whole_picture_colour_transform():
    rng = np.random.default_rng(4)
    picture = rng.integers(0, 100, (16, 20, 3), dtype=np.uint8)
    brighter = (2 * picture.astype(int) + 5).astype(np.uint8)  # an affine map: found exactly
    np.testing.assert_array_equal(colour_fit(picture, brighter), brighter)
    np.testing.assert_array_equal(colour_fit(picture, picture[..., ::-1]), picture[..., ::-1])
    unrelated = rng.integers(0, 256, picture.shape, dtype=np.uint8)  # no map: the fit is only closer
    assert psnr(colour_fit(picture, unrelated), unrelated) > psnr(picture, unrelated)


def test_shift_agreement_tells_a_generator_that_follows_the_grid():
    """A filter that follows the scene agrees with itself exactly when the photo moves; one that
    darkens every other column of its picture (a stride-2 grid) agrees on even moves only."""
    rng = np.random.default_rng(3)
    photo = rng.integers(0, 256, (24, 30, 3), dtype=np.uint8)

    def scene(rgb):
        return 255 - rgb

    def grid(rgb):
        picture = rgb.copy()
        picture[:, ::2] //= 2
        return picture

    assert shift_agreement(scene, photo, 1) == (MAX_PSNR_DB, pytest.approx(1.0))
    assert shift_agreement(grid, photo, 2) == (MAX_PSNR_DB, pytest.approx(1.0))
    moved_psnr, moved_ssim = shift_agreement(grid, photo, 1)
    assert moved_psnr < 20 and moved_ssim < 0.9
    with pytest.raises(ValueError, match="shift"):
        shift_agreement(scene, photo, 24)


def _traced_operations(model):
    """The TensorFlow operation types of `model`'s traced graph (what the exporters convert)."""
    return {op.type for op in compile_generator(model).function.get_concrete_function().graph.get_operations()}


def test_nearest_upsampling_is_keras_upsampling_without_a_tile():
    """The students' up-sampling gives Keras's numbers exactly, and traces to concatenations and
    reshapes, not the 5-D `Tile` of Keras's layer that TF.js's WASM backend is slow at."""
    rng = np.random.default_rng(5)
    for size in (2, (3, 2)):
        x = rng.normal(size=(2, 5, 7, 3)).astype(np.float32)
        np.testing.assert_array_equal(NearestUpSampling2D(size)(x), layers.UpSampling2D(size)(x))
    with pytest.raises(ValueError, match="channels_last"):
        NearestUpSampling2D(2, data_format="channels_first")
    copy = keras.layers.deserialize(keras.layers.serialize(NearestUpSampling2D((3, 2), name="up")))
    assert type(copy) is NearestUpSampling2D and copy.size == (3, 2) and copy.interpolation == "nearest"
    traced = _traced_operations(build_student(("s",), "sep-s"))
    assert "Tile" not in traced and "ConcatV2" in traced
    inputs = keras.Input((None, None, 3))
    assert "Tile" in _traced_operations(keras.Model(inputs, layers.UpSampling2D(2)(inputs)))
