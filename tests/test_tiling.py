"""Tiled stylization (training/tiling.py): the grid, receptive fields, the statistics/tile split of
generators with instance normalization, tiled == untiled, invisible seams, and a 4096x3072 photo
through the command line under a memory ceiling."""

import keras
import numpy as np
import pytest
from PIL import Image

from modelzoo.testing import tiny_generator, tiny_metadata
from tests.tiling_helpers import cli_peak_rss, local_generator, measured_receptive_field
from training import tiling
from training.cli import main
from training.imaging import from_model_output, to_model_input
from training.models import build_generator
from training.saving import make_metadata, save_generator
from training.stylize import Stylizer


def synthetic_picture(height, width):
    """Gradients, diagonal stripes and a disc with hard edges: every tile border crosses smooth
    ramps and sharp edges (none of them aligned with the tile grid)."""
    y, x = np.mgrid[0:height, 0:width]
    disc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (height / 3) ** 2
    stripes = (x + 2 * y) % 23 < 5
    return np.stack(
        [255 * x / width, np.where(stripes, 230, 40), np.where(disc, 240, 255 * y / height)], axis=-1
    ).astype(np.uint8)


@pytest.fixture(scope="module")
def local_path(tmp_path_factory):
    """The tile-friendly network saved without `receptive_field` (it is computed: 14)."""
    path = tmp_path_factory.mktemp("local") / "local.keras"
    return save_generator(local_generator(), path, make_metadata("local", "BGR"))


# The grid.


@pytest.mark.parametrize(
    "length, tile, overlap", [(1000, 256, 24), (4032, 1024, 88), (3024, 512, 88), (257, 256, 8), (96, 256, 8)]
)
def test_windows_fit_the_tile_start_on_the_multiple_and_cores_partition_the_side(length, tile, overlap):
    windows = tiling.axis_windows(length, tile, overlap, 4)
    assert windows[0][2] == 0 and windows[-1][3] == length
    for i, (start, stop, core_start, core_stop) in enumerate(windows):
        assert stop - start <= tile and start % 4 == 0 and core_stop > core_start
        if i:
            assert core_start == windows[i - 1][3] and core_start - start == overlap
        if i < len(windows) - 1:
            assert stop - core_stop == overlap
    assert len(windows) == (1 if length <= tile else -(-(length - 2 * overlap) // (tile - 2 * overlap)))


def test_the_grid_is_the_phones_number_for_number():
    # The same figures are expected by miniprogram/test/tiling.test.js.
    assert tiling.axis_windows(4032, 1024, 88, 4) == [
        (0, 944, 0, 856),
        (768, 1716, 856, 1628),
        (1540, 2488, 1628, 2400),
        (2312, 3260, 2400, 3172),
        (3084, 4032, 3172, 4032),
    ]
    assert len(tiling.tile_grid(300, 500, 256, 24, 4)) == 2 * 3


@pytest.mark.parametrize(
    "tile, overlap, message",
    [(96, 48, "at least 100"), (250, 8, "multiples of 4"), (256, 8.5, "whole number"), (256, -4, "overlap >= 0")],
)
def test_bad_tilings_are_refused_with_a_reason(tile, overlap, message):
    with pytest.raises(ValueError, match=message):
        tiling.check_tiling(tile, overlap, 4)


def test_stitch_puts_every_core_back_in_place():
    picture = synthetic_picture(150, 203)
    sizes = []
    out = tiling.stitch(lambda window: sizes.append(window.shape[:2]) or window.copy(), picture, 64, 8, 4)
    np.testing.assert_array_equal(out, picture)
    assert len(sizes) == len(tiling.tile_grid(150, 203, 64, 8, 4)) and max(max(s) for s in sizes) <= 64
    with pytest.raises(ValueError, match="gave"):
        tiling.stitch(lambda window: window[1:], picture, 64, 8, 4)


# Receptive fields.


def test_receptive_field_is_an_upper_bound_and_tight():
    local = local_generator()
    assert tiling.receptive_field(local) == 14
    assert measured_receptive_field(lambda x: local(x), 64) == 14
    tiny = tiny_generator()
    statistics_model, tile_model = tiling.statistics_models(tiny)
    statistics = np.asarray(statistics_model(np.zeros((1, 48, 48, 3), "float32")))
    assert tiling.receptive_field(tiny, given_statistics=True) == 10
    assert measured_receptive_field(lambda x: tile_model([x, statistics]), 48) == 10


@pytest.mark.slow
def test_published_generator_receptive_field():
    generator = build_generator()
    assert tiling.receptive_field(generator, given_statistics=True) == 85
    statistics_model, tile_model = tiling.statistics_models(generator)
    rng = np.random.default_rng(1)
    statistics = np.asarray(statistics_model(rng.uniform(-1, 1, (1, 64, 64, 3)).astype("float32")))
    assert 80 <= measured_receptive_field(lambda x: tile_model([x, statistics]), 200) <= 85


def test_layers_that_cannot_be_tiled_are_named():
    with pytest.raises(ValueError, match="in01.*statistics of the whole picture"):
        tiling.receptive_field(tiny_generator())
    inputs = keras.Input((None, None, 3))
    same_stride = keras.Model(inputs, keras.layers.Conv2D(3, 3, strides=2, padding="same", name="down")(inputs))
    with pytest.raises(ValueError, match="'down'.*depends on the picture's size"):
        tiling.receptive_field(same_stride)
    pooled = keras.layers.GlobalAveragePooling2D(keepdims=True, name="pool")(inputs)
    with pytest.raises(ValueError, match="'pool'.*receptive_field"):
        tiling.receptive_field(keras.Model(inputs, keras.layers.Add()([inputs, pooled])))


def test_metadata_receptive_field_is_honoured_and_rounded_to_the_multiple():
    assert tiling.overlap_of(local_generator(), {"receptive_field": 30}, 4) == 32
    assert tiling.overlap_of(local_generator(), {}, 4) == 16
    with pytest.raises(ValueError, match="receptive_field"):
        tiling.overlap_of(local_generator(), {"receptive_field": -1}, 4)


# The statistics route.


def test_tile_model_with_the_pictures_own_statistics_is_the_generator():
    generator = tiny_generator(seed=3)
    statistics_model, tile_model = tiling.statistics_models(generator)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 37, 50, 3)).astype("float32")
    statistics = np.asarray(statistics_model(x))
    assert statistics.shape == (
        1,
        2 * sum(int(layer.scale.shape[0]) for layer in tiling.normalization_layers(generator)),
    )
    np.testing.assert_allclose(tile_model([x, statistics]), generator(x), atol=1e-5)
    other = np.asarray(statistics_model(x[:, :20, :20]))
    assert np.abs(np.asarray(tile_model([x, other])) - np.asarray(generator(x))).max() > 1e-2
    with pytest.raises(ValueError, match="no instance normalization"):
        tiling.statistics_models(local_generator())


# Tiled against untiled.


def test_a_local_network_tiled_equals_untiled(local_path):
    picture = synthetic_picture(203, 301)
    whole = Stylizer.load(local_path, tile=0)(picture)
    tiled = Stylizer.load(local_path, tile=64)
    assert tiled.overlap == 16
    difference = np.abs(tiled(picture).astype(int) - whole).max()
    assert difference <= 1
    # The test can fail: with too little overlap the tile borders show.
    short = Stylizer(local_generator(), make_metadata("local", "BGR") | {"receptive_field": 4}, tile=64)
    assert np.abs(short(picture).astype(int) - whole).max() > 8


def test_seams_are_invisible_with_statistics_of_a_downscaled_copy(tmp_path):
    """A generator with instance normalization, tiled with the statistics of a downscaled copy,
    gives the picture that the tile model gives in one piece with the same statistics: there is
    no tile border to see. With too little overlap, the borders show, and only there."""
    path = save_generator(tiny_generator(seed=5), tmp_path / "tiny.keras", tiny_metadata("tiny"))
    picture = synthetic_picture(176, 420)
    tile = 96
    tiled = Stylizer.load(path, tile=tile)
    statistics_model, tile_model = tiling.statistics_models(tiled.model)
    small = to_model_input(tiling.statistics_picture(picture, tile), "BGR", (-1, 1))
    statistics = np.asarray(statistics_model(small))
    in_one_piece = np.asarray(tile_model([to_model_input(picture, "BGR", (-1, 1)), statistics]))
    in_one_piece = from_model_output(in_one_piece, "BGR", (-1, 1)).astype(int)
    assert np.abs(tiled(picture).astype(int) - in_one_piece).max() <= 1

    bare = Stylizer(tiled.model, tiled.metadata | {"receptive_field": 0}, tile=tile)
    error = np.abs(bare(picture).astype(int) - in_one_piece).max(axis=2)
    borders = [core for _, _, core, _ in tiling.axis_windows(420, tile, 0, 4)[1:]]
    near = np.zeros(420, bool)
    for border in borders:
        near[border - tiled.overlap : border + tiled.overlap] = True
    assert error.max() > 8
    assert error[:, near].mean() > 5 * error[:, ~near].mean()


# The command line.


def test_tile_option(local_path, tmp_path, capsys):
    Image.fromarray(synthetic_picture(90, 130)).save(tmp_path / "photo.png")
    for tile in ("0", "64"):
        assert (
            main(
                [
                    "stylize",
                    "--model",
                    str(local_path),
                    "--input",
                    str(tmp_path / "photo.png"),
                    "--output",
                    str(tmp_path / tile),
                    "--tile",
                    tile,
                ]
            )
            == 0
        )
    untiled, tiled = (np.asarray(Image.open(tmp_path / t / "photo.png")).astype(int) for t in ("0", "64"))
    assert np.abs(untiled - tiled).max() <= 1
    for tile, message in (("28", "too small"), ("66", "multiples of 4"), ("-4", "--tile")):
        assert (
            main(
                [
                    "stylize",
                    "--model",
                    str(local_path),
                    "--input",
                    str(tmp_path / "photo.png"),
                    "--output",
                    str(tmp_path / "bad"),
                    "--tile",
                    tile,
                ]
            )
            == 2
        )
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_a_12_megapixel_photo_is_stylized_under_a_memory_ceiling(local_path, tmp_path):
    """4096x3072 through the command line in tiles of 512. The ceiling is measured here: the peak
    memory of the same command on a photo that fits in one tile, plus the photo and the result
    as uint8 pictures (and their PNG/JPEG codecs) plus 200 MB. Untiled, the same photo is over it."""
    big, small = tmp_path / "big.jpg", tmp_path / "small.jpg"
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 40, (3072, 4096, 1), dtype=np.uint8)
    Image.fromarray(synthetic_picture(3072, 4096) // 2 + noise).save(big, quality=90)
    Image.fromarray(synthetic_picture(384, 512)).save(small, quality=90)

    def stylize(photo, tile, output):
        return cli_peak_rss(
            [
                "stylize",
                "--model",
                str(local_path),
                "--input",
                str(photo),
                "--output",
                str(tmp_path / output),
                "--tile",
                str(tile),
            ]
        )

    one_tile = stylize(small, 512, "small")
    ceiling = one_tile + 4 * 4096 * 3072 * 3 + 200 * 2**20
    tiled = stylize(big, 512, "big")
    with Image.open(tmp_path / "big" / "big.png") as result:
        assert result.size == (4096, 3072)
    untiled = stylize(big, 0, "whole")
    print(
        f"peak RSS: one tile {one_tile / 2**20:.0f} MB, 4096x3072 tiled {tiled / 2**20:.0f} MB, "
        f"untiled {untiled / 2**20:.0f} MB, ceiling {ceiling / 2**20:.0f} MB"
    )
    assert tiled <= ceiling < untiled
