/**
 * @jest-environment node
 */
// The phone follows a plan that sends it the style's student (backend/plan.py, docs/api.md):
// it downloads the planned variant, loads it with the student's WebGL settings and stylizes the
// photo at the planned long side in tiles of the planned size.
const { createSession } = require('../core/session');
const { contextThumbnail } = require('../core/image');

const photo = { path: 'wxfile://tmp/photo.jpg', width: 4000, height: 3000 };
const studentWebgl = [{ size: 512, im2col: true, max_texture_width: 2048, max_texture_height: 1024, ok: true }];
const style = { id: 'hayao', profile: { student_uint8: { webgl: studentWebgl } } };
const plan = {
  where: 'device', network: 'student', variant: 'student_uint8', long_side: 2048, tile: 512, overlap: 64,
  webgl_settings: { WEBGL_CONV_IM2COL: true, WEBGL_DELETE_TEXTURE_THRESHOLD: -1 },
  manifest_url: 'http://api.test/api/v1/styles/hayao/manifest?variant=student_uint8',
};
const manifest = {
  id: 'hayao', version: 'v1', variant: 'student_uint8', network: 'student', files: [], bytes: 300 * 1024,
  input: { color_order: 'BGR', value_range: [-1, 1], size_multiple: 4 },
  webgl_settings: plan.webgl_settings,
  tiling: { receptive_field: 62, overlap: 64, statistics: false },
};

function setup(maxTexture = 4096, { served = manifest, planned = plan, pixels = (width, height) => new Uint8ClampedArray(width * height * 4) } = {}) {
  const api = {
    plan: jest.fn(async () => planned),
    manifest: jest.fn(async () => served),
    createJob: jest.fn(),
  };
  const cache = { load: jest.fn(async () => ({ modelJson: { modelTopology: {}, weightsManifest: [] }, weights: {} })) };
  const tiles = [];
  const engine = () => ({
    use: jest.fn(async (key, load) => { await load(); }),
    stylize: jest.fn(async (rgba, w, h) => { tiles.push([w, h]); return new Uint8ClampedArray(w * h * 4); }),
    unload: jest.fn(),
  });
  const stylizer = engine();
  const wechat = engine();
  const wx = { getDeviceInfo: () => ({ platform: 'android', memorySize: '4096', benchmarkLevel: 30 }) };
  const session = createSession({
    wx, api, cache: { ...cache, modelPath: jest.fn(async () => 'wxfile://usr/student.onnx') }, engines: { tfjs: stylizer, wechat: planned.engine === 'wechat' ? wechat : null },
    maxTextureSize: () => maxTexture,
    readPixels: jest.fn(async (w, path, width, height) => pixels(width, height)),
    writePicture: jest.fn(async () => 'wxfile://tmp/device.png'),
  });
  return { api, stylizer, wechat, tiles, run: () => session.run({ photo, style }) };
}

test('the phone runs the planned student variant in tiles at the planned size', async () => {
  const t = setup();
  const result = await t.run();
  expect(result).toMatchObject({ where: 'device', width: 2048, height: 1536 });
  expect(t.api.manifest).toHaveBeenCalledWith('hayao', 'student_uint8');
  expect(t.stylizer.use.mock.calls[0][0]).toBe('hayao/v1/student_uint8');
  expect(t.stylizer.use.mock.calls[0][2]).toEqual({ input: manifest.input, webglSettings: plan.webgl_settings });
  expect(t.tiles.length).toBeGreaterThan(1);
  expect(Math.max(...t.tiles.flat())).toBeLessThanOrEqual(512);
  expect(t.api.createJob).not.toHaveBeenCalled();
});

test('a context student (input.context): every tile gets the same context, the whole picture squeezed, in either engine', async () => {
  // The manifest API gives the student's own `input` (the package's student.input) for its variants.
  const input = { ...manifest.input, context: { name: 'context', size: 16 } };
  const pixels = (width, height) => new Uint8ClampedArray(width * height * 4).map((_, i) => (i * 7 + (i >> 12)) % 256);
  const picture = pixels(2048, 1536);
  for (const [name, variant] of [['tfjs', 'student_uint8'], ['wechat', 'student_wechat']]) {
    const t = setup(4096, {
      served: { ...manifest, variant, input }, planned: { ...plan, variant, engine: name === 'wechat' ? 'wechat' : undefined }, pixels,
    });
    await t.run();
    const engine = name === 'wechat' ? t.wechat : t.stylizer;
    expect(engine.use.mock.calls[0][2].input).toEqual(input);
    const calls = engine.stylize.mock.calls;
    expect(calls.length).toBeGreaterThan(1);
    calls.forEach((args) => expect(args[3]).toBe(calls[0][3]));
    expect(Array.from(calls[0][3])).toEqual(Array.from(contextThumbnail(picture, 2048, 1536, 16)));
  }
});

describe('styleDownload: the size a style picker shows is that of the variant the plan sends', () => {
  const { styleDownload } = require('../core/plan');
  const teacher = { bytes: 11e6, download_bytes: 9.5e6, network: 'teacher' };
  const withStudent = {
    id: 'hayao',
    variants: {
      uint8: teacher, float16: { bytes: 22e6, network: 'teacher' }, wechat: { bytes: 44e6, network: 'teacher' },
      student_uint8: { bytes: 1.2e6, download_bytes: 1e6, network: 'student' },
      student_float16: { bytes: 2.3e6, network: 'student' },
      student_wechat: { bytes: 4.6e6, download_bytes: 4e6, network: 'student' },
    },
  };
  const teacherOnly = { id: 'paprika', variants: { uint8: teacher, wechat: { bytes: 44e6, network: 'teacher' } } };

  test('the student when the style has one, in the engine\'s variant', () => {
    expect(styleDownload(withStudent)).toEqual({ variant: 'student_uint8', bytes: 1e6 });
    expect(styleDownload(withStudent, { engineVariant: 'wechat' })).toEqual({ variant: 'student_wechat', bytes: 4e6 });
    const noStudentWechat = { variants: { ...withStudent.variants, student_wechat: undefined } };
    expect(styleDownload(noStudentWechat, { engineVariant: 'wechat' })).toEqual({ variant: 'student_uint8', bytes: 1e6 });
  });

  test('the teacher for a style without a student; nothing for an empty catalogue entry', () => {
    expect(styleDownload(teacherOnly)).toEqual({ variant: 'uint8', bytes: 9.5e6 });
    expect(styleDownload(teacherOnly, { engineVariant: 'wechat' })).toEqual({ variant: 'wechat', bytes: 44e6 });
    expect(styleDownload({ id: 'x', variants: {} })).toBeNull();
  });

  test('a device plan has the last word (float16 for a large phone); a server plan changes nothing', () => {
    expect(styleDownload(withStudent, { plan: { where: 'device', variant: 'student_float16' } }))
      .toEqual({ variant: 'student_float16', bytes: 2.3e6 });
    expect(styleDownload(withStudent, { plan: { where: 'server', variant: null } })).toEqual({ variant: 'student_uint8', bytes: 1e6 });
  });
});
