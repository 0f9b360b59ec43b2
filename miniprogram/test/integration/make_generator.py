"""Writes the small randomly initialized generator of `modelzoo.testing` (the CartoonGAN layer types,
BGR in [-1, 1]) as a `.keras` file that `python -m modelzoo build --keras` packages."""

import sys

from modelzoo.testing import tiny_generator, tiny_metadata
from training.saving import save_generator

save_generator(tiny_generator(), sys.argv[1], tiny_metadata(sys.argv[2] if len(sys.argv) > 2 else "tiny", "BGR"))
