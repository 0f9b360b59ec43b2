// Animated GIFs on the device: an animated GIF in gives an animated cartoon GIF out, frame by
// frame. Pure functions over bytes; the platform injects `stylizeFrame`, so the same module serves
// the mini-program and the browser.
//
// Decoding (gifuct-js) parses the file's blocks once (compressed, as small as the file), then
// decompresses and composites one frame at a time onto one canvas (GIF disposal methods 0-3),
// flattened onto white as the server does. Encoding (gifenc) quantizes each stylized frame to its
// own 256-colour palette and appends it to the output at once. So memory follows one frame plus
// the compressed input and output, never the whole animation. Each frame keeps its delay, and the
// loop count is kept (none in, none out: played once).
//
// Limits, the server's defaults (backend/config.py GIF_MAX_FRAMES, GIF_MAX_PIXELS), checked before
// any frame is decompressed; past them an AppError `gif_too_many_frames` or `gif_too_large`.

const { parseGIF, decompressFrame } = require('gifuct-js');
const { GIFEncoder, quantize, applyPalette } = require('gifenc');
const { AppError } = require('./errors');
const { resizeRgba } = require('./image');
const { pictureStylizer } = require('./tiling');
const { NEVER } = require('./cancel');

const GIF_LIMITS = { maxFrames: 100, maxPixels: 50000000 };
const NETSCAPE_IDS = ['NETSCAPE2.0', 'ANIMEXTS1.0'];
const DISPOSE_TO_BACKGROUND = 2;
const DISPOSE_TO_PREVIOUS = 3;
// gifenc's colour binning: 'rgb444' (4096 bins) quantizes a full-colour 480x360 frame in 0.24 s,
// its default 'rgb565' (65536 bins) in 8.3 s, for 0.9 dB less PSNR (25.9 against 26.8 dB) on a
// noisy photo-like frame, measured in Node on the busy development machine.
const QUANTIZE_FORMAT = 'rgb444';

function asBytes(bytes) {
  return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
}

// Whether the bytes (Uint8Array or ArrayBuffer) start with a GIF signature (GIF87a or GIF89a).
function isGif(bytes) {
  return /^GIF8[79]a$/.test(String.fromCharCode(...asBytes(bytes).subarray(0, 6)));
}

function damaged(cause) {
  return new AppError('bad_photo', { message: '这张动图已损坏，无法读取。', cause });
}

// The NETSCAPE loop count (0: forever), or null when the GIF has none (played once).
function loopCount(blocks) {
  for (const block of blocks) {
    const app = block.application;
    if (app && NETSCAPE_IDS.includes(app.id) && app.blocks.length >= 3 && app.blocks[0] === 1) {
      return app.blocks[1] | (app.blocks[2] << 8);
    }
  }
  return null;
}

// Throws the AppError of a limit when `frameCount` frames of width x height are over `limits`.
function checkLimits(width, height, frameCount, limits = GIF_LIMITS) {
  if (frameCount > limits.maxFrames) {
    throw new AppError('gif_too_many_frames', {
      message: `动图有 ${frameCount} 帧，最多只能处理 ${limits.maxFrames} 帧。`,
    });
  }
  const pixels = width * height * frameCount;
  if (pixels > limits.maxPixels) {
    throw new AppError('gif_too_large', {
      message: `动图共 ${frameCount} 帧 ${width}x${height}，${pixels} 像素，最多 ${limits.maxPixels} 像素。`,
    });
  }
}

// Whether a picked picture's bytes are an animated GIF (more than one frame), which the session
// stylizes into an animated GIF; false for other pictures, one-frame GIFs and GIFs this decoder
// cannot read (the still-picture path reads those, or says it cannot). Throws the AppError of an
// animated GIF past `limits` (gif_too_many_frames, gif_too_large), so that one the server would
// refuse too is refused when it is picked; the server does not apply them to a still GIF either.
function isAnimatedGif(bytes, limits = GIF_LIMITS) {
  if (!isGif(bytes)) return false;
  let gif;
  try {
    gif = readGif(bytes, { maxFrames: Infinity, maxPixels: Infinity });
  } catch (error) {
    if (error.code === 'bad_photo') return false;
    throw error;
  }
  if (gif.frameCount < 2) return false;
  checkLimits(gif.width, gif.height, gif.frameCount, limits);
  return true;
}

// A GIF's bytes (Uint8Array or ArrayBuffer) → { width, height, loop, frameCount, frames() }, the
// limits checked. `frames()` yields { imageData: { data, width, height } (opaque RGBA), delay (ms) }
// one frame at a time; each imageData is the consumer's to keep.
function readGif(bytes, limits = GIF_LIMITS) {
  if (!isGif(bytes)) throw new AppError('bad_photo', { message: '这不是 GIF 图片。' });
  let parsed;
  try {
    parsed = parseGIF(asBytes(bytes));
  } catch (error) {
    throw damaged(error);
  }
  const { width, height } = parsed.lsd;
  const blocks = parsed.frames.filter((block) => block.image);
  if (!width || !height || blocks.length === 0) throw damaged();
  checkLimits(width, height, blocks.length, limits);

  function* frames() {
    const canvas = new Uint8ClampedArray(width * height * 4); // transparent until drawn
    let previous = null; // { dims, disposal, saved }
    for (const block of blocks) {
      if (previous && previous.disposal === DISPOSE_TO_BACKGROUND) clear(canvas, width, height, previous.dims);
      if (previous && previous.disposal === DISPOSE_TO_PREVIOUS) canvas.set(previous.saved);
      const { descriptor } = block.image;
      if (descriptor.width * descriptor.height > width * height) throw damaged(); // larger than its canvas
      let frame;
      try {
        frame = decompressFrame(block, parsed.gct, false);
      } catch (error) {
        throw damaged(error);
      }
      if (!frame || !frame.colorTable) throw damaged();
      const disposal = block.gce ? block.gce.extras.disposal : 0;
      const saved = disposal === DISPOSE_TO_PREVIOUS ? canvas.slice() : null;
      draw(canvas, width, height, frame);
      // gifuct-js's own `delay` turns 0 into 100 ms; the stored delay is kept as it is.
      const delay = block.gce ? block.gce.delay * 10 : 0;
      yield { imageData: { data: onWhite(canvas), width, height }, delay };
      previous = { dims: frame.dims, disposal, saved };
    }
  }

  return { width, height, loop: loopCount(parsed.frames), frameCount: blocks.length, frames };
}

// Draws a decompressed frame's opaque pixels onto the canvas (clipped to it).
function draw(canvas, width, height, frame) {
  const { top, left, width: w, height: h } = frame.dims;
  const { pixels, colorTable, transparentIndex } = frame;
  for (let y = 0; y < h && top + y < height; y++) {
    for (let x = 0; x < w && left + x < width; x++) {
      const index = pixels[y * w + x];
      if (index === transparentIndex) continue;
      const color = colorTable[index] || [0, 0, 0];
      const at = ((top + y) * width + left + x) * 4;
      canvas[at] = color[0];
      canvas[at + 1] = color[1];
      canvas[at + 2] = color[2];
      canvas[at + 3] = 255;
    }
  }
}

function clear(canvas, width, height, { top, left, width: w, height: h }) {
  for (let y = top; y < Math.min(top + h, height); y++) {
    canvas.fill(0, (y * width + left) * 4, (y * width + Math.min(left + w, width)) * 4);
  }
}

// RGBA with transparency composited onto white (as backend uploads and training.imaging.to_rgb).
function onWhite(canvas) {
  const out = new Uint8ClampedArray(canvas.length);
  for (let i = 0; i < canvas.length; i += 4) {
    const alpha = canvas[i + 3] / 255;
    for (let c = 0; c < 3; c++) out[i + c] = canvas[i + c] * alpha + 255 * (1 - alpha);
    out[i + 3] = 255;
  }
  return out;
}

// A GIF written frame by frame: add(imageData, delay) appends a frame (its own 256-colour
// palette), finish() returns the file's bytes. `loop`: the loop count (0: forever), null: none.
function createGifWriter({ loop = null } = {}) {
  const encoder = GIFEncoder();
  let size = null;
  return {
    add({ data, width, height }, delay) {
      if (size && (size.width !== width || size.height !== height)) {
        throw new Error(`a frame of ${width}x${height} in a GIF of ${size.width}x${size.height}`);
      }
      const rgba = data instanceof Uint8Array || data instanceof Uint8ClampedArray ? data : new Uint8Array(data);
      const palette = quantize(rgba, 256, { format: QUANTIZE_FORMAT });
      const repeat = loop === null ? -1 : loop; // gifenc: -1 writes no loop count
      encoder.writeFrame(applyPalette(rgba, palette, QUANTIZE_FORMAT), width, height, { palette, delay, repeat });
      size = { width, height };
    },
    finish() {
      if (!size) throw new Error('a GIF needs at least one frame');
      encoder.finish();
      return encoder.bytes();
    },
  };
}

// Stylizes an animated GIF: each frame goes through `stylizeFrame(imageData)` (returns or
// resolves to { data: RGBA, width, height }; every frame the same size) and is written before the
// next is decoded. `onFrame(index, frameCount)` reports progress; `isCancelled()` stops between
// frames with AppError('cancelled'). Resolves with { bytes, width, height, frameCount, loop }.
async function stylizeGif(bytes, stylizeFrame, { limits = GIF_LIMITS, onFrame = () => {}, isCancelled = () => false } = {}) {
  const gif = readGif(bytes, limits);
  const writer = createGifWriter({ loop: gif.loop });
  let index = 0;
  let output = null;
  for (const { imageData, delay } of gif.frames()) {
    if (isCancelled()) throw new AppError('cancelled');
    output = await stylizeFrame(imageData);
    writer.add(output, delay);
    index += 1;
    onFrame(index, gif.frameCount);
  }
  return { bytes: writer.finish(), width: output.width, height: output.height, frameCount: index, loop: gif.loop };
}

// stylizeGif with each frame first fitted to `size` ({ width, height }, core/image.js resizeRgba,
// a box filter) and stylized by `stylize(rgba, width, height[, context])` (an engine's stylize:
// resolves with RGBA of the same size), whole or in tiles by `tiling` ({ tile, overlap, multiple,
// context }, core/tiling.js pictureStylizer: a context network gets each fitted frame's own).
// `cancel` (core/cancel.js) stops between frames and tiles with AppError('cancelled'); `onFrame`
// and `limits` as stylizeGif. What the session runs (mini-program), and the web page's worker.
function stylizeGifAt(bytes, size, stylize, { tiling = {}, cancel = NEVER, onFrame, limits } = {}) {
  const stylizePixels = pictureStylizer(stylize, size.width, size.height, { ...tiling, check: cancel.check });
  return stylizeGif(bytes, async ({ data, width, height }) => ({
    data: await stylizePixels(resizeRgba(data, width, height, size.width, size.height)),
    width: size.width,
    height: size.height,
  }), { onFrame, limits, isCancelled: () => cancel.cancelled });
}

module.exports = { GIF_LIMITS, isGif, isAnimatedGif, readGif, checkLimits, createGifWriter, stylizeGif, stylizeGifAt };
