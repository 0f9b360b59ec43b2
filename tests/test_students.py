"""The student networks, their cost counter, and the picture-quality measures."""

import math

import keras
import numpy as np
import pytest
from keras import layers

from training.inference import compile_generator, generator_flops
from training.layers import FeatureModulation, NearestUpSampling2D
from training.models import build_generator, generator_output_size
from training.quality import MAX_PSNR_DB, SSIM_C1, colour_fit, psnr, shift_agreement, ssim
from training.saving import make_metadata
from training.students import (
    ARCHITECTURES,
    build_student,
    context_size_of,
    context_thumbnail,
    count_multiply_adds,
    receptive_field,
    single_style,
    tile_overlap,
)
from training.stylize import Stylizer
from training.tiling import stitch


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


def test_a_context_branch_costs_the_same_at_every_picture_size():
    """Its convolutions run on the context's fixed 64 x 64, whatever the picture's size."""
    plain, context = build_student(("s",), "sep-m"), build_student(("s",), "sep-m", context_size=64)
    extra = [count_multiply_adds(context, side, side) - count_multiply_adds(plain, side, side) for side in (128, 256)]
    # context1..3: 3x3 stride-2 convolutions 3->16 at 32², 16->32 at 16², 32->64 at 8²
    assert extra == [32 * 32 * 9 * 3 * 16 + 16 * 16 * 9 * 16 * 32 + 8 * 8 * 9 * 32 * 64] * 2


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
    with pytest.raises(ValueError, match="'nearest' only"):
        NearestUpSampling2D(2, interpolation="bilinear")
    copy = keras.layers.deserialize(keras.layers.serialize(NearestUpSampling2D((3, 2), name="up")))
    assert type(copy) is NearestUpSampling2D and copy.size == (3, 2) and copy.interpolation == "nearest"
    traced = _traced_operations(build_student(("s",), "sep-s"))
    assert "Tile" not in traced and "ConcatV2" in traced
    inputs = keras.Input((None, None, 3))
    assert "Tile" in _traced_operations(keras.Model(inputs, layers.UpSampling2D(2)(inputs)))


def _with_context_weights(student, seed=0):
    """`student` with random weights in its context branch's last layer (it starts at zero)."""
    film = student.get_layer("context_film")
    rng = np.random.default_rng(seed)
    film.set_weights([rng.normal(0, 1.0, w.shape).astype(np.float32) for w in film.get_weights()])
    return student


def test_a_context_branch_starts_neutral_and_then_follows_the_whole_picture():
    """A new context branch changes nothing until it learns (so it can be added to trained
    students); once it has weights, the context changes the picture."""
    plain = build_student(("s",), "sep-s")
    seeing = build_student(("s",), "sep-s", context_size=16)
    assert context_size_of(plain) == 0 and context_size_of(seeing) == 16
    for layer in plain.layers:
        if layer.weights:
            seeing.get_layer(layer.name).set_weights(layer.get_weights())
    rng = np.random.default_rng(2)
    image = rng.uniform(-1, 1, (1, 32, 40, 3)).astype(np.float32)
    dark, light = np.full((1, 16, 16, 3), -0.8, np.float32), np.full((1, 16, 16, 3), 0.8, np.float32)
    np.testing.assert_allclose(seeing.predict_on_batch([image, dark]), plain.predict_on_batch(image), atol=1e-6)
    _with_context_weights(seeing)
    changed = np.abs(seeing.predict_on_batch([image, dark]) - seeing.predict_on_batch([image, light])).max()
    assert changed > 1e-3


def test_feature_modulation_needs_parameters_for_every_channel():
    x, parameters = keras.Input((None, None, 4)), keras.Input((10,))
    FeatureModulation(2)([x, parameters])  # columns 2 to 9: four scales, four shifts
    with pytest.raises(ValueError, match="need a row of at least 11, got 10"):
        FeatureModulation(3)([x, parameters])


def test_context_thumbnail_averages_the_whole_picture():
    picture = np.zeros((30, 60, 3), np.uint8)
    picture[:, 30:] = 200  # left half black, right half grey
    thumbnail = context_thumbnail(picture, 8)
    assert thumbnail.shape == (8, 8, 3) and thumbnail.dtype == np.uint8
    assert thumbnail[:, :4].max() == 0 and thumbnail[:, 4:].min() == 200
    with pytest.raises(ValueError, match="at least 8"):
        context_thumbnail(picture, 4)


@pytest.mark.slow
def test_a_context_student_tiled_equals_untiled():
    """Every tile is given the context of the whole picture (`Stylizer`), so tiles equal the
    untiled picture; with each tile's own context they would not (the check can fail)."""
    student = _with_context_weights(build_student(("s",), "sep-s", context_size=16), seed=3)
    metadata = make_metadata("s", "BGR") | {"receptive_field": receptive_field("sep-s")}
    rng = np.random.default_rng(4)
    picture = np.clip(rng.normal(0, 40, (150, 230, 3)).cumsum(axis=1) % 256, 0, 255).astype(np.uint8)
    picture[:, 150:] //= 3  # a dark right part: a tile there has another context than the picture
    untiled = Stylizer(student, metadata, tile=0)
    whole = untiled(picture)
    tiled = Stylizer(student, metadata, tile=128)
    assert tiled.overlap == tile_overlap("sep-s")
    assert np.abs(tiled(picture).astype(int) - whole).max() <= 1

    each_its_own = stitch(untiled, picture, 128, tiled.overlap, 4)
    assert np.abs(each_its_own.astype(int) - whole).max() > 4
