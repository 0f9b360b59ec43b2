/**
 * @jest-environment node
 */
// Tiled stylization on the phone (core/tiling.js): the grid, and tiled ==
// untiled for a small local network run by the real pipeline with TF.js (the
// fallback engine's pinned version, CPU backend) through pictureStylizer, as the
// session and the web worker run it.
const { tf, ready } = require('./support/tfjs');
const { axisWindows, tileGrid, stylizeTiled, checkTiling, pictureStylizer } = require('../core/tiling');
const { createStylizer } = require('../core/pipeline');
const { contextThumbnail } = require('../core/image');

beforeAll(ready);

// A local network in the shape of the phone students: 3x3 conv, a stride-2
// conv with one pixel of zero padding, a depthwise conv with a skip, nearest
// up-sampling, 3x3 conv and tanh. Receptive field: 6 pixels (overlap 8).
function localNet(seed = 1) {
  const w = (shape) => tf.randomNormal(shape, 0, 0.4, 'float32', seed++);
  const k1 = w([3, 3, 3, 8]);
  const k2 = w([3, 3, 8, 8]);
  const kd = w([3, 3, 8, 1]);
  const k3 = w([3, 3, 8, 3]);
  return {
    predict: (x) => tf.tidy(() => {
      const a = tf.relu(tf.conv2d(x, k1, 1, 'same'));
      const b = tf.relu(tf.conv2d(tf.pad(a, [[0, 0], [1, 1], [1, 1], [0, 0]]), k2, 2, 'valid'));
      const c = tf.add(b, tf.depthwiseConv2d(b, kd, 1, 'same'));
      const up = tf.image.resizeNearestNeighbor(c, [2 * c.shape[1], 2 * c.shape[2]]);
      return tf.tanh(tf.conv2d(up, k3, 1, 'same'));
    }),
    dispose: () => [k1, k2, kd, k3].forEach((t) => t.dispose()),
  };
}
const OVERLAP = 8;
const INPUT = { color_order: 'BGR', value_range: [-1, 1], size_multiple: 4 };

// The stylizer's stylize of one width×height picture, in tiles when `tiling` is given (and with
// the picture's context when `tiling.context` is).
function tiledBy(stylizer, width, height, tiling) {
  const stylize = (...args) => stylizer.stylize(...args);
  return pictureStylizer(stylize, width, height, tiling && { ...tiling, multiple: INPUT.size_multiple });
}

// Gradients, stripes and a disc with hard edges, crossing every tile border.
function synthetic(width, height) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const disc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (height / 3) ** 2;
      rgba[i] = (255 * x) / width;
      rgba[i + 1] = ((x >> 3) + (y >> 3)) % 2 ? 230 : 20;
      rgba[i + 2] = disc ? 240 : (255 * y) / height;
      rgba[i + 3] = 255;
    }
  }
  return rgba;
}

function maxDifference(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

test('windows are at most a tile, start on the size multiple, and their cores partition the side', () => {
  for (const [length, tile, overlap] of [[1000, 256, 24], [4032, 1024, 88], [3024, 512, 88], [257, 256, 8], [96, 256, 8]]) {
    const windows = axisWindows(length, tile, overlap, 4);
    expect(windows[0].coreStart).toBe(0);
    expect(windows[windows.length - 1].coreStop).toBe(length);
    windows.forEach((w, i) => {
      expect(w.stop - w.start).toBeLessThanOrEqual(tile);
      expect(w.start % 4).toBe(0);
      expect(w.coreStop).toBeGreaterThan(w.coreStart);
      if (i > 0) {
        expect(w.coreStart).toBe(windows[i - 1].coreStop);
        expect(w.coreStart - w.start).toBe(overlap);
      }
      if (i < windows.length - 1) expect(w.stop - w.coreStop).toBe(overlap);
    });
  }
});

test('the grid is the server\'s, number for number (training/tiling.py axis_windows)', () => {
  // Expected values printed by the Python implementation (tests/test_tiling.py checks the same).
  const flat = (ws) => ws.map((w) => [w.start, w.stop, w.coreStart, w.coreStop]);
  expect(flat(axisWindows(1000, 256, 24, 4))).toEqual([
    [0, 236, 0, 212], [188, 428, 212, 404], [380, 616, 404, 592], [568, 808, 592, 784], [760, 1000, 784, 1000],
  ]);
  expect(flat(axisWindows(4032, 1024, 88, 4))).toEqual([
    [0, 944, 0, 856], [768, 1716, 856, 1628], [1540, 2488, 1628, 2400], [2312, 3260, 2400, 3172],
    [3084, 4032, 3172, 4032],
  ]);
  expect(tileGrid(300, 500, 256, 24, 4)).toHaveLength(2 * 3);
});

test('bad tile settings are refused with a reason', () => {
  expect(() => checkTiling(96, 48, 4)).toThrow(/too small.*at least 100/);
  expect(() => checkTiling(250, 8, 4)).toThrow(/multiples of 4/);
  expect(() => checkTiling(256, 8.5, 4)).toThrow(/whole number/);
  expect(() => axisWindows(0, 256, 8, 4)).toThrow(/positive/);
});

test('stitching puts every core back in place (identity network)', async () => {
  const width = 203;
  const height = 150;
  const rgba = synthetic(width, height);
  const seen = [];
  const out = await stylizeTiled(rgba, width, height, {
    tile: 64, overlap: 8, multiple: 4,
    runTile: async (pixels, w, h) => { seen.push([w, h]); return pixels; },
  });
  expect(Array.from(out)).toEqual(Array.from(rgba));
  expect(seen.length).toBe(tileGrid(height, width, 64, 8, 4).length);
  expect(Math.max(...seen.flat())).toBeLessThanOrEqual(64);
});

test('a local network gives the same picture tiled and untiled (within 1/255)', async () => {
  const stylizer = createStylizer({ tf });
  await stylizer.use('local', async () => localNet(), { input: INPUT });
  const width = 150;
  const height = 101;
  const rgba = synthetic(width, height);
  const whole = await stylizer.stylize(rgba, width, height);
  const tiled = await tiledBy(stylizer, width, height, { tile: 48, overlap: OVERLAP })(rgba);
  expect(maxDifference(tiled, whole)).toBeLessThanOrEqual(1);
  // An overlap below the receptive field shows at the tile borders: the test can fail.
  const short = await tiledBy(stylizer, width, height, { tile: 48, overlap: 0 })(rgba);
  expect(maxDifference(short, whole)).toBeGreaterThan(8);
  stylizer.unload();
});

// A context network: half the local network's picture plus half the context's mean colour.
function contextNet() {
  const local = localNet();
  return {
    predict: ({ image, context }) => tf.tidy(() => tf.add(tf.mul(local.predict(image), 0.5), tf.mul(tf.mean(context, [1, 2], true), 0.5))),
    dispose: local.dispose,
  };
}
const CONTEXT = { name: 'context', size: 8 };

test('a context network gets the whole picture\'s context on every tile: tiled equals untiled', async () => {
  const stylizer = createStylizer({ tf });
  await stylizer.use('context', async () => contextNet(), { input: { ...INPUT, context: CONTEXT } });
  const width = 150;
  const height = 101;
  const rgba = synthetic(width, height);
  const whole = await tiledBy(stylizer, width, height, { context: CONTEXT })(rgba);
  const tiled = await tiledBy(stylizer, width, height, { tile: 48, overlap: OVERLAP, context: CONTEXT })(rgba);
  expect(maxDifference(tiled, whole)).toBeLessThanOrEqual(1);
  // Each tile's own context would change the tiles' colours: the test can fail.
  const ownContext = await stylizeTiled(rgba, width, height, {
    tile: 48, overlap: OVERLAP, multiple: 4, runTile: (p, w, h) => stylizer.stylize(p, w, h, contextThumbnail(p, w, h, 8)),
  });
  expect(maxDifference(ownContext, whole)).toBeGreaterThan(8);
  stylizer.unload();
});

test('pictureStylizer makes the context once per picture, from the whole picture, and only for a context network', async () => {
  const width = 100;
  const height = 70;
  const rgba = synthetic(width, height);
  const calls = [];
  const stylize = async (...args) => { calls.push(args); return new Uint8ClampedArray(args[1] * args[2] * 4); };
  const expected = Array.from(contextThumbnail(rgba, width, height, 8));
  for (const context of [CONTEXT, 8]) { // the manifest's object, or its size
    calls.length = 0;
    await pictureStylizer(stylize, width, height, { tile: 48, overlap: OVERLAP, multiple: 4, context })(rgba);
    expect(calls.length).toBe(tileGrid(height, width, 48, OVERLAP, 4).length);
    calls.forEach((args) => expect(args[3]).toBe(calls[0][3]));
    expect(Array.from(calls[0][3])).toEqual(expected);
  }
  calls.length = 0;
  await pictureStylizer(stylize, width, height, { context: CONTEXT })(rgba);
  expect(calls.length).toBe(1);
  expect(Array.from(calls[0][3])).toEqual(expected);
  // A one-input network: stylize(rgba, width, height), as before.
  calls.length = 0;
  await pictureStylizer(stylize, width, height, { tile: 48, overlap: OVERLAP, multiple: 4 })(rgba);
  await pictureStylizer(stylize, width, height)(rgba);
  calls.forEach((args) => expect(args).toHaveLength(3));
});

test('peak tensor memory follows the tile, not the picture', async () => {
  const stylizer = createStylizer({ tf });
  await stylizer.use('local', async () => localNet(), { input: INPUT });
  const width = 320;
  const height = 240;
  const rgba = synthetic(width, height);
  // tf.profile answers with one object that the next profile overwrites: keep the figure.
  const whole = (await tf.profile(() => tiledBy(stylizer, width, height)(rgba))).peakBytes;
  const tiled = (await tf.profile(() => tiledBy(stylizer, width, height, { tile: 64, overlap: OVERLAP })(rgba))).peakBytes;
  // Untiled: the 8-channel float activations of all 76,800 pixels; tiled: of 64x64 windows.
  expect(tiled).toBeLessThan(whole / 8);
  stylizer.unload();
});

test('the session tiles when the plan gives a tile and the manifest\'s network is local', async () => {
  const { createSession, tilingFor } = require('../core/session');
  const local = { tiling: { receptive_field: 14, overlap: 16, statistics: false } };
  expect(tilingFor(local, { tile: 512 })).toEqual({ tile: 512, overlap: 16 });
  expect(tilingFor(local, {})).toEqual({});
  expect(tilingFor({ tiling: { ...local.tiling, statistics: true } }, { tile: 512 })).toEqual({});
  expect(tilingFor({}, { tile: 512 })).toEqual({});

  const manifest = { id: 's', version: 'v1', variant: 'uint8', files: [], input: INPUT, webgl_settings: {}, ...local };
  const stylizer = {
    use: jest.fn(async (key, load) => { await load(); }),
    stylize: jest.fn(async (rgba, w, h) => new Uint8ClampedArray(w * h * 4)),
    unload: jest.fn(),
  };
  const session = createSession({
    wx: { getDeviceInfo: () => ({ platform: 'android', memorySize: 8192, benchmarkLevel: 30 }) },
    api: {
      plan: async () => ({ where: 'device', variant: 'uint8', long_side: 2048, tile: 512 }),
      manifest: async () => manifest,
    },
    cache: { load: async () => ({ modelJson: { modelTopology: {}, weightsManifest: [] }, weights: {} }) },
    engines: { tfjs: stylizer, wechat: null },
    // Textures measured at 512 fit a 4096 limit; at 2048 they would not: the check is at the tile.
    maxTextureSize: () => 4096,
    readPixels: async (wx, path, width, height) => new Uint8ClampedArray(width * height * 4),
    writePicture: async () => 'wxfile://tmp/device.png',
  });
  const style = { id: 's', profile: { uint8: { webgl: [{ size: 512, im2col: undefined, max_texture_width: 4096, max_texture_height: 2048, ok: true }] } } };
  const result = await session.run({ photo: { path: 'p.jpg', width: 4032, height: 3024 }, style });
  expect(result).toMatchObject({ where: 'device', width: 2048, height: 1536 });
  // The session runs the engine tile by tile (any engine: core/tiling.js takes its stylize).
  const grid = tileGrid(1536, 2048, 512, 16, 4);
  expect(stylizer.stylize).toHaveBeenCalledTimes(grid.length);
  grid.forEach(({ rows, columns }, i) => {
    expect(stylizer.stylize.mock.calls[i].slice(1)).toEqual([columns.stop - columns.start, rows.stop - rows.start]);
  });
});
