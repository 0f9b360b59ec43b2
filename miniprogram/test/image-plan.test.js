/**
 * @jest-environment node
 */
const { fitSize, padding, rgbaToInput, outputToRgba, psnr } = require('../lib/image');
const { readDeviceFacts, planRequest, webglProfile, textureFits } = require('../lib/plan');

describe('image', () => {
  test('fitSize brings the long side to the planned size like the server (other side rounded down)', () => {
    expect(fitSize(4032, 3024, 512)).toEqual({ width: 512, height: 384 });
    expect(fitSize(1000, 1333, 512)).toEqual({ width: 384, height: 512 }); // 384.1 → 384
    expect(fitSize(1333, 1000, 512)).toEqual({ width: 512, height: 384 }); // 384.09 → 384
    expect(fitSize(300, 200, 512)).toEqual({ width: 300, height: 200 }); // never enlarged
  });

  test('padding to a multiple', () => {
    expect(padding(384, 512, 4)).toEqual({ bottom: 0, right: 0 });
    expect(padding(383, 510, 4)).toEqual({ bottom: 1, right: 2 });
    expect(padding(5, 5, 1)).toEqual({ bottom: 0, right: 0 });
  });

  test('RGB ↔ network values round-trip in either channel order', () => {
    const rgba = new Uint8ClampedArray([255, 128, 0, 255, 10, 20, 30, 255]);
    const bgr = rgbaToInput(rgba, 2, 1, 'BGR', [-1, 1]);
    expect(Array.from(bgr.slice(0, 3)).map((v) => +v.toFixed(3))).toEqual([-1, 0.004, 1]);
    expect(Array.from(outputToRgba(bgr, 2, 1, 'BGR', [-1, 1]))).toEqual(Array.from(rgba));
    const rgb = rgbaToInput(rgba, 2, 1, 'RGB', [0, 1]);
    expect(rgb[0]).toBe(1);
    expect(Array.from(outputToRgba(rgb, 2, 1, 'RGB', [0, 1]))).toEqual(Array.from(rgba));
  });

  test('outputs out of range are clamped, alpha is opaque', () => {
    const out = outputToRgba(new Float32Array([-1.5, 0, 2]), 1, 1, 'RGB', [-1, 1]);
    expect(Array.from(out)).toEqual([0, 128, 255, 255]);
  });

  test('psnr', () => {
    const a = new Uint8ClampedArray([10, 10, 10, 255]);
    expect(psnr(a, a)).toBe(Infinity);
    expect(psnr(a, new Uint8ClampedArray([11, 11, 11, 255]))).toBeCloseTo(48.13, 1);
  });
});

describe('plan', () => {
  test('device facts from getDeviceInfo and getDeviceBenchmarkInfo', async () => {
    const wx = {
      getDeviceInfo: () => ({ platform: 'android', memorySize: '7680', benchmarkLevel: 20 }),
      getDeviceBenchmarkInfo: ({ success }) => success({ benchmarkLevel: 31, modelLevel: 1 }),
    };
    expect(await readDeviceFacts(wx)).toEqual({ platform: 'android', memorySize: 7680, benchmarkLevel: 31, modelLevel: 1 });
  });

  test('older clients: getSystemInfoSync, no benchmark API', async () => {
    const wx = { getSystemInfoSync: () => ({ platform: 'ios' }) };
    expect(await readDeviceFacts(wx)).toEqual({ platform: 'ios', memorySize: 0, benchmarkLevel: -1, modelLevel: 0 });
  });

  test('the plan request carries what docs/api.md lists', () => {
    expect(planRequest({ platform: 'ios', memorySize: 6000, benchmarkLevel: -1 }, 'hayao', { width: 4032, height: 3024 }, 4096))
      .toEqual({ style: 'hayao', inferenceEngine: false, memorySize: 6000, benchmarkLevel: -1, platform: 'ios', maxTextureSize: 4096, photo: { width: 4032, height: 3024 } });
    expect(planRequest({}, 'hayao', { width: 1, height: 1 }, null, true).inferenceEngine).toBe(true);
  });

  const profile = [
    { size: 256, im2col: true, max_texture_width: 9000, max_texture_height: 100, ok: true },
    { size: 256, im2col: false, max_texture_width: 2048, max_texture_height: 1024, ok: true },
    { size: 512, im2col: false, max_texture_width: 4096, max_texture_height: 2048, ok: true },
    { size: 1024, im2col: false, max_texture_width: 0, max_texture_height: 0, ok: false },
  ];
  const settings = { WEBGL_CONV_IM2COL: false };

  test('a size fits when its largest texture (with the recommended settings) is within the device maximum', () => {
    expect(textureFits(profile, 512, settings, 4096)).toBe(true);
    expect(textureFits(profile, 512, settings, 2048)).toBe(false);
    expect(textureFits(profile, 256, settings, 2048)).toBe(true);
    // 384 is as near 256 as 512: like the backend, the larger is used, scaled: 4096 × 384/512 = 3072
    expect(textureFits(profile, 384, settings, 3072)).toBe(true);
    expect(textureFits(profile, 384, settings, 2048)).toBe(false);
    // rows measured with im2col on (9000 wide) do not count when the manifest turns it off
    expect(textureFits(profile, 256, { WEBGL_CONV_IM2COL: true }, 4096)).toBe(false);
  });

  test('unknown without WebGL or without measurements', () => {
    expect(textureFits(profile, 512, settings, null)).toBeNull();
    expect(textureFits(null, 512, settings, 4096)).toBeNull();
  });

  test('the WebGL profile is found in /styles entries as the backend lists them', () => {
    const style = { profile: { uint8: { webgl: profile }, float16: null } };
    expect(webglProfile(style, {}, 'uint8')).toBe(profile);
    expect(webglProfile(style, {}, 'float16')).toBeNull();
  });
});
