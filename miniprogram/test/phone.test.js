/**
 * @jest-environment node
 */
// The on-phone parts with real pixels and a real ONNX model: the PNG export written with the
// file system manager, the NCHW conversions, WeChat's engine (a wx.createInferenceSession double
// running the ONNX file with onnxruntime-web), and a session's cancellations, style switches and
// concurrent runs leaving one session alive, no file downloaded twice at once and nothing
// half-written.
const fs = require('fs');
const path = require('path');
const { PNG } = require('pngjs');
const { sha256 } = require('js-sha256');

const image = require('../core/image');
const { psnr } = require('./support/psnr');
const { createWechatStylizer } = require('../lib/wechat-engine');
const { createModelCache } = require('../core/model-cache');
const { createSession } = require('../core/session');
const { createMemoryGuard } = require('../core/memory');
const { createMemFs } = require('./support/memfs');
const { createInferenceSessionDouble, closeWorker } = require('./support/inference-session');

afterAll(closeWorker);

const MODEL = fs.readFileSync(path.join(__dirname, 'fixtures/first_to_all.onnx'));
// Inputs image and context (NCHW), output0: half the image plus half the context's mean colour
// (fixtures/context_mean.py writes it).
const CONTEXT_MODEL = fs.readFileSync(path.join(__dirname, 'fixtures/context_mean.onnx'));
const BGR = { color_order: 'BGR', value_range: [-1, 1], size_multiple: 4 };

function picture(width, height, rgb) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([...rgb(i), 255], i * 4);
  return rgba;
}

function phone() {
  const fsDouble = createMemFs();
  fsDouble.mkdir({ dirPath: 'wxfile://usr', recursive: true });
  const engine = createInferenceSessionDouble((p) => fsDouble.files.get(p));
  const wx = {
    env: { USER_DATA_PATH: 'wxfile://usr' },
    getFileSystemManager: () => fsDouble,
    createInferenceSession: engine.createInferenceSession,
  };
  return { wx, fs: fsDouble, engine };
}

describe('export without canvasToTempFilePath', () => {
  test('a picture is written as a PNG file that decodes to the same pixels', async () => {
    const { wx, fs: memfs } = phone();
    const rgba = picture(37, 23, (i) => [i % 256, (i * 7) % 256, (255 - i) & 255]);
    const file = await image.writePicture(wx, rgba, 37, 23, { now: () => 1 });
    expect(file).toBe('wxfile://usr/pictures/1.png');
    const png = PNG.sync.read(memfs.files.get(file));
    expect([png.width, png.height]).toEqual([37, 23]);
    expect(psnr(new Uint8ClampedArray(png.data), rgba)).toBe(Infinity);
  });

  test('only the last pictures are kept in the user data folder', async () => {
    const { wx, fs: memfs } = phone();
    const rgba = picture(8, 8, () => [1, 2, 3]);
    for (let t = 1; t <= 5; t++) await image.writePicture(wx, rgba, 8, 8, { now: () => t });
    const names = [...memfs.files.keys()].filter((p) => p.startsWith('wxfile://usr/pictures/')).sort();
    expect(names).toEqual(['wxfile://usr/pictures/3.png', 'wxfile://usr/pictures/4.png', 'wxfile://usr/pictures/5.png']);
  });
});

describe('NCHW input and output', () => {
  test('pads by reflection to the multiple, in the network order and range, and crops back', () => {
    const width = 5;
    const height = 3;
    const rgba = picture(width, height, (i) => [i, 100 + i, 200 + i]);
    const { data, shape } = image.rgbaToNchw(rgba, width, height, { colorOrder: 'BGR', range: [-1, 1], multiple: 4 });
    expect(shape).toEqual([1, 3, 4, 8]);
    const at = (c, y, x) => data[c * 32 + y * 8 + x];
    const value = (v) => (v * 2) / 255 - 1;
    expect(at(0, 0, 0)).toBeCloseTo(value(200)); // channel 0 is blue
    expect(at(2, 0, 0)).toBeCloseTo(value(0));
    expect(at(2, 0, 5)).toBeCloseTo(value(3)); // x = 5 mirrors x = 3
    expect(at(2, 3, 0)).toBeCloseTo(value(5)); // y = 3 mirrors y = 1 (pixel 5)
    const back = image.nchwToRgba(data, shape, width, height, { colorOrder: 'BGR', range: [-1, 1] });
    expect(Array.from(back)).toEqual(Array.from(rgba));
  });
});

describe("WeChat's inference engine", () => {
  async function loaded(t, key = 'a') {
    const stylizer = createWechatStylizer({ wx: t.wx });
    t.fs.putFile(`wxfile://usr/${key}.onnx`, MODEL);
    await stylizer.use(key, async () => `wxfile://usr/${key}.onnx`, {
      input: BGR, signature: { input: 'image', output: 'output0' }, precisionLevel: 2,
    });
    return stylizer;
  }

  test('runs the ONNX model on NCHW input in the manifest convention, same size out', async () => {
    const t = phone();
    const stylizer = await loaded(t);
    expect(t.engine.calls[0].options).toMatchObject({ model: 'wxfile://usr/a.onnx', precisionLevel: 2, allowNPU: false });
    const out = await stylizer.stylize(picture(7, 5, () => [200, 100, 10]), 7, 5);
    expect(out.length).toBe(7 * 5 * 4);
    // channel 0 of the BGR input is blue (10): every output channel is blue
    expect(Array.from(out.slice(0, 8))).toEqual([10, 10, 10, 255, 10, 10, 10, 255]);
    stylizer.unload();
    expect(t.engine.alive()).toBe(0);
  });

  test('one session: a style switch destroys the previous one; a model being loaded is not loaded twice', async () => {
    const t = phone();
    const stylizer = createWechatStylizer({ wx: t.wx });
    t.fs.putFile('wxfile://usr/a.onnx', MODEL);
    t.fs.putFile('wxfile://usr/b.onnx', MODEL);
    const loads = [];
    const use = (key) => stylizer.use(key, async () => { loads.push(key); return `wxfile://usr/${key}.onnx`; }, { input: BGR });
    await Promise.all([use('a'), use('a'), use('b'), use('a')]);
    expect(loads).toEqual(['a', 'b', 'a']);
    expect(t.engine.alive()).toBe(1);
    expect(stylizer.key).toBe('a');
    stylizer.unload();
    expect(t.engine.alive()).toBe(0);
  });

  test('a session unloaded during a run is destroyed when the run ends', async () => {
    const t = phone();
    const stylizer = await loaded(t);
    const running = stylizer.stylize(picture(8, 8, () => [1, 2, 3]), 8, 8);
    stylizer.unload();
    expect(t.engine.alive()).toBe(1);
    await running;
    await new Promise((r) => setImmediate(r));
    expect(t.engine.alive()).toBe(0);
  });

  test('a context network gets the whole picture squeezed as its NCHW input `context`, in the image\'s convention', async () => {
    const t = phone();
    const stylizer = createWechatStylizer({ wx: t.wx });
    t.fs.putFile('wxfile://usr/c.onnx', CONTEXT_MODEL);
    const input = { ...BGR, context: { name: 'context', size: 8 } };
    await stylizer.use('c', async () => 'wxfile://usr/c.onnx', { input, signature: { input: 'image', output: 'output0' } });
    const photo = picture(7, 5, () => [200, 100, 10]);
    const context = image.contextThumbnail(picture(30, 20, () => [100, 50, 250]), 30, 20, 8);
    const out = await stylizer.stylize(photo, 7, 5, context);
    // The mean of the pixel and the context's colour, channel for channel (a context in another
    // channel order would give 225, 75, 55).
    expect(Array.from(out.slice(0, 8))).toEqual([150, 75, 130, 255, 150, 75, 130, 255]);
    const dark = await stylizer.stylize(photo, 7, 5, image.contextThumbnail(picture(4, 4, () => [0, 0, 0]), 4, 4, 8));
    expect(Array.from(dark.slice(0, 4))).toEqual([100, 50, 5, 255]);
    await expect(stylizer.stylize(photo, 7, 5)).rejects.toThrow(/no context given/);
    expect(t.engine.calls[0].runs).toBe(2);
    stylizer.unload();
    expect(t.engine.alive()).toBe(0);
  });

  test('a model the engine cannot load is an error and leaves no session', async () => {
    const t = phone();
    t.fs.putFile('wxfile://usr/bad.onnx', Buffer.from('not onnx'));
    const stylizer = createWechatStylizer({ wx: t.wx });
    await expect(stylizer.use('bad', async () => 'wxfile://usr/bad.onnx', { input: BGR })).rejects.toThrow(/createInferenceSession:fail/);
    expect(t.engine.alive()).toBe(0);
    expect(stylizer.key).toBeNull();
  });
});

describe('memory warnings by level', () => {
  test('mild ones step the size down; critical or repeated ones stop on-phone work', () => {
    let now = 0;
    const guard = createMemoryGuard({ now: () => now });
    expect(guard.longSide(512)).toBe(512);
    expect(guard.warn(5)).toBe('free');
    expect(guard.longSide(512)).toBe(384);
    now = 120000;
    expect(guard.warn(undefined)).toBe('free'); // iOS: no level
    expect(guard.longSide(512)).toBe(256);
    expect(guard.longSide(300)).toBe(null); // nothing smaller than 256 left
    expect(guard.stopped).toBe(false);
    expect(createMemoryGuard().warn(15)).toBe('stop');
    const repeated = createMemoryGuard({ now: () => 0 });
    repeated.warn(10);
    repeated.warn(10);
    expect(repeated.warn(10)).toBe('stop');
  });
});

describe('a session on the phone: one run at a time, nothing leaks', () => {
  const styles = ['a', 'b'].map((id) => ({ id, version: 'v1' }));
  const manifestFor = (id) => ({
    id, version: 'v1', variant: 'wechat', input: BGR, signature: { input: 'image', output: 'output0' },
    model_url: `https://cdn.test/${id}/wechat.onnx`, bytes: MODEL.length,
    files: [{ path: 'wechat.onnx', url: `https://cdn.test/${id}/wechat.onnx`, bytes: MODEL.length, sha256: sha256(new Uint8Array(MODEL)) }],
  });

  function setup() {
    const t = phone();
    const active = new Set();
    const downloads = [];
    let overlap = false;
    let gate = Promise.resolve();
    const download = async (url, filePath, onProgress, cancel) => {
      if (active.has(filePath)) overlap = true;
      active.add(filePath);
      downloads.push(url);
      try {
        await Promise.race([gate, new Promise((resolve, reject) => cancel.onCancel(() => reject(new Error('aborted'))))]);
        t.fs.putFile(filePath, MODEL);
      } finally {
        active.delete(filePath);
      }
    };
    const cache = createModelCache({ fs: t.fs, root: 'wxfile://usr/models', download, sha256: (d) => sha256(d) });
    const wechat = createWechatStylizer({ wx: t.wx });
    const api = {
      plan: jest.fn(async () => ({ where: 'device', engine: 'wechat', variant: 'wechat', precision_level: 4, long_side: 16 })),
      manifest: jest.fn(async (id) => manifestFor(id)),
    };
    t.wx.getDeviceInfo = () => ({ platform: 'android', memorySize: 8192 });
    const session = createSession({
      wx: t.wx, api, cache, engines: { wechat, tfjs: null }, log: (m) => process.env.DEBUG_SESSION && console.log(m),
      readPixels: async (w, p, width, height) => picture(width, height, () => [200, 100, 10]),
    });
    const photo = { path: 'wxfile://tmp/photo.jpg', width: 20, height: 12 };
    return {
      t, session, wechat, downloads, photo,
      overlap: () => overlap,
      hold() { let release; gate = new Promise((r) => { release = r; }); return () => release(); },
      run: (style) => session.run({ photo, style }),
    };
  }

  test('cancels, style switches and overlapping runs end with one session and verified files only', async () => {
    const s = setup();
    // a download cancelled half-way (the user left the page)
    const release = s.hold();
    const first = s.run(styles[0]);
    await new Promise((r) => setTimeout(r, 10));
    s.session.cancel();
    await expect(first).rejects.toMatchObject({ code: 'cancelled' });
    release();
    expect([...s.t.fs.files.keys()].some((p) => p.endsWith('.partial'))).toBe(false);
    expect(s.t.engine.alive()).toBe(0);

    // a new run while one is under way cancels it; the file is never fetched twice at once
    const slow = s.hold();
    const a = s.run(styles[0]);
    await new Promise((r) => setTimeout(r, 10));
    const b = s.run(styles[1]);
    slow();
    await expect(a).rejects.toMatchObject({ code: 'cancelled' });
    const result = await b;
    expect(result).toMatchObject({ where: 'device', engine: 'wechat', width: 16, height: 9 });
    expect(s.overlap()).toBe(false);

    // style switches: one session alive, the right one
    await s.run(styles[0]);
    await s.run(styles[0]);
    await s.run(styles[1]);
    expect(s.t.engine.alive()).toBe(1);
    expect(s.wechat.key).toBe('b/v1/wechat');
    const downloaded = s.downloads.filter((u) => u.includes('/b/')).length;
    await s.run(styles[1]);
    expect(s.downloads.filter((u) => u.includes('/b/')).length).toBe(downloaded); // cached
    expect(s.t.engine.calls.filter((c) => !c.destroyed).every((c) => c.runs > 0)).toBe(true);

    // a critical warning: the session is freed, later photos go to the server
    s.session.memoryWarning(15);
    expect(s.t.engine.alive()).toBe(0);
  });
});
