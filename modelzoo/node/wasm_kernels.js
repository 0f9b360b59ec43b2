#!/usr/bin/env node
'use strict';
/**
 * Where a graph model's time goes in TF.js's WASM backend (one thread): the kernel time of one run
 * (`tf.profile`, after two warm-up runs) summed by kernel name, then the slowest single kernels.
 * Figures, not a test (docs/students.md, "Up-sampling").
 *
 * usage: node wasm_kernels.js --model DIR/model.json [--size 512] [--top 10]
 */
const path = require('path');
const {parseArgs} = require('util');
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const {fileHandler} = require('./lib/file_handler');
const {randomInputs} = require('./lib/inputs');

// A fused op appears twice in the profile, as its op (`fusedConv2d__op`) and as its kernel.
const OP_WRAPPERS = /__op$/;

async function main() {
  const {values} = parseArgs({
    options: {model: {type: 'string'}, size: {type: 'string', default: '512'}, top: {type: 'string', default: '10'}},
  });
  if (!values.model) throw new Error('--model is required');
  await tf.setBackend('wasm');
  await tf.ready();
  const model = await tf.loadGraphModel(fileHandler(path.resolve(values.model)));
  const size = Number(values.size);
  const input = randomInputs(tf, model, size);
  const run = async () => {
    const output = model.execute(input);
    await output.data();
    output.dispose();
  };
  await run();
  await run();
  const info = await tf.profile(run);
  const kernels = [];
  for (const kernel of info.kernels) {
    if (OP_WRAPPERS.test(kernel.name)) continue;
    kernels.push({name: kernel.name, ms: await kernel.kernelTimeMs, shapes: JSON.stringify(kernel.outputShapes)});
  }
  const total = kernels.reduce((sum, kernel) => sum + kernel.ms, 0);
  const byName = new Map();
  for (const kernel of kernels) byName.set(kernel.name, (byName.get(kernel.name) || 0) + kernel.ms);
  const threads = wasm.getThreadsCount ? wasm.getThreadsCount() : 'unknown';
  console.log(`${values.model} at ${size}x${size}, ${threads} thread(s): ${total.toFixed(0)} ms of kernel time`);
  for (const [name, ms] of [...byName].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${name.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms  ${((100 * ms) / total).toFixed(1)}%`);
  }
  console.log('slowest kernels:');
  for (const kernel of kernels.sort((a, b) => b.ms - a.ms).slice(0, Number(values.top))) {
    console.log(`  ${kernel.ms.toFixed(1).padStart(8)} ms  ${kernel.name} -> ${kernel.shapes}`);
  }
  tf.dispose(Object.values(input));
  model.dispose();
}

main().catch((error) => {
  process.stderr.write(`error: ${error.stack || error}\n`);
  process.exit(1);
});
