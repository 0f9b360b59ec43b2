'use strict';
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const test = require('node:test');
const {readNpy, writeNpy} = require('../lib/npy');

test('a float32 array survives writeNpy then readNpy', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'npy-')), 'a.npy');
  const data = Float32Array.from([0, 1.5, -2, 3.25, 4, 5]);
  writeNpy(file, [1, 2, 3], data);
  const header = fs.readFileSync(file).subarray(0, 128).toString('latin1');
  assert.match(header, /'shape': \(1, 2, 3\)/);
  assert.strictEqual((fs.statSync(file).size - data.byteLength) % 64, 0);
  const back = readNpy(file);
  assert.deepStrictEqual(back.shape, [1, 2, 3]);
  assert.deepStrictEqual(Array.from(back.data), Array.from(data));
});

test('readNpy refuses other dtypes', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'npy-')), 'b.npy');
  writeNpy(file, [2], Float32Array.from([1, 2]));
  fs.writeFileSync(file, fs.readFileSync(file).toString('latin1').replace('<f4', '<f8'), 'latin1');
  assert.throws(() => readNpy(file), /float32/);
});
