"""Stylizing in tiles: peak memory and time against picture size, tiled and untiled, up to
4096x3072, and how far the tiled pictures of the published generators are from the untiled ones.

    .venv/bin/python bench/bench_tiling.py [--parts psnr,server,cli,phone] [--style hayao]
        [--sizes 512x384,1024x768,2048x1536,4096x3072] [--tiles 1024] [--untiled-max 2048]
        [--threads 0] [--work runs/bench-tiling] [--plot runs/bench-tiling/tiling.png]

Parts (each figure from a fresh process, so that its peak memory is its own):

- `server`: backend/inference.py with ONNX Runtime, the published generator (`--style`): untiled
  `model.onnx`, and tiled with the `onnx_tiles` variant (statistics of the picture downscaled to
  the tile, then the tiles) through `Generators.run` as a job runs (a picture that fits in one
  tile is stylized whole). Peak RSS (VmHWM), wall and CPU time of one picture; then one process
  running every size in turn, as a worker does (ONNX Runtime sessions share one memory arena:
  backend/inference.py `session_options`). The ONNX files are converted once into `--work`.
- `cli`: `python -m training stylize --tile T` / `--tile 0` on a photo file of each size: the
  process's peak RSS, and its wall and CPU time less the start-up's (the same command on a 64x48
  photo). CPU time hardly grows when other processes compete for the cores; wall time does.
- `phone`: bench/tiling_phone.js: TF.js (Node, WASM backend) through the mini-program's pipeline
  on a student-sized local network: peak tensor bytes and time, tiles of 512.
- `psnr`: every published style, untiled against tiled (statistics from the picture downscaled
  to the tile), PSNR over the 8-bit RGB pictures: real photos at 1024x768 (tiles of 512:
  statistics at half size) and 2x2 mosaics of photos at 2048x1536 (tiles of 1024 and 512:
  statistics at half and a quarter size).

Untiled runs above `--untiled-max` (long side) are skipped: the published generator untiled needs
about 17 GB at 4096x3072, more than the development machine can spare. Pictures are mosaics of the
shared sample photos (each at most 1024 pixels), so that every size has real photo detail.
A table is printed and `--plot` is written (Pillow; memory and time against megapixels).

Measured on the 2-core development machine (shared with a training run: wall times are
pessimistic, CPU times are not), published Hayao generator, ONNX Runtime with 2 threads:

    picture     server tile 1024      server tile 512      server untiled      CLI tile 1024       CLI untiled
    512x384      426 MB    2.0 s       464 MB    2.6 s       464 MB    2.2 s       975 MB    2.0 s     985 MB    1.7 s
    1024x768    1233 MB    8.2 s       770 MB   15.7 s      1232 MB    8.0 s      1625 MB    8.2 s    1618 MB    7.8 s
    2048x1536   1820 MB   46.3 s       796 MB   63.8 s      4184 MB   31.4 s      1967 MB   45.0 s    4223 MB   33.1 s
    4096x3072   2121 MB  175.2 s       964 MB  281.5 s      ~17 GB, not run       2160 MB  159.6 s   ~17 GB, not run

(peak RSS, CPU seconds; a picture no larger than the tile is stylized whole.) One server process
running the four sizes in turn with tiles of 1024 peaks at 2614 MB. The phone part, a student-sized
network (16/48 channels, 3 blocks) in TF.js + WASM, tiles of 512: 136-198 MB of tensors at every
size (untiled: 646 MB at 1024x768, 2582 MB at 2048x1536, the WASM heap gives out at 4096x3072),
4.1 s at 2048x1536 and 16.5 s at 4096x3072 (as fast as untiled). Tiled against untiled, PSNR of
the published styles (worst-best over hayao, hosoda, paprika, shinkai): 1024x768 photos with tiles
of 512 21.5-28.3 dB, 2048x1536 mosaics with tiles of 1024 29.3-32.0 dB, with tiles of 512
23.4-25.3 dB: the statistics of a downscaled copy are what differs (the tiles themselves agree
exactly), so larger tiles, whose statistics copy is larger, come closer; the 35 dB aimed at is not
reached. The difference is a shift of contrast and colour over the whole picture, not seams.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SPEC = {"color_order": "BGR", "value_range": [-1.0, 1.0], "size_multiple": 4}
STYLES = ("hayao", "hosoda", "paprika", "shinkai")


def vm_hwm():
    """This process's peak resident memory in bytes (VmHWM, since it started)."""
    line = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    return int(line.split()[1]) * 1024


def mosaic(width, height, first=0):
    """A width x height uint8 RGB picture: the sample photos, cropped to the cell's shape, in a
    grid of cells of at most 1024x768 (no photo is enlarged much)."""
    import numpy as np
    from PIL import Image, ImageOps

    from training import settings

    photos = sorted(settings.photos_dir().glob("*.jpg"))
    columns, rows = max(1, -(-width // 1024)), max(1, -(-height // 768))
    picture = np.zeros((height, width, 3), np.uint8)
    xs = [round(i * width / columns) for i in range(columns + 1)]
    ys = [round(i * height / rows) for i in range(rows + 1)]
    for row in range(rows):
        for column in range(columns):
            size = (xs[column + 1] - xs[column], ys[row + 1] - ys[row])
            with Image.open(photos[(first + row * columns + column) % len(photos)]) as photo:
                cell = ImageOps.fit(photo.convert("RGB"), size, Image.BICUBIC)
            picture[ys[row] : ys[row + 1], xs[column] : xs[column + 1]] = np.asarray(cell)
    return picture


def picture_file(work, width, height):
    from PIL import Image

    path = Path(work) / "pictures" / f"{width}x{height}.png"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mosaic(width, height)).save(path)
    return path


# The server: ONNX Runtime.


def onnx_files(style, work):
    """`(folder, onnx_tiles variant entry, manifest tiling)` with model.onnx, statistics.onnx and
    tile.onnx of a published style, converted once into `work/onnx-<style>`."""
    from modelzoo import convert, sources, tiling
    from modelzoo.constants import STATISTICS_ONNX_FILE, TILE_ONNX_FILE

    folder = Path(work) / f"onnx-{style}"
    described = folder / "tiling.json"
    if not described.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        source = sources.from_published(style)
        print(f"converting {style} to ONNX (three graphs) into {folder}", file=sys.stderr)
        whole = convert.export_saved_model(source.model, folder / "saved-whole")
        convert.to_onnx(whole, folder / "model.onnx", 13)
        statistics_dir, tile_dir = tiling.export_saved_models(source.model, folder)
        convert.to_onnx(statistics_dir, folder / STATISTICS_ONNX_FILE, 13)
        convert.to_onnx(tile_dir, folder / TILE_ONNX_FILE, 13)
        described.write_text(json.dumps(tiling.describe(source)))
    variant = {"model": TILE_ONNX_FILE, "statistics_model": STATISTICS_ONNX_FILE}
    return folder, variant, json.loads(described.read_text())


def child_server(args):
    """One picture through the server's `Generators.run` in this (fresh) process: whole when it
    fits the tile (or with `--tile 0`), else in tiles; prints a JSON line."""
    import numpy as np
    from PIL import Image

    from backend.inference import Generators
    from backend.zoo import Style

    folder, variant, tiling = onnx_files(args.style, args.work)
    variants = {"onnx": {"model": "model.onnx"}, "onnx_tiles": variant}
    manifest = {"input": SPEC, "tiling": tiling, "variants": variants}
    style = Style(args.style, args.style, "bench", folder, None, manifest)
    generators = Generators("onnx", args.threads, args.tile)
    for size in args.sizes if args.size is None else [args.size]:  # all sizes: one worker process
        picture = np.asarray(Image.open(picture_file(args.work, *size)).convert("RGB"))
        start, cpu = time.perf_counter(), time.process_time()
        generators.run(style, picture)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_bytes": vm_hwm()}))


def run_child(args, size, tile):
    """The server child on one size, or with `size` None on every size in turn in one process."""
    command = [sys.executable, __file__, "--child", "server", "--style", args.style, "--work", str(args.work)]
    command += ["--tile", str(tile), "--threads", str(args.threads)]
    command += ["--sizes", ",".join(f"{w}x{h}" for w, h in args.sizes)]
    if size is not None:
        command += ["--size", f"{size[0]}x{size[1]}"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_server(args):
    onnx_files(args.style, args.work)  # convert once, outside the measured processes
    rows = []
    for size in args.sizes:
        for tile in (*args.tiles, 0):
            if tile == 0 and max(size) > args.untiled_max:
                rows.append({"part": "server", "size": size, "tile": 0, "error": f"skipped (> {args.untiled_max})"})
                continue
            rows.append({"part": "server", "size": size, "tile": tile, **run_child(args, size, tile)})
            print(format_row(rows[-1]), flush=True)
    # A worker process lives on: every size in turn in one process, with the default tile (the
    # time is the last picture's, the peak the process's).
    row = {"part": "server", "size": args.sizes[-1], "tile": args.tiles[-1], "sequence": True}
    rows.append({**row, **run_child(args, None, args.tiles[-1])})
    print(format_row(rows[-1]), flush=True)
    return rows


# The command line: TensorFlow.


def children_cpu():
    """User + system CPU seconds of this process's finished children so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_cli(args):
    from tests.tiling_helpers import cli_peak_rss
    from training.pretrained import import_published
    from training.saving import save_generator

    model_path = Path(args.work) / f"{args.style}.keras"
    if not model_path.is_file():
        model, metadata = import_published(args.style)
        save_generator(model, model_path, metadata)

    def run(photo, tile):
        """(wall seconds, CPU seconds, peak RSS) of one command."""
        start, cpu = time.perf_counter(), children_cpu()
        arguments = ["stylize", "--model", model_path, "--input", photo, "--output", Path(args.work) / "out"]
        peak = cli_peak_rss([*arguments, "--tile", tile])
        return time.perf_counter() - start, children_cpu() - cpu, peak

    from PIL import Image

    tiny = Path(args.work) / "pictures" / "64x48.png"
    tiny.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (90, 140, 200)).save(tiny)
    startup, startup_cpu, _ = run(tiny, 0)
    rows = []
    for size in args.sizes:
        for tile in (*args.tiles, 0):
            row = {"part": "cli", "size": size, "tile": tile}
            if tile == 0 and max(size) > args.untiled_max:
                row["error"] = f"skipped (> {args.untiled_max})"
            else:
                try:
                    seconds, cpu_seconds, peak = run(picture_file(args.work, *size), tile)
                    row.update(seconds=seconds - startup, cpu_seconds=cpu_seconds - startup_cpu, peak_bytes=peak)
                except RuntimeError as error:
                    row["error"] = str(error).splitlines()[-1][:120]
            rows.append(row)
            print(format_row(row), flush=True)
    return rows


# The phone: TF.js in Node.


def bench_phone(args):
    """Each size and mode in its own Node process (a fresh WASM heap; a run that exhausts it
    crashes the process, which is recorded as the row's error)."""
    rows = []
    for width, height in args.sizes:
        for mode in ("tiled", "untiled"):
            command = ["node", str(ROOT / "bench" / "tiling_phone.js"), "--sizes", f"{width}x{height}"]
            command += ["--tile", "512", "--modes", mode]
            result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            row = {"part": "phone", "size": (width, height), "tile": 512 if mode == "tiled" else 0}
            lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
            if result.returncode != 0 or not lines:
                errors = [line for line in result.stderr.splitlines() if "Error" in line]
                row["error"] = "crashed: " + (errors[0].strip() if errors else f"exit {result.returncode}")[:100]
            else:
                entry = json.loads(lines[-1])
                if "error" in entry:
                    row["error"] = entry["error"]
                else:
                    row.update(seconds=entry["ms"] / 1000, peak_bytes=entry["peak_bytes"])
            rows.append(row)
            print(format_row(row), flush=True)
    return rows


# Tiled against untiled: PSNR of the published styles.


def psnr(a, b):
    import numpy as np

    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def bench_psnr(args):
    from training.pretrained import import_published
    from training.stylize import Stylizer

    cases = [((1024, 768), 512, first) for first in (0, 7)] + [((2048, 1536), tile, 20) for tile in (1024, 512)]
    pictures = {(size, first): mosaic(*size, first=first) for size, _, first in cases}
    rows = []
    for style in STYLES:
        model, metadata = import_published(style)
        whole = Stylizer(model, metadata, tile=0)
        untiled = {key: whole(picture) for key, picture in pictures.items()}
        for size, tile, first in cases:
            tiled = Stylizer(model, metadata, tile=tile)(pictures[(size, first)])
            row = {"part": "psnr", "style": style, "size": size, "tile": tile, "picture": first}
            row["psnr_db"] = psnr(tiled, untiled[(size, first)])
            rows.append(row)
            print(format_row(row), flush=True)
    return rows


# Output.


def format_row(row):
    size = f"{row['size'][0]}x{row['size'][1]}"
    if row["part"] == "psnr":
        ratio = max(row["size"]) / row["tile"]
        return (
            f"psnr    {row['style']:8s} {size:>10s}  tile {row['tile']:5d} (statistics at 1/{ratio:g})  "
            f"picture {row['picture']:2d}  {row['psnr_db']:6.2f} dB"
        )
    mode = f"tile {row['tile']}" if row["tile"] else "untiled"
    if row.get("sequence"):
        mode += " (one process, every size in turn)"
    if "error" in row:
        return f"{row['part']:7s} {size:>10s}  {mode:10s}  {row['error']}"
    peak = row["peak_bytes"] / 2**20
    cpu = f"  {row['cpu_seconds']:8.1f} s CPU" if "cpu_seconds" in row else ""
    return f"{row['part']:7s} {size:>10s}  {mode:10s}  peak {peak:8.0f} MB  {row['seconds']:8.1f} s{cpu}"


def plot(rows, path):
    """Two panels against megapixels, peak memory (MB) and time (s), one line per part and mode."""
    from PIL import Image, ImageDraw

    series = {}
    for row in rows:
        if row["part"] != "psnr" and "error" not in row and not row.get("sequence"):
            key = f"{row['part']} {'tile ' + str(row['tile']) if row['tile'] else 'untiled'}"
            megapixels = row["size"][0] * row["size"][1] / 1e6
            seconds = row.get("cpu_seconds", row["seconds"])  # CPU time hardly depends on the machine's load
            series.setdefault(key, []).append((megapixels, row["peak_bytes"] / 2**20, seconds))
    colors = ["#1f77b4", "#aec7e8", "#d62728", "#ff9896", "#2ca02c", "#98df8a", "#9467bd", "#c5b0d5", "#8c564b"]
    image = Image.new("RGB", (1200, 560), "white")
    draw = ImageDraw.Draw(image)
    for panel, (index, title) in enumerate(((1, "peak memory (MB)"), (2, "CPU time (s; phone: wall time)"))):
        left, top, width, height = 80 + panel * 600, 40, 480, 420
        points = [p for values in series.values() for p in values]
        x_max = max((p[0] for p in points), default=1) * 1.05
        y_max = max((p[index] for p in points), default=1) * 1.1
        draw.rectangle([left, top, left + width, top + height], outline="black")
        draw.text((left, 12), title + " against megapixels", fill="black")
        for tick in range(6):
            x = left + width * tick / 5
            y = top + height - height * tick / 5
            draw.line([x, top + height, x, top + height + 5], fill="black")
            draw.text((x - 10, top + height + 8), f"{x_max * tick / 5:.3g}", fill="black")
            draw.line([left - 5, y, left, y], fill="black")
            draw.text((left - 60, y - 6), f"{y_max * tick / 5:.4g}", fill="black")
        for number, (name, values) in enumerate(sorted(series.items())):
            color = colors[number % len(colors)]
            xy = [(left + width * p[0] / x_max, top + height - height * p[index] / y_max) for p in sorted(values)]
            if len(xy) > 1:
                draw.line(xy, fill=color, width=3)
            for x, y in xy:
                draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=color)
            draw.rectangle([left + 10, top + 10 + 16 * number, left + 24, top + 20 + 16 * number], fill=color)
            draw.text((left + 30, top + 9 + 16 * number), name, fill="black")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def size_list(text):
    return [tuple(int(v) for v in size.split("x")) for size in text.split(",")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="psnr,server,cli,phone")
    parser.add_argument("--style", default="hayao", choices=STYLES)
    parser.add_argument("--sizes", type=size_list, default=size_list("512x384,1024x768,2048x1536,4096x3072"))
    parser.add_argument("--tiles", type=lambda s: [int(v) for v in s.split(",")], default=[1024])
    parser.add_argument("--tile", type=int, help=argparse.SUPPRESS)  # a child's tile
    parser.add_argument("--untiled-max", type=int, default=2048, help="largest long side run untiled")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: one per core)")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-tiling")
    parser.add_argument("--plot", type=Path, default=None, help="default: WORK/tiling.png")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=lambda s: size_list(s)[0], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "server":
        return child_server(args)
    args.work.mkdir(parents=True, exist_ok=True)
    parts = {"psnr": bench_psnr, "server": bench_server, "cli": bench_cli, "phone": bench_phone}
    for name in args.parts.split(","):
        if name not in parts:
            parser.error(f"unknown part {name!r}; choose from {', '.join(parts)}")
    for name in args.parts.split(","):
        (args.work / f"results-{name}.json").write_text(json.dumps(parts[name](args), indent=1))
    # The table and the plot show every part measured so far into WORK (parts can be run apart).
    rows = [row for path in sorted(args.work.glob("results-*.json")) for row in json.loads(path.read_text())]
    print("\n" + "\n".join(format_row(row) for row in rows))
    if any(row["part"] != "psnr" for row in rows):
        print(f"plot: {plot(rows, args.plot or args.work / 'tiling.png')}")


if __name__ == "__main__":
    main()
