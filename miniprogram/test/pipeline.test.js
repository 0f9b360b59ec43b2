/**
 * @jest-environment node
 */
// The TF.js fallback pipeline in Node with the TF.js the tfjs subpackage pins (CPU backend), on
// a hand-written graph model (test/support/tiny-model.js). The real model zoo
// package is exercised by test/integration/real-backend.test.js.
const { tf, loadGraphModel, ready } = require('./support/tfjs');
const { createStylizer, graphModelArtifacts, applyWebglSettings } = require('../core/pipeline');
const { contextThumbnail } = require('../core/image');
const { tinyModelFiles, tinyContextModelFiles, toArrayBuffer, IDENTITY, FIRST_TO_ALL, HALF } = require('./support/tiny-model');

beforeAll(ready);

function artifacts(kernel, files = tinyModelFiles(kernel)) {
  return graphModelArtifacts(JSON.parse(files['tfjs_uint8/model.json']), {
    'group1-shard1of1.bin': toArrayBuffer(files['tfjs_uint8/group1-shard1of1.bin']),
  });
}

function picture(width, height, rgb) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([...rgb(i), 255], i * 4);
  return rgba;
}

const BGR = { color_order: 'BGR', value_range: [-1, 1], size_multiple: 4 };

test('feeds the network BGR when the manifest says so, and turns its BGR output back to RGB', async () => {
  const stylizer = createStylizer({ tf, loadGraphModel });
  await stylizer.use('first', async () => artifacts(FIRST_TO_ALL), { input: BGR });
  const out = await stylizer.stylize(picture(4, 4, () => [200, 100, 10]), 4, 4);
  // channel 0 of the BGR input is blue (10): every output channel is blue
  expect(Array.from(out.slice(0, 4))).toEqual([10, 10, 10, 255]);
  stylizer.unload();

  await stylizer.use('identity', async () => artifacts(IDENTITY), { input: BGR });
  const same = await stylizer.stylize(picture(4, 4, () => [200, 100, 10]), 4, 4);
  expect(Array.from(same.slice(0, 4))).toEqual([200, 100, 10, 255]);
  stylizer.unload();
});

test('pads to the size multiple, crops back, and keeps every pixel in place', async () => {
  const shapes = [];
  const base = await loadGraphModel({ load: async () => artifacts(IDENTITY) });
  const spy = { predict: (x) => { shapes.push(x.shape); return base.predict(x); }, dispose: () => base.dispose() };
  const stylizer = createStylizer({ tf, loadGraphModel });
  await stylizer.use('spy', async () => spy, { input: BGR });
  const width = 7;
  const height = 5;
  const input = picture(width, height, (i) => [i % 256, (i * 3) % 256, (i * 7) % 256]);
  const out = await stylizer.stylize(input, width, height);
  expect(shapes[shapes.length - 1]).toEqual([1, 8, 8, 3]);
  expect(out.length).toBe(width * height * 4);
  expect(Array.from(out)).toEqual(Array.from(input));
  stylizer.unload();
});

test('warms up after loading and keeps tf.memory() at its baseline after each photo', async () => {
  const stylizer = createStylizer({ tf, loadGraphModel });
  const before = tf.memory().numTensors;
  await stylizer.use('identity', async () => artifacts(IDENTITY), { input: BGR });
  const baseline = tf.memory();
  expect(baseline.numTensors).toBe(before + 1); // the kernel weight only
  for (let i = 0; i < 3; i++) {
    await stylizer.stylize(picture(13, 9, () => [1, 2, 3]), 13, 9);
    expect(tf.memory().numTensors).toBe(baseline.numTensors);
    expect(tf.memory().numBytes).toBe(baseline.numBytes);
  }
  stylizer.unload();
  expect(tf.memory().numTensors).toBe(before);
});

test('keeps one model in memory: switching styles disposes the previous one', async () => {
  const disposed = [];
  const load = (name) => async () => {
    const model = await loadGraphModel({ load: async () => artifacts(IDENTITY) });
    const dispose = model.dispose.bind(model);
    model.dispose = () => { disposed.push(name); dispose(); };
    return model;
  };
  const stylizer = createStylizer({ tf, loadGraphModel });
  const before = tf.memory().numTensors;
  await stylizer.use('a', load('a'), { input: BGR });
  await stylizer.use('a', load('a-again'), { input: BGR }); // same key: nothing reloaded
  await stylizer.use('b', load('b'), { input: BGR });
  expect(disposed).toEqual(['a']);
  expect(tf.memory().numTensors).toBe(before + 1);
  expect(stylizer.key).toBe('b');
  stylizer.unload();
  expect(disposed).toEqual(['a', 'b']);
});

test('a model that fails its warm-up is not kept', async () => {
  const broken = { predict: () => { throw new Error('shader compile failed'); }, dispose: jest.fn() };
  const stylizer = createStylizer({ tf, loadGraphModel });
  await expect(stylizer.use('x', async () => broken, { input: BGR })).rejects.toThrow('shader');
  expect(broken.dispose).toHaveBeenCalled();
  expect(stylizer.key).toBeNull();
});

test('applies the WebGL flags the manifest recommends and skips unknown ones', () => {
  const applied = applyWebglSettings(tf, { WEBGL_CONV_IM2COL: false, WEBGL_DELETE_TEXTURE_THRESHOLD: 0, NOT_A_FLAG: 1 });
  expect(applied).toEqual({ WEBGL_CONV_IM2COL: false, WEBGL_DELETE_TEXTURE_THRESHOLD: 0 });
  expect(tf.env().get('WEBGL_CONV_IM2COL')).toBe(false);
  expect(tf.env().get('WEBGL_DELETE_TEXTURE_THRESHOLD')).toBe(0);
});

describe('a context network (input.context): the whole picture squeezed as a second input', () => {
  const CONTEXT = { ...BGR, context: { name: 'context', size: 8 } };
  const load = async () => artifacts(HALF, tinyContextModelFiles(HALF));

  test('feeds the context by name in the image\'s convention: it changes the output', async () => {
    const stylizer = createStylizer({ tf, loadGraphModel });
    await stylizer.use('context', load, { input: CONTEXT });
    const image = picture(6, 5, () => [200, 100, 10]);
    const run = async (rgb) => stylizer.stylize(image, 6, 5, contextThumbnail(picture(20, 12, () => rgb), 20, 12, 8));
    // Each output pixel is the mean of the input pixel and the context's mean colour, channel for
    // channel: a context converted in another channel order would give (225, 75, 55).
    const out = await run([100, 50, 250]);
    expect(Array.from(out.slice(0, 8))).toEqual([150, 75, 130, 255, 150, 75, 130, 255]);
    const dark = await run([0, 0, 0]);
    expect(Array.from(dark.slice(0, 4))).toEqual([100, 50, 5, 255]);
    stylizer.unload();
  });

  test('without a context, or with one of another size, stylize throws rather than guess', async () => {
    const stylizer = createStylizer({ tf, loadGraphModel });
    await stylizer.use('context', load, { input: CONTEXT });
    const before = tf.memory().numTensors;
    const image = picture(4, 4, () => [1, 2, 3]);
    await expect(stylizer.stylize(image, 4, 4)).rejects.toThrow(/squeezed to 8x8.*no context given/);
    await expect(stylizer.stylize(image, 4, 4, contextThumbnail(image, 4, 4, 4))).rejects.toThrow(/not the 8x8 RGBA/);
    expect(tf.memory().numTensors).toBe(before);
    stylizer.unload();
  });

  test('warms up with a zero context and keeps tf.memory() at its baseline', async () => {
    const shapes = [];
    const before = tf.memory().numTensors;
    const base = await loadGraphModel({ load });
    const spy = {
      predict: (inputs) => { shapes.push([inputs.image.shape, inputs.context.shape]); return base.predict(inputs); },
      dispose: () => base.dispose(),
    };
    const stylizer = createStylizer({ tf, loadGraphModel, warmupSize: 10 });
    await stylizer.use('spy', async () => spy, { input: CONTEXT });
    expect(shapes).toEqual([[[1, 12, 12, 3], [1, 8, 8, 3]]]);
    const baseline = tf.memory();
    expect(baseline.numTensors).toBe(before + 3); // kernel, axes, half
    for (let i = 0; i < 3; i++) {
      const image = picture(13, 9, (j) => [j % 256, 2, 3]);
      await stylizer.stylize(image, 13, 9, contextThumbnail(image, 13, 9, 8));
      expect(tf.memory().numTensors).toBe(baseline.numTensors);
      expect(tf.memory().numBytes).toBe(baseline.numBytes);
    }
    expect(shapes[shapes.length - 1]).toEqual([[1, 12, 16, 3], [1, 8, 8, 3]]);
    stylizer.unload();
    expect(tf.memory().numTensors).toBe(before);
  });
});
