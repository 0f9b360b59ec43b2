/**
 * @jest-environment node
 */
// An animated GIF through the session (core/session.js): on the device, frame by frame through
// core/gif.js and the engine, each frame fitted to the plan's size, a GIF written with the same
// frames, delays and loop; on the server, the GIF uploaded and a GIF result; limits never fall
// back to the server, which has the same ones.
const { createSession } = require('../core/session');
const { createGifWriter, readGif, stylizeGifAt } = require('../core/gif');
const { resizeRgba, contextThumbnail } = require('../core/image');

const WIDTH = 64;
const HEIGHT = 48;
const COLORS = [[255, 0, 0], [0, 0, 255], [0, 160, 0]];
const DELAYS = [100, 250, 70];

function solid([r, g, b], width = WIDTH, height = HEIGHT) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set([r, g, b, 255], i);
  return { data, width, height };
}

function animatedGif(frames = COLORS.length, loop = 0) {
  const writer = createGifWriter({ loop });
  for (let i = 0; i < frames; i++) writer.add(solid(COLORS[i % COLORS.length]), DELAYS[i % DELAYS.length]);
  return writer.finish();
}

const isGifBytes = (bytes) => String.fromCharCode(...new Uint8Array(bytes).subarray(0, 4)) === 'GIF8';

const photo = { path: 'blob:photo.gif', width: WIDTH, height: HEIGHT, animated: true };
const style = { id: 'hayao' };
const manifest = {
  id: 'hayao', version: 'v1', variant: 'student_uint8', files: [], bytes: 1024,
  input: { color_order: 'RGB', value_range: [-1, 1], size_multiple: 4 },
  tiling: { receptive_field: 10, overlap: 12, statistics: false },
};

function setup({ plan = { where: 'device', variant: 'student_uint8', long_side: 32 }, bytes = animatedGif(), picked = photo, served = manifest } = {}) {
  const api = {
    plan: jest.fn(async () => plan),
    manifest: jest.fn(async () => served),
    createJob: jest.fn(async () => ({ id: 'j1', status: 'queued' })),
    waitForJob: jest.fn(async (id) => ({ id, status: 'done', result: { id: 'r1', url: '/r1', media_type: 'image/gif' } })),
    downloadResult: jest.fn(async () => 'blob:server.gif'),
  };
  const cache = { load: jest.fn(async () => ({ modelJson: { modelTopology: {}, weightsManifest: [] }, weights: {} })) };
  const frames = [];
  const engine = {
    use: jest.fn(async (key, load) => { await load(); }),
    // inverts the colours, as a stand-in for a style
    stylize: jest.fn(async (rgba, width, height) => {
      frames.push([width, height, rgba[0], rgba[1], rgba[2]]);
      return rgba.map((v, i) => (i % 4 === 3 ? 255 : 255 - v));
    }),
    unload: jest.fn(),
  };
  const written = {};
  const readBytes = jest.fn(async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const session = createSession({
    wx: { getDeviceInfo: () => ({ platform: 'web', memorySize: 8192, benchmarkLevel: -1 }) },
    api, cache, engines: { tfjs: engine, wechat: null },
    readPixels: jest.fn(), writePicture: jest.fn(),
    readBytes,
    writeGif: jest.fn(async (wx, gif) => { written.bytes = gif; return 'blob:cartoon.gif'; }),
  });
  const states = [];
  const run = () => session.run({ photo: picked, style, onState: (s) => states.push(`${s.step}${s.percent === undefined ? '' : `:${s.percent}`}`) });
  return { api, engine, frames, written, states, run, session, readBytes };
}

test('on the device: each frame fitted to the planned size, stylized, and written as a GIF with its timing', async () => {
  const t = setup();
  const result = await t.run();
  expect(result).toMatchObject({ where: 'device', path: 'blob:cartoon.gif', mediaType: 'image/gif', width: 32, height: 24, frameCount: 3 });
  expect(t.frames).toEqual([[32, 24, 255, 0, 0], [32, 24, 0, 0, 255], [32, 24, 0, 160, 0]]);
  expect(t.states.filter((s) => s.startsWith('stylizing'))).toEqual(['stylizing', 'stylizing:33', 'stylizing:67', 'stylizing:100']);
  const out = readGif(t.written.bytes);
  const frames = [...out.frames()];
  expect([out.width, out.height, out.frameCount, out.loop]).toEqual([32, 24, 3, 0]);
  expect(frames.map((f) => f.delay)).toEqual(DELAYS);
  expect(Array.from(frames[0].imageData.data.slice(0, 3))).toEqual([0, 255, 255]);
  expect(t.api.createJob).not.toHaveBeenCalled();
});

test('a photo that carries its GIF\'s bytes (the web page reads them when it is picked) is not read again', async () => {
  const bytes = animatedGif();
  const t = setup({ bytes: animatedGif(1), picked: { ...photo, bytes: bytes.buffer } });
  const result = await t.run();
  expect(t.readBytes).not.toHaveBeenCalled();
  expect(result).toMatchObject({ where: 'device', frameCount: 3 }); // photo.bytes's 3 frames, not readBytes's 1
  expect(t.frames).toHaveLength(3);
});

test('larger than a tile: each frame is stylized in tiles', async () => {
  const t = setup({ plan: { where: 'device', variant: 'student_uint8', long_side: 64, tile: 32, overlap: 12 } });
  const result = await t.run();
  expect(result).toMatchObject({ where: 'device', width: 64, height: 48, frameCount: 3 });
  expect(t.frames.length).toBeGreaterThan(3);
  expect(Math.max(...t.frames.map(([w, h]) => Math.max(w, h)))).toBeLessThanOrEqual(32);
});

test('an engine with its own stylizeGif (the web page\'s worker) gets the whole GIF: bytes, planned size, tiling', async () => {
  const t = setup({ plan: { where: 'device', variant: 'student_uint8', long_side: 64, tile: 32, overlap: 12 } });
  // as web/src/worker.js: the core's frame loop, where the engine runs
  const tiles = [];
  t.engine.stylizeGif = jest.fn(async (bytes, { size, tiling, onFrame, cancel }) => stylizeGifAt(bytes, size,
    async (rgba, width, height) => {
      tiles.push([width, height]);
      return rgba.map((v, i) => (i % 4 === 3 ? 255 : 255 - v));
    }, { tiling, onFrame, cancel }));
  const result = await t.run();
  expect(result).toMatchObject({ where: 'device', mediaType: 'image/gif', width: 64, height: 48, frameCount: 3 });
  const [bytes, options] = t.engine.stylizeGif.mock.calls[0];
  expect(isGifBytes(bytes)).toBe(true);
  expect(options.size).toEqual({ width: 64, height: 48 });
  expect(options.tiling).toEqual({ tile: 32, overlap: 12, multiple: 4 });
  expect(options.cancel.cancelled).toBe(false);
  expect(t.engine.stylize).not.toHaveBeenCalled(); // no frame decoded or stylized by the session itself
  expect(tiles.length).toBeGreaterThan(3); // stylizeGifAt tiled each 64x48 frame by the plan's 32
  expect(Math.max(...tiles.flat())).toBeLessThanOrEqual(32);
  expect(t.states.filter((s) => s.startsWith('stylizing'))).toEqual(['stylizing', 'stylizing:33', 'stylizing:67', 'stylizing:100']);
  const out = readGif(t.written.bytes);
  expect([out.width, out.height, out.frameCount, out.loop]).toEqual([64, 48, 3, 0]);
  expect([...out.frames()].map((f) => f.delay)).toEqual(DELAYS);
});

describe('a context network (input.context): each frame gets its own context, the same for all its tiles', () => {
  const CONTEXT = { name: 'context', size: 8 };
  const served = { ...manifest, input: { ...manifest.input, context: CONTEXT } };
  const tiled = { where: 'device', variant: 'student_uint8', long_side: 64, tile: 32, overlap: 12 };

  test('in the session\'s own frame loop', async () => {
    const t = setup({ plan: tiled, served });
    await t.run();
    const calls = t.engine.stylize.mock.calls;
    const perFrame = calls.length / COLORS.length;
    expect(perFrame).toBeGreaterThan(1);
    COLORS.forEach((color, frame) => {
      const contexts = calls.slice(frame * perFrame, (frame + 1) * perFrame).map((args) => args[3]);
      contexts.forEach((c) => expect(c).toBe(contexts[0]));
      // the fitted frame squeezed: the frame's solid colour
      expect(Array.from(contexts[0])).toEqual(Array.from(contextThumbnail(solid(color).data, WIDTH, HEIGHT, 8)));
    });
  });

  test('in an engine\'s own stylizeGif (the web page\'s worker): the context travels with the tiling', async () => {
    const t = setup({ plan: tiled, served });
    const contexts = [];
    t.engine.stylizeGif = jest.fn(async (bytes, { size, tiling, onFrame, cancel }) => stylizeGifAt(bytes, size,
      async (rgba, width, height, context) => { contexts.push(context); return rgba; }, { tiling, onFrame, cancel }));
    await t.run();
    expect(t.engine.stylizeGif.mock.calls[0][1].tiling).toEqual({ tile: 32, overlap: 12, multiple: 4, context: CONTEXT });
    expect(contexts.length).toBeGreaterThan(COLORS.length);
    expect(new Set(contexts).size).toBe(COLORS.length);
    expect(Array.from(contexts[0].subarray(0, 4))).toEqual([...COLORS[0], 255]);
  });
});

test('cancel during an engine\'s own stylizeGif: the token reaches the engine, the run ends cancelled', async () => {
  const t = setup();
  let started;
  const running = new Promise((resolve) => { started = resolve; });
  t.engine.stylizeGif = jest.fn((bytes, { cancel }) => new Promise((resolve, reject) => {
    cancel.onCancel(() => reject(Object.assign(new Error('cancelled'), { code: 'cancelled' })));
    started();
  }));
  const run = t.run();
  await running;
  t.session.cancel();
  await expect(run).rejects.toMatchObject({ code: 'cancelled' });
  expect(t.written.bytes).toBeUndefined();
  expect(t.api.createJob).not.toHaveBeenCalled();
});

test('on the server: the GIF is uploaded and the result is a GIF', async () => {
  const t = setup({ plan: { where: 'server', variant: null, long_side: 48 } });
  const result = await t.run();
  expect(result).toMatchObject({ where: 'server', path: 'blob:server.gif', mediaType: 'image/gif' });
  expect(t.api.createJob.mock.calls[0].slice(0, 3)).toEqual(['blob:photo.gif', 'hayao', 48]);
});

test('past the frame limit: a clear error, no server job (the server has the same limit)', async () => {
  const t = setup({ bytes: animatedGif(101) });
  await expect(t.run()).rejects.toMatchObject({ code: 'gif_too_many_frames' });
  expect(t.engine.stylize).not.toHaveBeenCalled();
  expect(t.api.createJob).not.toHaveBeenCalled();
});

test('resizeRgba averages the pixels each output pixel covers', () => {
  const data = new Uint8ClampedArray([
    0, 0, 0, 255, 100, 100, 100, 255, 10, 20, 30, 255, 10, 20, 30, 255,
    200, 200, 200, 255, 100, 100, 100, 255, 10, 20, 30, 255, 10, 20, 30, 255,
  ]);
  expect(Array.from(resizeRgba(data, 4, 2, 2, 1))).toEqual([100, 100, 100, 255, 10, 20, 30, 255]);
  expect(resizeRgba(data, 4, 2, 4, 2)).toBe(data);
  expect(Array.from(resizeRgba(new Uint8ClampedArray([7, 8, 9, 255]), 1, 1, 2, 1))).toEqual([7, 8, 9, 255, 7, 8, 9, 255]);
});

test('resizeRgba gives exactly the box filter\'s bytes at uneven ratios, shrinking, enlarging and both', () => {
  // The definition, pixel by pixel: the rounded mean of the source pixels [x0, x1) x [y0, y1).
  function boxFilter(rgba, width, height, outWidth, outHeight) {
    const out = [];
    const span = (i, size, outSize) => {
      const start = Math.floor((i * size) / outSize);
      return [start, Math.max(start + 1, Math.floor(((i + 1) * size) / outSize))];
    };
    for (let y = 0; y < outHeight; y++) {
      for (let x = 0; x < outWidth; x++) {
        const [x0, x1] = span(x, width, outWidth);
        const [y0, y1] = span(y, height, outHeight);
        for (let c = 0; c < 4; c++) {
          let sum = 0;
          for (let sy = y0; sy < y1; sy++) for (let sx = x0; sx < x1; sx++) sum += rgba[(sy * width + sx) * 4 + c];
          const mean = sum / ((x1 - x0) * (y1 - y0));
          out.push(Math.abs(mean % 1) === 0.5 ? 2 * Math.round(mean / 2) : Math.round(mean)); // ties to even
        }
      }
    }
    return out;
  }
  const width = 37;
  const height = 23;
  const rgba = new Uint8ClampedArray(width * height * 4).map((_, i) => (i * 97 + (i >> 5) * 31) % 256);
  for (const [outWidth, outHeight] of [[10, 7], [16, 9], [50, 31], [20, 40], [37, 5], [1, 1]]) {
    const out = resizeRgba(rgba, width, height, outWidth, outHeight);
    expect(out).toBeInstanceOf(Uint8ClampedArray);
    expect(Array.from(out)).toEqual(boxFilter(rgba, width, height, outWidth, outHeight));
  }
});
