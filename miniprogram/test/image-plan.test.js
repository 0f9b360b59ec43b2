/**
 * @jest-environment node
 */
const { fitSize, padding, rgbaToInput, outputToRgba, contextThumbnail, inputConvention, checkContext } = require('../core/image');
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

  // A width×height picture whose pixel v (row by row) is (10v, 255 - 10v, 100), opaque.
  function numbered(width, height) {
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let v = 0; v < width * height; v++) rgba.set([10 * v, 255 - 10 * v, 100, 255], v * 4);
    return rgba;
  }

  test('contextThumbnail squeezes the whole picture as PIL\'s BOX filter does (the training\'s thumbnail)', () => {
    // Expected red channels: Image.fromarray(picture).resize((size, size), Image.Resampling.BOX)
    // (Pillow 11), as training/imaging.py context_thumbnail makes it. Exact here; in general
    // within 1, as PIL rounds between its horizontal and vertical passes
    // (tests/test_context_thumbnail_js.py).
    const cases = [
      // 4x4 → 2: each pixel the mean of a 2x2 block (an integer ratio)
      [4, 4, 2, [25, 45, 105, 125]],
      // 3x3 → 2 (ratio 1.5): the middle row and column, whose centres lie on the edge between
      // two output pixels, go whole to the first (an area-weighted mean would give 15, 35, ...)
      [3, 3, 2, [20, 35, 65, 80]],
      // 5x3 → 2: width and height squeezed independently (3 + 2 columns, 2 + 1 rows)
      [5, 3, 2, [35, 60, 110, 135]],
      // 2x3 → 4: enlarged, each output pixel the source pixel under its centre
      [2, 3, 4, [0, 0, 10, 10, 20, 20, 30, 30, 20, 20, 30, 30, 40, 40, 50, 50]],
    ];
    for (const [width, height, size, red] of cases) {
      const thumbnail = contextThumbnail(numbered(width, height), width, height, size);
      expect(thumbnail).toBeInstanceOf(Uint8ClampedArray);
      expect(Array.from(thumbnail)).toEqual(red.flatMap((r) => [r, 255 - r, 100, 255]));
    }
    // The same size: the picture itself, in new bytes.
    const picture = numbered(8, 8);
    const same = contextThumbnail(picture, 8, 8, 8);
    expect(same).not.toBe(picture);
    expect(Array.from(same)).toEqual(Array.from(picture));
    expect(() => contextThumbnail(picture, 8, 8, 0)).toThrow(RangeError);
  });

  test('a manifest\'s input.context: a context network\'s engine refuses a missing or wrong-sized context', () => {
    const plain = inputConvention({ color_order: 'BGR', value_range: [-1, 1], size_multiple: 4 });
    expect(plain).toEqual({ colorOrder: 'BGR', range: [-1, 1], multiple: 4, context: null });
    expect(() => checkContext(plain, undefined)).not.toThrow();
    const withContext = inputConvention({ color_order: 'BGR', context: { name: 'context', size: 8 } });
    expect(withContext.context).toEqual({ name: 'context', size: 8 });
    expect(() => checkContext(withContext, undefined)).toThrow(/whole picture squeezed to 8x8.*no context given/);
    expect(() => checkContext(withContext, new Uint8ClampedArray(4 * 4 * 4))).toThrow(/not the 8x8 RGBA/);
    expect(() => checkContext(withContext, new Uint8ClampedArray(8 * 8 * 4))).not.toThrow();
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
