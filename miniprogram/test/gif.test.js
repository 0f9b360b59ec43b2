/**
 * @jest-environment node
 */
// Animated GIFs on the device (core/gif.js): a round trip keeps frame count, delays and loop, frames
// are composited as GIF viewers do, each goes through the injected stylizeFrame, limits are clear.
const fs = require('fs');
const path = require('path');
const { GIFEncoder, quantize, applyPalette } = require('gifenc');
const { GIF_LIMITS, isGif, isAnimatedGif, readGif, createGifWriter, stylizeGif, stylizeGifAt } = require('../core/gif');
const { createCancel } = require('../core/cancel');

const WIDTH = 40;
const HEIGHT = 30;
const RED = [255, 0, 0];
const BLUE = [0, 0, 255];
const GREEN = [0, 160, 0];

// An opaque frame of one colour, with an optional square of another at (left, top), 10x10.
function frame(color, square = null, width = WIDTH, height = HEIGHT) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = square && x >= square.left && x < square.left + 10 && y >= square.top && y < square.top + 10;
      data.set([...(inside ? square.color : color), 255], (y * width + x) * 4);
    }
  }
  return { data, width, height };
}

function gif(frames, delays, loop) {
  const writer = createGifWriter({ loop });
  frames.forEach((f, i) => writer.add(f, delays[i]));
  return writer.finish();
}

function pixel(imageData, x, y) {
  const at = (y * imageData.width + x) * 4;
  return Array.from(imageData.data.slice(at, at + 3));
}

function decoded(bytes) {
  const read = readGif(bytes);
  const frames = [...read.frames()];
  return { ...read, frames, delays: frames.map((f) => f.delay) };
}

test('a round trip keeps the frame count, the delays and the loop count', () => {
  const pictures = [frame(RED), frame(RED), frame(BLUE, { left: 5, top: 5, color: GREEN })];
  for (const loop of [0, 3, null]) {
    const bytes = gif(pictures, [100, 0, 70], loop);
    expect(isGif(bytes)).toBe(true);
    const read = decoded(bytes);
    expect([read.width, read.height, read.frameCount, read.loop]).toEqual([WIDTH, HEIGHT, 3, loop]);
    expect(read.delays).toEqual([100, 0, 70]); // equal frames stay apart, a zero delay stays zero
    expect(pixel(read.frames[0].imageData, 0, 0)).toEqual(RED);
    expect(pixel(read.frames[2].imageData, 0, 0)).toEqual(BLUE);
    expect(pixel(read.frames[2].imageData, 7, 7)).toEqual(GREEN);
  }
});

test('frames stored as offset deltas by other software are composited', () => {
  // Written by Pillow (see the fixture's frames): frames 2 and 3 are cropped to what changed.
  const read = decoded(fs.readFileSync(path.join(__dirname, 'fixtures', 'pillow-deltas.gif')));
  expect([read.frameCount, read.loop, read.delays]).toEqual([3, 4, [120, 60, 0]]);
  const [first, second, third] = read.frames.map((f) => f.imageData);
  expect([pixel(first, 15, 10), pixel(first, 39, 29)]).toEqual([RED, RED]);
  expect([pixel(second, 15, 10), pixel(second, 25, 10), pixel(second, 0, 0)]).toEqual([BLUE, RED, RED]);
  expect([pixel(third, 15, 10), pixel(third, 25, 10), pixel(third, 0, 0)]).toEqual([RED, BLUE, RED]);
});

test('transparency and the disposal methods: keep, to background (white), to previous', () => {
  // Frame 1 red; frame 2 a blue square, the rest transparent, with the given disposal; frame 3 a
  // green square elsewhere, the rest transparent.
  function transparentSquare(color, left, dispose, encoder) {
    const { data } = frame([0, 0, 0], { left, top: 5, color });
    const palette = [[0, 0, 0], color];
    encoder.writeFrame(applyPalette(data, palette), WIDTH, HEIGHT, {
      palette, delay: 50, transparent: true, transparentIndex: 0, dispose,
    });
  }
  function thirdFrame(dispose) {
    const encoder = GIFEncoder();
    const { data } = frame(RED);
    encoder.writeFrame(applyPalette(data, quantize(data, 4)), WIDTH, HEIGHT, { palette: quantize(data, 4), delay: 50 });
    transparentSquare(BLUE, 0, dispose, encoder);
    transparentSquare(GREEN, 20, 1, encoder);
    encoder.finish();
    return decoded(encoder.bytes()).frames[2].imageData;
  }
  const kept = thirdFrame(1);
  expect([pixel(kept, 5, 10), pixel(kept, 25, 10), pixel(kept, 35, 25)]).toEqual([BLUE, GREEN, RED]);
  const cleared = thirdFrame(2);
  expect([pixel(cleared, 5, 10), pixel(cleared, 25, 10), pixel(cleared, 35, 25)])
    .toEqual([[255, 255, 255], GREEN, [255, 255, 255]]);
  const restored = thirdFrame(3);
  expect([pixel(restored, 5, 10), pixel(restored, 25, 10), pixel(restored, 35, 25)]).toEqual([RED, GREEN, RED]);
});

test('stylizeGif runs stylizeFrame once per frame, in order, and keeps delays and loop', async () => {
  const source = gif([frame(RED), frame(BLUE), frame(GREEN)], [40, 250, 90], 2);
  const seen = [];
  const progress = [];
  // A stand-in "style": inverts the colours and halves the size; asynchronous, like inference.
  async function stylizeFrame({ data, width, height }) {
    seen.push(pixel({ data, width }, 0, 0));
    const out = new Uint8ClampedArray((width / 2) * (height / 2) * 4);
    for (let y = 0; y < height / 2; y++) {
      for (let x = 0; x < width / 2; x++) {
        const from = (2 * y * width + 2 * x) * 4;
        out.set([255 - data[from], 255 - data[from + 1], 255 - data[from + 2], 255], (y * (width / 2) + x) * 4);
      }
    }
    return { data: out, width: width / 2, height: height / 2 };
  }
  const result = await stylizeGif(source, stylizeFrame, { onFrame: (i, n) => progress.push(`${i}/${n}`) });
  expect(seen).toEqual([RED, BLUE, GREEN]);
  expect(progress).toEqual(['1/3', '2/3', '3/3']);
  expect([result.width, result.height, result.frameCount, result.loop]).toEqual([20, 15, 3, 2]);
  const read = decoded(result.bytes);
  expect([read.width, read.height, read.frameCount, read.loop, read.delays]).toEqual([20, 15, 3, 2, [40, 250, 90]]);
  expect(read.frames.map((f) => pixel(f.imageData, 3, 3))).toEqual([[0, 255, 255], [255, 255, 0], [255, 95, 255]]);
});

test('the frame limit and the pixel limit give clear errors before any frame is stylized', async () => {
  const source = gif([frame(RED), frame(BLUE), frame(GREEN)], [10, 10, 10], 0);
  const stylizeFrame = jest.fn((imageData) => imageData);
  await expect(stylizeGif(source, stylizeFrame, { limits: { ...GIF_LIMITS, maxFrames: 2 } }))
    .rejects.toMatchObject({ name: 'AppError', code: 'gif_too_many_frames', message: expect.stringMatching(/3 帧.*2 帧/) });
  await expect(stylizeGif(source, stylizeFrame, { limits: { ...GIF_LIMITS, maxPixels: WIDTH * HEIGHT * 3 - 1 } }))
    .rejects.toMatchObject({ code: 'gif_too_large', message: expect.stringContaining('3599') });
  expect(stylizeFrame).not.toHaveBeenCalled();
  // Exactly at the limits is accepted.
  const result = await stylizeGif(source, stylizeFrame, { limits: { maxFrames: 3, maxPixels: WIDTH * HEIGHT * 3 } });
  expect(result.frameCount).toBe(3);
});

test('what is not a GIF, a damaged GIF, mixed frame sizes and cancelling are refused clearly', async () => {
  expect(() => readGif(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]))).toThrow(/不是 GIF/);
  const source = gif([frame(RED), frame(BLUE)], [10, 10], 0);
  expect(() => [...readGif(source.slice(0, 20)).frames()]).toThrow(expect.objectContaining({ code: 'bad_photo' }));

  let size = 40;
  const shrinking = ({ data, height }) => ({ data: data.slice(0, (size -= 2) * height * 4), width: size, height });
  await expect(stylizeGif(source, shrinking)).rejects.toThrow(/a frame of 36x30 in a GIF of 38x30/);
  await expect(stylizeGif(source, (f) => f, { isCancelled: () => true })).rejects.toMatchObject({ code: 'cancelled' });
});

test('stylizeGifAt fits each frame to the size, tiles it by the tiling given, and a cancel stops between tiles', async () => {
  const source = gif([frame(RED), frame(BLUE)], [10, 20], 0);
  const calls = [];
  const invert = async (rgba, width, height) => {
    calls.push([width, height]);
    return rgba.map((v, i) => (i % 4 === 3 ? 255 : 255 - v));
  };
  const size = { width: 20, height: 15 };
  const whole = await stylizeGifAt(source, size, invert);
  expect(calls).toEqual([[20, 15], [20, 15]]);
  expect([whole.width, whole.height, whole.frameCount]).toEqual([20, 15, 2]);

  calls.length = 0;
  const tiling = { tile: 12, overlap: 4, multiple: 4 };
  const tiled = await stylizeGifAt(source, size, invert, { tiling });
  expect(calls.length).toBeGreaterThan(2);
  expect(Math.max(...calls.flat())).toBeLessThanOrEqual(12);
  expect(Array.from(tiled.bytes)).toEqual(Array.from(whole.bytes)); // a per-pixel "style": tiles change nothing

  calls.length = 0;
  const cancel = createCancel();
  const cancelling = async (rgba, width, height) => {
    cancel.cancel();
    return invert(rgba, width, height);
  };
  await expect(stylizeGifAt(source, size, cancelling, { tiling, cancel })).rejects.toMatchObject({ code: 'cancelled' });
  expect(calls).toHaveLength(1); // the next tile was not started
});

test('isAnimatedGif: the limits apply to animated GIFs only, as on the server', () => {
  const limits = { maxFrames: 100, maxPixels: WIDTH * HEIGHT }; // one frame's worth of pixels
  expect(isAnimatedGif(gif([frame(RED)], [100], null), limits)).toBe(false);
  expect(isAnimatedGif(gif([frame(RED), frame(BLUE)], [100, 100], 0))).toBe(true);
  expect(() => isAnimatedGif(gif([frame(RED), frame(BLUE)], [100, 100], 0), limits))
    .toThrow(expect.objectContaining({ code: 'gif_too_large' }));
  expect(isAnimatedGif(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toBe(false); // not a GIF
});
