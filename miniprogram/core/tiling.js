// Stylizing a picture of any size in tiles, with memory bounded by the tile
// size: the same rule as the server's (training/tiling.py), for the phone.
//
// The picture is cut into overlapping windows of at most tile×tile pixels.
// Each window is stylized alone and only its core is kept: the window less
// `overlap` pixels on every side that borders another window; the cores
// partition the picture. With `overlap` at least the network's receptive field,
// every kept pixel was computed from all the pixels it depends on, so the
// result equals the untiled one for a local network (no normalization by
// statistics of the whole picture): nothing to blend, no seam. Windows start at
// multiples of the network's size multiple, so each sees the sampling grid of
// the whole picture.
//
// Pure: pixels in, pixels out. The caller's runTile(rgba, width, height)
// stylizes one window (RGBA bytes) and resolves with RGBA bytes of the same size.

const { contextThumbnail } = require('./image');

function checkTiling(tile, overlap, multiple) {
  for (const [name, value] of [['tile', tile], ['overlap', overlap], ['multiple', multiple]]) {
    if (!Number.isInteger(value)) throw new RangeError(`${name} must be a whole number of pixels, got ${value}`);
  }
  if (multiple < 1 || overlap < 0) {
    throw new RangeError(`need multiple >= 1 and overlap >= 0, got multiple=${multiple}, overlap=${overlap}`);
  }
  if (tile % multiple || overlap % multiple) {
    throw new RangeError(`tile (${tile}) and overlap (${overlap}) must be multiples of ${multiple}`);
  }
  if (tile <= 2 * overlap) {
    throw new RangeError(`a tile of ${tile} pixels is too small for an overlap of ${overlap} on each side: use at least ${2 * overlap + multiple}`);
  }
}

// The windows along one side: [{ start, stop, coreStart, coreStop }], the
// fewest windows of at most `tile` pixels, of nearly equal size (as
// training/tiling.py axis_windows, number for number).
function axisWindows(length, tile, overlap, multiple) {
  checkTiling(tile, overlap, multiple);
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`length must be positive, got ${length}`);
  if (length <= tile) return [{ start: 0, stop: length, coreStart: 0, coreStop: length }];
  const margin = overlap / multiple;
  const step = (tile - 2 * overlap) / multiple;
  const inner = Math.ceil(length / multiple) - 2 * margin;
  const count = Math.ceil(inner / step);
  const bounds = [0];
  for (let i = 1; i < count; i++) bounds.push((margin + Math.floor((i * inner) / count)) * multiple);
  bounds.push(length);
  const windows = [];
  for (let i = 0; i < count; i++) {
    windows.push({
      start: Math.max(0, bounds[i] - overlap),
      stop: Math.min(length, bounds[i + 1] + overlap),
      coreStart: bounds[i],
      coreStop: bounds[i + 1],
    });
  }
  return windows;
}

// Every tile as { rows, columns } (two axisWindows entries), row by row.
function tileGrid(height, width, tile, overlap, multiple) {
  const rows = axisWindows(height, tile, overlap, multiple);
  const columns = axisWindows(width, tile, overlap, multiple);
  const grid = [];
  for (const r of rows) for (const c of columns) grid.push({ rows: r, columns: c });
  return grid;
}

function crop(rgba, width, x0, y0, w, h) {
  const out = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    const from = ((y0 + y) * width + x0) * 4;
    out.set(rgba.subarray(from, from + w * 4), y * w * 4);
  }
  return out;
}

// Stylizes `rgba` (width×height) tile by tile, one window at a time; resolves
// with the stitched RGBA bytes. onTile(done, total) reports progress.
async function stylizeTiled(rgba, width, height, { tile, overlap, multiple = 4, runTile, onTile = () => {} }) {
  if (typeof runTile !== 'function') throw new TypeError('runTile(rgba, width, height) is required');
  const grid = tileGrid(height, width, tile, overlap, multiple);
  const output = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < grid.length; i++) {
    const { rows, columns } = grid[i];
    const w = columns.stop - columns.start;
    const h = rows.stop - rows.start;
    const result = await runTile(crop(rgba, width, columns.start, rows.start, w, h), w, h);
    if (!result || result.length !== w * h * 4) {
      throw new Error(`runTile gave ${result && result.length} bytes for a ${w}x${h} window`);
    }
    const coreWidth = columns.coreStop - columns.coreStart;
    for (let y = rows.coreStart; y < rows.coreStop; y++) {
      const from = ((y - rows.start) * w + (columns.coreStart - columns.start)) * 4;
      output.set(result.subarray(from, from + coreWidth * 4), (y * width + columns.coreStart) * 4);
    }
    onTile(i + 1, grid.length);
  }
  return output;
}

// stylize(rgba, width, height) as a function of the pixels of one width×height picture: the
// picture whole, or in tiles when `tile` is given and the picture is larger; `check()` runs
// before each tile (it throws to stop). With `context` (a context network: the manifest's
// `input.context`, or its size), the picture squeezed to its size (core/image.js
// contextThumbnail) is made once and given to the whole picture or to every tile alike, as
// stylize(rgba, width, height, context), so the tiles equal the untiled picture. The same rule
// for the session, the animated GIFs' frames and the web page's worker.
function pictureStylizer(stylize, width, height, { tile, overlap, multiple, check = () => {}, context } = {}) {
  const size = typeof context === 'number' ? context : context && context.size;
  const tiled = tile && Math.max(width, height) > tile;
  return (rgba) => {
    const extra = size ? [contextThumbnail(rgba, width, height, size)] : [];
    if (!tiled) return stylize(rgba, width, height, ...extra);
    return stylizeTiled(rgba, width, height, {
      tile, overlap, multiple, runTile: (pixels, w, h) => { check(); return stylize(pixels, w, h, ...extra); },
    });
  };
}

module.exports = { checkTiling, axisWindows, tileGrid, stylizeTiled, pictureStylizer };
