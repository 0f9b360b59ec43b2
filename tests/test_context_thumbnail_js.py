"""The phone's and the web page's context thumbnail (miniprogram/core/image.js contextThumbnail, run
by Node) against the training's (training/imaging.py context_thumbnail, PIL's BOX filter): a
context student sees the same second input on the device as in training, within 1 per channel
(PIL rounds between its horizontal and vertical passes, the JavaScript once)."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from training.imaging import context_thumbnail

ROOT = Path(__file__).resolve().parents[1]

# Reads [{width, height, size}] from argv and the pictures' RGB bytes one after the other from
# stdin; writes each thumbnail's RGB bytes to stdout in the same order.
SCRIPT = """
const { contextThumbnail } = require(process.argv[1]);
const cases = JSON.parse(process.argv[2]);
const input = require('fs').readFileSync(0);
let offset = 0;
for (const { width, height, size } of cases) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++, offset += 3) rgba.set([...input.subarray(offset, offset + 3), 255], i * 4);
  const thumbnail = contextThumbnail(rgba, width, height, size);
  process.stdout.write(Buffer.from(thumbnail.filter((_, i) => i % 4 !== 3)));
}
"""


def js_thumbnails(pictures):
    cases = [{"width": rgb.shape[1], "height": rgb.shape[0], "size": size} for rgb, size in pictures]
    result = subprocess.run(
        ["node", "-e", SCRIPT, str(ROOT / "miniprogram/core/image.js"), json.dumps(cases)],
        input=b"".join(rgb.tobytes() for rgb, _ in pictures),
        capture_output=True,
        check=True,
    )
    out = np.frombuffer(result.stdout, np.uint8)
    thumbnails, offset = [], 0
    for _, size in pictures:
        thumbnails.append(out[offset : offset + size * size * 3].reshape(size, size, 3))
        offset += size * size * 3
    assert offset == out.size
    return thumbnails


@pytest.mark.parametrize(
    "width, height, size",
    [(37, 23, 64), (640, 480, 64), (50, 30, 64), (301, 199, 32), (23, 500, 16), (64, 64, 64)],
)
def test_the_js_thumbnail_is_the_training_one_within_1(width, height, size):
    rng = np.random.default_rng(width * 1000 + height)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    (js,) = js_thumbnails([(rgb, size)])
    reference = context_thumbnail(rgb, size)
    assert js.shape == reference.shape == (size, size, 3)
    assert np.abs(js.astype(int) - reference.astype(int)).max() <= 1
