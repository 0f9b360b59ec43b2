// Image pre- and post-processing. The pixel functions are pure. Reading a photo's pixels uses an
// offscreen 2D canvas exactly as wx.createOffscreenCanvas documents it (base library 2.16.1+:
// createImage, drawImage, getImageData); writing a picture encodes it as PNG in JavaScript
// (core/png.js) and writes it with the file system manager, never wx.canvasToTempFilePath, whose
// `canvas` must be an on-page <canvas type="2d">.

const { encodePng } = require('./png');
const { fsp } = require('./wxp');

// The size a photo is stylized at: its long side brought to `longSide` (never
// enlarged), the other side rounded down, as the server does (backend resize,
// training/imaging.py resize_long_side), so both stylize the same pixel size.
function fitSize(width, height, longSide) {
  if (Math.max(width, height) <= longSide) return { width, height };
  const ratio = width / height;
  if (ratio > 1) return { width: longSide, height: Math.max(1, Math.floor(longSide / ratio)) };
  return { width: Math.max(1, Math.floor(longSide * ratio)), height: longSide };
}

// How far to pad height and width so that both are multiples of `multiple`.
function padding(height, width, multiple) {
  const m = multiple || 1;
  return { bottom: (m - (height % m)) % m, right: (m - (width % m)) % m };
}

// A manifest's `input` (docs/modelzoo-format.md) as the engines use it: channel order, value
// range, size multiple, and for a context network (`input.context`) the name and size of its
// second input, the whole picture squeezed (contextThumbnail), else null.
function inputConvention(input = {}) {
  const { context } = input;
  return {
    colorOrder: input.color_order || 'RGB',
    range: input.value_range || [-1, 1],
    multiple: input.size_multiple || 1,
    context: context ? { name: context.name || 'context', size: context.size } : null,
  };
}

// The context picture an engine was given (contextThumbnail's RGBA bytes) against its network's
// convention: a context network without one, or with one of another size, is a clear error
// rather than a wrong picture. Other networks ignore it.
function checkContext(convention, context) {
  const wanted = convention.context;
  if (!wanted) return;
  if (!context) {
    throw new Error(`this network takes the whole picture squeezed to ${wanted.size}x${wanted.size} as its second input (${wanted.name}): no context given`);
  }
  if (context.length !== wanted.size * wanted.size * 4) {
    throw new Error(`the context picture has ${context.length} bytes, not the ${wanted.size}x${wanted.size} RGBA the network takes`);
  }
}

// RGBA bytes (canvas ImageData) → Float32Array of height×width×3 in the
// network's channel order and value range.
function rgbaToInput(rgba, width, height, colorOrder = 'RGB', range = [-1, 1]) {
  const [lo, hi] = range;
  const scale = (hi - lo) / 255;
  const bgr = String(colorOrder).toUpperCase() === 'BGR';
  const out = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height * 4; i += 4, j += 3) {
    const r = rgba[i] * scale + lo;
    const g = rgba[i + 1] * scale + lo;
    const b = rgba[i + 2] * scale + lo;
    out[j] = bgr ? b : r;
    out[j + 1] = g;
    out[j + 2] = bgr ? r : b;
  }
  return out;
}

// The network's output (height×width×3 floats in its channel order and value
// range) → opaque RGBA bytes for a canvas.
function outputToRgba(values, width, height, colorOrder = 'RGB', range = [-1, 1]) {
  const [lo, hi] = range;
  const scale = 255 / (hi - lo);
  const bgr = String(colorOrder).toUpperCase() === 'BGR';
  const out = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; j < width * height * 3; i += 4, j += 3) {
    const c0 = (values[j] - lo) * scale;
    const c1 = (values[j + 1] - lo) * scale;
    const c2 = (values[j + 2] - lo) * scale;
    out[i] = bgr ? c2 : c0; // Uint8ClampedArray rounds and clamps
    out[i + 1] = c1;
    out[i + 2] = bgr ? c0 : c2;
    out[i + 3] = 255;
  }
  return out;
}

// The position in 0..size-1 that reflection padding copies to index i (i >= size: mirrored
// back from the last pixel, the edge itself not repeated, as tf.mirrorPad 'reflect' and ONNX
// Pad 'reflect' do).
function reflect(i, size) {
  return i < size ? i : Math.max(0, 2 * (size - 1) - i);
}

// RGBA bytes → the NCHW float32 input of an ONNX model ([1, 3, H', W'], H' and W' padded by
// reflection at the bottom and right to `multiple`), in the network's channel order and range.
function rgbaToNchw(rgba, width, height, { colorOrder = 'RGB', range = [-1, 1], multiple = 1 } = {}) {
  const pad = padding(height, width, multiple);
  const h = height + pad.bottom;
  const w = width + pad.right;
  const [lo, hi] = range;
  const scale = (hi - lo) / 255;
  const order = String(colorOrder).toUpperCase() === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const plane = h * w;
  const data = new Float32Array(3 * plane);
  for (let y = 0; y < h; y++) {
    const sy = reflect(y, height);
    for (let x = 0; x < w; x++) {
      const i = (sy * width + reflect(x, width)) * 4;
      const o = y * w + x;
      for (let c = 0; c < 3; c++) data[c * plane + o] = rgba[i + order[c]] * scale + lo;
    }
  }
  return { data, shape: [1, 3, h, w] };
}

// An NCHW output ([1, 3, H', W'] floats) → opaque RGBA bytes of its top-left width×height.
function nchwToRgba(values, shape, width, height, { colorOrder = 'RGB', range = [-1, 1] } = {}) {
  const [, channels, h, w] = shape;
  if (channels !== 3 || h < height || w < width) throw new Error(`unexpected output shape ${shape}`);
  const [lo, hi] = range;
  const scale = 255 / (hi - lo);
  const order = String(colorOrder).toUpperCase() === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const plane = h * w;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const i = y * w + x;
      for (let c = 0; c < 3; c++) out[o + order[c]] = (values[c * plane + i] - lo) * scale;
      out[o + 3] = 255;
    }
  }
  return out;
}

// The source pixels [start, stop) that output pixel i of outSize covers along a side of size
// pixels (at least one).
function span(i, size, outSize) {
  const start = Math.floor((i * size) / outSize);
  return [start, Math.max(start + 1, Math.floor(((i + 1) * size) / outSize))];
}

// The source pixels [start, stop) that output pixel i of outSize takes along a side of size
// pixels in PIL's BOX filter (Image.resize(..., Image.Resampling.BOX), which the training's
// context thumbnail uses): those whose centre lies in the output pixel's footprint, half-open on
// the left, the footprint being at least one source pixel wide when enlarging. Computed as PIL
// computes it, in doubles, so the ties at the footprint's edges fall the same way.
function pilBoxSpan(i, size, outSize) {
  const scale = size / outSize;
  const footprint = Math.max(scale, 1);
  const center = (i + 0.5) * scale;
  let start = -1;
  let stop = -1;
  const last = Math.min(size, Math.trunc(center + footprint / 2 + 0.5));
  for (let x = Math.max(0, Math.trunc(center - footprint / 2 + 0.5)); x < last; x++) {
    const t = (x - center + 0.5) * (1 / footprint);
    if (t > -0.5 && t <= 0.5) {
      if (start < 0) start = x;
      stop = x + 1;
    }
  }
  return [start, stop];
}

// RGBA bytes of width×height scaled to outWidth×outHeight, each output pixel the rounded mean of
// the source pixels [x0, x1) × [y0, y1) that spanOf (span, pilBoxSpan) gives it.
function boxResize(rgba, width, height, outWidth, outHeight, spanOf) {
  const out = new Uint8ClampedArray(outWidth * outHeight * 4);
  // The source columns [x0, x1) of each output column, computed once.
  const x0s = new Int32Array(outWidth);
  const x1s = new Int32Array(outWidth);
  for (let x = 0; x < outWidth; x++) [x0s[x], x1s[x]] = spanOf(x, width, outWidth);
  for (let y = 0; y < outHeight; y++) {
    const [y0, y1] = spanOf(y, height, outHeight);
    for (let x = 0; x < outWidth; x++) {
      const x0 = x0s[x];
      const x1 = x1s[x];
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = y0; sy < y1; sy++) {
        for (let i = (sy * width + x0) * 4, end = (sy * width + x1) * 4; i < end; i += 4) {
          r += rgba[i];
          g += rgba[i + 1];
          b += rgba[i + 2];
          a += rgba[i + 3];
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (y * outWidth + x) * 4;
      out[o] = r / n; // Uint8ClampedArray rounds
      out[o + 1] = g / n;
      out[o + 2] = b / n;
      out[o + 3] = a / n;
    }
  }
  return out;
}

// RGBA bytes of width×height scaled to outWidth×outHeight, each output pixel the average of the
// source pixels it covers (a box filter: no aliasing when shrinking; nearest when enlarging).
// For the frames of an animated GIF, which are decoded in JavaScript rather than by an image.
function resizeRgba(rgba, width, height, outWidth, outHeight) {
  if (width === outWidth && height === outHeight) return rgba;
  return boxResize(rgba, width, height, outWidth, outHeight, span);
}

// The whole picture (RGBA bytes of width×height) squeezed to size×size, width and height
// independently: the second input of a context network (the manifest's `input.context`), as the
// training makes it (training/imaging.py context_thumbnail, PIL's BOX filter; within 1 of it,
// tests/test_context_thumbnail_js.py). New RGBA bytes, converted like the image by the engines.
function contextThumbnail(rgba, width, height, size) {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`a context size must be a whole number of pixels, got ${size}`);
  return boxResize(rgba, width, height, size, size, pilBoxSpan);
}

// Decodes a local picture and scales it to width×height; returns RGBA bytes.
async function readPixels(wx, path, width, height) {
  const canvas = wx.createOffscreenCanvas({ type: '2d', width, height });
  const ctx = canvas.getContext('2d');
  const img = canvas.createImage();
  await new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = () => reject(new Error('image decode failed'));
    img.src = path;
  });
  ctx.drawImage(img, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height).data;
}

const PICTURES_KEPT = 3;

// Writes a picture's bytes into the user data folder (`pictures/`, the last few kept) and
// resolves with its path.
async function writeToPictures(wx, bytes, suffix, now) {
  const files = fsp(wx.getFileSystemManager());
  const dir = `${wx.env.USER_DATA_PATH}/pictures`;
  await files.mkdir(dir);
  const old = (await files.readdir(dir)).filter((f) => /\.(png|gif)$/.test(f)).sort();
  for (const name of old.slice(0, Math.max(0, old.length - (PICTURES_KEPT - 1)))) await files.unlink(`${dir}/${name}`);
  const path = `${dir}/${now()}.${suffix}`;
  await files.writeFile(path, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return path;
}

// Writes RGBA bytes as a PNG file (writeToPictures) and resolves with its path, usable by
// <image>, wx.saveImageToPhotosAlbum, wx.showShareImageMenu and wx.uploadFile.
async function writePicture(wx, rgba, width, height, { now = Date.now } = {}) {
  return writeToPictures(wx, encodePng(rgba, width, height), 'png', now);
}

// Writes a GIF's bytes (core/gif.js) as a file (writeToPictures) and resolves with its path.
async function writeGif(wx, bytes, { now = Date.now } = {}) {
  return writeToPictures(wx, bytes, 'gif', now);
}

// A local file's bytes (an ArrayBuffer): the animated GIF that core/gif.js decodes.
async function readBytes(wx, path) {
  return fsp(wx.getFileSystemManager()).readFile(path);
}

module.exports = {
  fitSize, padding, inputConvention, checkContext, rgbaToInput, outputToRgba, rgbaToNchw, nchwToRgba, resizeRgba,
  contextThumbnail, readPixels, writePicture, writeGif, readBytes,
};
