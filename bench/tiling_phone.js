// The phone's side of bench/bench_tiling.py: TF.js tensor memory and time of the
// mini-program's pipeline (miniprogram/core/pipeline.js, core/tiling.js pictureStylizer) on a
// student-sized local network with random weights, tiled and untiled.
//
//   node bench/tiling_phone.js --sizes 512x384,4096x3072 --tile 512 [--modes tiled,untiled] [--backend wasm]
//
// Prints one JSON line per (size, mode): peak tensor bytes (tf.profile's
// peakBytes: what the phone's engine must hold at once), milliseconds, or the
// error when the run failed. Runs in Node with @tensorflow/tfjs and the WASM
// backend (one thread; modelzoo/node's packages), like modelzoo's WASM profile: not a phone's figure for
// time, but the tensor bytes are the engine's.

const path = require('path');

const modules = path.join(__dirname, '..', 'modelzoo', 'node', 'node_modules');
const tf = require(path.join(modules, '@tensorflow/tfjs'));
require(path.join(modules, '@tensorflow/tfjs-backend-wasm'));
const { createStylizer } = require('../miniprogram/core/pipeline');
const { pictureStylizer } = require('../miniprogram/core/tiling');

// The shape of training/students.py's "conv-s" student: 3x3 stem (16), two
// stride-2 3x3 convs (one pixel of zero padding), 3 residual blocks of two 3x3
// convs at a quarter of the size (48), two [nearest x2, 3x3 conv], 3x3 conv, tanh.
function student(seed = 1) {
  const weights = [];
  const w = (shape) => {
    const t = tf.randomNormal(shape, 0, Math.sqrt(1 / (shape[0] * shape[1] * shape[2])), 'float32', seed++);
    weights.push(t);
    return t;
  };
  const stem = w([3, 3, 3, 16]);
  const down = [w([3, 3, 16, 48]), w([3, 3, 48, 48])];
  const blocks = [0, 1, 2].map(() => [w([3, 3, 48, 48]), w([3, 3, 48, 48])]);
  const up = [w([3, 3, 48, 24]), w([3, 3, 24, 16])];
  const out = w([3, 3, 16, 3]);
  const pad = [[0, 0], [1, 1], [1, 1], [0, 0]];
  return {
    predict: (x) => tf.tidy(() => {
      let y = tf.relu(tf.conv2d(x, stem, 1, 'same'));
      for (const k of down) y = tf.relu(tf.conv2d(tf.pad(y, pad), k, 2, 'valid'));
      for (const [a, b] of blocks) y = tf.add(y, tf.conv2d(tf.relu(tf.conv2d(y, a, 1, 'same')), b, 1, 'same'));
      for (const k of up) {
        y = tf.image.resizeNearestNeighbor(y, [2 * y.shape[1], 2 * y.shape[2]]);
        y = tf.relu(tf.conv2d(y, k, 1, 'same'));
      }
      return tf.tanh(tf.conv2d(y, out, 1, 'same'));
    }),
    dispose: () => weights.forEach((t) => t.dispose()),
  };
}
// Receptive field of that network (training.tiling.receptive_field): 1 + 1 + 2
// + 3 blocks x 2 convs x 4 + up (2 + 2, 1 + 1) + 1 = 35 pixels; overlap 36.
const OVERLAP = 36;

function picture(width, height) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const x = i % width;
    const y = Math.floor(i / width);
    rgba.set([(255 * x) / width, (x + 2 * y) % 23 < 5 ? 230 : 40, (255 * y) / height, 255], i * 4);
  }
  return rgba;
}

async function main() {
  const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean)
    .map((a) => a.trim().split(/\s+/)));
  const sizes = (args.sizes || '512x384,1024x768,2048x1536,4096x3072').split(',').map((s) => s.split('x').map(Number));
  const tile = Number(args.tile || 512);
  await tf.setBackend(args.backend || 'wasm');
  await tf.ready();
  const stylizer = createStylizer({ tf });
  await stylizer.use('student', async () => student(), { input: { color_order: 'RGB', value_range: [-1, 1], size_multiple: 4 } });
  for (const [width, height] of sizes) {
    const rgba = picture(width, height);
    for (const mode of (args.modes || 'tiled,untiled').split(',')) {
      const options = mode === 'tiled' ? { tile, overlap: OVERLAP, multiple: 4 } : {};
      const stylize = pictureStylizer((pixels, w, h) => stylizer.stylize(pixels, w, h), width, height, options);
      const row = { width, height, mode, tile: mode === 'tiled' ? tile : 0, backend: tf.getBackend() };
      try {
        const start = Date.now();
        row.peak_bytes = (await tf.profile(() => stylize(rgba))).peakBytes;
        row.ms = Date.now() - start;
      } catch (err) {
        row.error = String(err.message || err).slice(0, 200);
      }
      console.log(JSON.stringify(row));
    }
  }
  stylizer.unload();
}

main().catch((err) => { console.error(err); process.exit(1); });
