/**
 * @jest-environment node
 */
const { fitSize, padding, rgbaToInput, outputToRgba } = require('../core/image');
const { readDeviceFacts, planRequest } = require('../core/plan');
const { psnr } = require('./support/psnr');

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
});
