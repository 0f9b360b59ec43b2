'use strict';
/**
 * Minimal reader and writer of NumPy `.npy` files holding little-endian float32 arrays in C order,
 * the only kind the model zoo exchanges between Python and Node.
 */
const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** Reads a float32 `.npy` file: returns {shape, data: Float32Array}. */
function readNpy(path) {
  const buffer = fs.readFileSync(path);
  if (!buffer.subarray(0, 6).equals(MAGIC)) {
    throw new Error(`${path}: not a .npy file`);
  }
  const major = buffer[6];
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = buffer.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const order = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || descr[1] !== '<f4' || !order || order[1] !== 'False' || !shape) {
    throw new Error(`${path}: only little-endian float32 C-order arrays are supported (${header.trim()})`);
  }
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const offset = headerStart + headerLength;
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(buffer.subarray(offset, offset + 4 * count));
  return {shape: dims, data};
}

/** Writes a Float32Array of the given shape as a version 1.0 `.npy` file. */
function writeNpy(path, shape, data) {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  MAGIC.copy(prefix, 0);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]));
}

module.exports = {readNpy, writeNpy};
