"""The server's output for a photo, by the backend's own job code path: `open_upload` (format
check, EXIF orientation, RGB), `fit_long_side` (bicubic, long side), `Generators.run` (the
server variant of the model zoo package, padded to the size multiple and cropped back).

    python server_stylize.py ZOO_DIR STYLE PHOTO LONG_SIDE INPUT_PNG OUTPUT_PNG

INPUT_PNG gets the resized photo the server stylized (what the phone would feed its model),
OUTPUT_PNG the server's result.
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from backend.config import DEFAULTS
from backend.inference import Generators
from backend.uploads import fit_long_side, open_upload
from backend.zoo import ModelZoo

zoo_dir, style_id, photo, long_side, input_png, output_png = sys.argv[1:7]
style = ModelZoo(zoo_dir).get(style_id)
if style is None:
    sys.exit(f"no style {style_id} in {zoo_dir}")
picture, _ = open_upload(Path(photo).read_bytes(), DEFAULTS)
picture = fit_long_side(picture, int(long_side))
picture.save(input_png)
result = Generators(DEFAULTS["INFERENCE_VARIANT"]).run(style, np.asarray(picture.convert("RGB")))
Image.fromarray(result).save(output_png)
print(f"{style_id} {style.version}: {picture.size[0]}x{picture.size[1]}")
