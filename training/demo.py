"""`python -m training demo`: the main job on its embedded defaults.

Imports the four published styles (from the shared weights folder) into `models/`, stylizes a
few sample photos with each into `runs/demo/<style>/`, and writes `runs/demo/grid.jpg`, one row
per photo: the photo, then each style.
"""

from pathlib import Path

from PIL import Image, ImageDraw

from training import settings
from training.imaging import IMAGE_SUFFIXES, list_images, load_photo
from training.pretrained import STYLES, import_published
from training.saving import read_metadata, save_generator
from training.stylize import Stylizer, stylize_files

GRID_CELL_HEIGHT = 240


def ensure_imported(style, models_dir, weights_root):
    """The path of the style's generator in `models_dir`, importing it first if needed."""
    path = Path(models_dir) / f"{style}.keras"
    try:
        if read_metadata(path)["style"] == style:
            return path
    except (FileNotFoundError, ValueError):
        pass
    model, metadata = import_published(style, settings.published_weights_dir(style, weights_root))
    return save_generator(model, path, metadata)


def comparison_grid(rows, labels, cell_height=GRID_CELL_HEIGHT):
    """A labelled grid image: `rows` is a list of lists of PIL images, `labels` the column titles."""
    label_height = 24
    scaled = [
        [
            image.resize((max(1, round(image.width * cell_height / image.height)), cell_height), Image.LANCZOS)
            for image in row
        ]
        for row in rows
    ]
    column_widths = [max(row[c].width for row in scaled) for c in range(len(labels))]
    grid = Image.new("RGB", (sum(column_widths), label_height + cell_height * len(rows)), "white")
    draw = ImageDraw.Draw(grid)
    x = 0
    for column, (label, width) in enumerate(zip(labels, column_widths)):
        draw.text((x + 6, 6), label, fill="black")
        for r, row in enumerate(scaled):
            grid.paste(row[column], (x, label_height + r * cell_height))
        x += width
    return grid


def add_arguments(parser):
    parser.add_argument("--styles", default=",".join(STYLES), help="comma-separated styles (default: %(default)s)")
    parser.add_argument("--photos", default=str(settings.photos_dir()), help="folder of photos (default: %(default)s)")
    parser.add_argument("--count", type=int, default=4, help="how many photos to stylize (default: %(default)s)")
    parser.add_argument("--long-side", type=int, default=512, help="resize photos to this long side (default: 512)")
    parser.add_argument(
        "--weights-root", default=str(settings.pretrained_dir()), help="published weights, a folder per style"
    )
    parser.add_argument("--models", default="models", help="where the imported generators go (default: %(default)s)")
    parser.add_argument("--output", default="runs/demo", help="where the pictures go (default: %(default)s)")


def run(args):
    styles = [s.strip() for s in args.styles.split(",") if s.strip()]
    unknown = [s for s in styles if s not in STYLES]
    if unknown or not styles:
        raise ValueError(f"unknown styles {unknown}; choose from {', '.join(STYLES)}")
    if args.count < 1:
        raise ValueError("--count must be at least 1")
    photos = list_images(args.photos)
    if not photos:
        raise FileNotFoundError(f"{args.photos}: no photos ({', '.join(IMAGE_SUFFIXES)})")
    photos = photos[: args.count]
    output = Path(args.output)

    columns = {}
    for style in styles:
        model_path = ensure_imported(style, args.models, args.weights_root)
        print(f"{STYLES[style]}: {model_path}")
        written, errors = stylize_files(Stylizer.load(model_path), photos, output / style, args.long_side)
        if errors:
            return 1
        columns[STYLES[style]] = written

    rows = []
    for index, photo in enumerate(photos):
        row = [load_photo(photo)] + [Image.open(paths[index]).convert("RGB") for paths in columns.values()]
        rows.append(row)
    grid_path = output / "grid.jpg"
    comparison_grid(rows, ["photo", *columns]).save(grid_path, quality=90)
    print(f"{len(photos)} photos x {len(styles)} styles in {output}; comparison grid: {grid_path}")
    return 0
