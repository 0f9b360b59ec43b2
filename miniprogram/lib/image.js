// Image pre- and post-processing. The pixel functions are pure; the canvas
// functions take `wx` (an offscreen 2D canvas, wx.canvasToTempFilePath).

const { promisify } = require('./wxp');

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

function createCanvas(wx, width, height) {
  return wx.createOffscreenCanvas({ type: '2d', width, height });
}

// Decodes a local picture and scales it to width×height; returns RGBA bytes.
async function readPixels(wx, path, width, height) {
  const canvas = createCanvas(wx, width, height);
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

// Draws RGBA bytes and exports them as a PNG temp file at the same size
// (the photo's aspect ratio, since width and height come from fitSize).
async function writePng(wx, rgba, width, height) {
  const canvas = createCanvas(wx, width, height);
  const ctx = canvas.getContext('2d');
  const imageData = ctx.createImageData(width, height);
  imageData.data.set(rgba);
  ctx.putImageData(imageData, 0, 0);
  const res = await promisify(wx.canvasToTempFilePath, {
    canvas, x: 0, y: 0, width, height, destWidth: width, destHeight: height, fileType: 'png',
  });
  return res.tempFilePath;
}

// Peak signal-to-noise ratio between two equally sized RGBA byte arrays (RGB only).
function psnr(a, b) {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = a[i + c] - b[i + c];
      sum += d * d;
      n++;
    }
  }
  const mse = sum / n;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

module.exports = { fitSize, padding, rgbaToInput, outputToRgba, readPixels, writePng, psnr };
