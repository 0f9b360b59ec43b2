"""The memory an upload costs: small files whose headers announce big pictures (within the limits)
are measured in a fresh process serving them, against the bound backend/uploads.py states: the
picture decoded once in its own mode, plus a margin for the bands, the shrunk copy and the rest."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 6000, 6666  # 40 M pixels, just within MAX_IMAGE_PIXELS
MARGIN = 48 * 2**20

# Serves one upload in this process after a warm-up upload, and prints the status and how far the
# resident memory rose above where it was before the upload (Linux: VmHWM reset by clear_refs).
SERVE = """
import json, sys
from pathlib import Path
from backend import create_app
from tests.backend.helpers import dev_login, submit

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

client = create_app(json.loads(sys.argv[1])).test_client()
headers = dev_login(client)
assert submit(client, headers).status_code == 202
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
before = status("VmRSS:")
response = submit(client, headers, data=Path(sys.argv[2]).read_bytes())
print(json.dumps({"status": response.status_code, "body": response.get_json(), "rise": status("VmHWM:") - before}))
"""


def png(image, **options):
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def grey16():
    return png(Image.new("I;16", (WIDTH, HEIGHT)))


def rgba():
    return png(Image.new("RGBA", (WIDTH, HEIGHT), (10, 20, 30, 128)))


def palette_1bit():
    image = Image.new("P", (WIDTH, HEIGHT))
    image.putpalette([0, 0, 0, 255, 255, 255])
    return png(image, bits=1)


def gif_big_screen():
    """A GIF whose logical screen is WIDTH x HEIGHT, holding one 1x1 picture."""
    return (
        b"GIF89a"
        + WIDTH.to_bytes(2, "little")
        + HEIGHT.to_bytes(2, "little")
        + b"\x80\x00\x00"  # a global colour table of 2 entries
        + b"\x00\x00\x00\xff\xff\xff"
        + b",\x00\x00\x00\x00\x01\x00\x01\x00\x00"  # one 1x1 image at the top left
        + b"\x02\x02\x4c\x01\x00;"
    )


def jpeg_header_only():
    """A real 16x16 JPEG whose header is changed to announce 6666 x 6000 pixels."""
    buffer = io.BytesIO()
    Image.new("L", (16, 16), 100).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = HEIGHT.to_bytes(2, "big") + WIDTH.to_bytes(2, "big")
    return bytes(data)


def webp(width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 20, 30)).save(buffer, "WEBP", lossless=True)
    return buffer.getvalue()


# (file, bytes a pixel of the decoded picture in its own mode, expected status)
CASES = {
    "16-bit grey PNG": (grey16, 2, 202),
    "RGBA PNG": (rgba, 4, 202),
    "1-bit palette PNG": (palette_1bit, 1, 202),
    "GIF with a huge screen": (gif_big_screen, 1, 202),
    "JPEG header without its picture": (jpeg_header_only, 0, 422),
    "WebP at its limit": (lambda: webp(WIDTH // 2, HEIGHT // 2), 16 / 4, 202),  # a quarter of the pixels
    "WebP over its limit": (lambda: webp(WIDTH, HEIGHT), 0, 422),
}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("name", CASES)
def test_upload_memory_is_bounded(name, tmp_path, zoo_dir):
    make, bytes_per_pixel, expected = CASES[name]
    upload = tmp_path / "upload"
    upload.write_bytes(make())
    assert upload.stat().st_size < 200_000  # small files ...
    config = {
        "APP_ENV": "development",
        "SECRET_KEY": "k",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "RESULTS_DIR": str(tmp_path / "results"),
        "MODELZOO_DIR": str(zoo_dir),
        "JOB_WORKERS": 0,  # measure the upload, not the stylization
    }
    run = subprocess.run(
        [sys.executable, "-c", SERVE, json.dumps(config), str(upload)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["status"] == expected, answer
    bound = bytes_per_pixel * WIDTH * HEIGHT + MARGIN  # ... that announce big pictures
    print(f"{name}: {upload.stat().st_size} bytes, +{answer['rise'] / 2**20:.0f} MiB (bound {bound / 2**20:.0f})")
    assert answer["rise"] <= bound
