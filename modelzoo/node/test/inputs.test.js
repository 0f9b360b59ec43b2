'use strict';
const assert = require('assert');
const test = require('node:test');
const tf = require('@tensorflow/tfjs');
const {parseIo, randomInputs} = require('../lib/inputs');

test('--io names each input file and the output file', () => {
  assert.deepStrictEqual(parseIo('image:/t/in0-image.npy,context:/t/in0-context.npy=/t/out0.npy'), {
    inputs: {image: '/t/in0-image.npy', context: '/t/in0-context.npy'},
    output: '/t/out0.npy',
  });
  assert.deepStrictEqual(parseIo('image:/t/in.npy=/t/out.npy'), {inputs: {image: '/t/in.npy'}, output: '/t/out.npy'});
  assert.throws(() => parseIo('/t/in.npy=/t/out.npy'), /expected NAME:IN.npy/);
  assert.throws(() => parseIo('image:/t/in.npy'), /expected NAME:IN.npy/);
});

test('random inputs give the picture the size asked for and keep a context\'s own size', () => {
  const model = {inputs: [{name: 'image', shape: [-1, -1, -1, 3]}, {name: 'context', shape: [-1, 16, 16, 3]}]};
  const inputs = randomInputs(tf, model, 40);
  assert.deepStrictEqual(Object.keys(inputs), ['image', 'context']);
  assert.deepStrictEqual(inputs.image.shape, [1, 40, 40, 3]);
  assert.deepStrictEqual(inputs.context.shape, [1, 16, 16, 3]);
  const values = inputs.image.dataSync();
  assert.ok(Math.min(...values) >= -1 && Math.max(...values) <= 1);
  tf.dispose(Object.values(inputs));
});
