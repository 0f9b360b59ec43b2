#!/usr/bin/env node
'use strict';
/**
 * Loads a TF.js graph model with @tensorflow/tfjs and the WASM backend and
 *  - runs it on inputs given as float32 `.npy` files, by input name, writing each output as `.npy`
 *    (parity), and
 *  - measures latency and peak tensor memory (`tf.profile` peakBytes) at given square sizes.
 *
 * usage: node run_wasm.js --model DIR/model.json [--io image:IN.npy[,context:CTX.npy]=OUT.npy ...]
 *                         [--size 256 --size 512 ...] [--runs 2] [--threads N] [--result FILE]
 * Writes one JSON object to the --result file (lib/result.js; stdout without it):
 * {backend, tfjs_version, outputs: [...], profile: [...]}.
 */
const path = require('path');
const {parseArgs} = require('util');
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const {readNpy, writeNpy} = require('./lib/npy');
const {fileHandler} = require('./lib/file_handler');
const {RESULT_OPTION, writeResult} = require('./lib/result');
const {parseIo, randomInputs} = require('./lib/inputs');

function options() {
  const {values} = parseArgs({
    options: {
      model: {type: 'string'},
      io: {type: 'string', multiple: true, default: []},
      size: {type: 'string', multiple: true, default: []},
      runs: {type: 'string', default: '2'},
      threads: {type: 'string', default: '0'},
      ...RESULT_OPTION,
    },
  });
  if (!values.model) throw new Error('--model is required');
  return values;
}

/** Runs the model once on `inputs` (by name) and returns the output tensor (the caller disposes it). */
function predict(model, inputs) {
  const output = model.execute(inputs);
  return Array.isArray(output) ? output[0] : output;
}

async function parity(model, pairs) {
  const results = [];
  for (const pair of pairs) {
    const {inputs: paths, output: outputPath} = parseIo(pair);
    const inputs = {};
    for (const [name, inputPath] of Object.entries(paths)) {
      const {shape, data} = readNpy(inputPath);
      inputs[name] = tf.tensor(data, shape, 'float32');
    }
    const output = predict(model, inputs);
    const values = await output.data();
    writeNpy(outputPath, output.shape, values);
    results.push({inputs: paths, output: outputPath, shape: output.shape});
    tf.dispose([...Object.values(inputs), output]);
  }
  return results;
}

async function profileSize(model, size, runs) {
  const input = randomInputs(tf, model, size);
  try {
    // The profiled run is also the warm-up run.
    const info = await tf.profile(async () => {
      const output = predict(model, input);
      await output.data();
      output.dispose();
    });
    const latencies = [];
    for (let i = 0; i < runs; i++) {
      const start = process.hrtime.bigint();
      const output = predict(model, input);
      await output.data();
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      output.dispose();
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor((latencies.length - 1) / 2)];
    return {size, latency_ms: Math.round(median * 10) / 10, runs, peak_bytes: info.peakBytes, ok: true, error: null};
  } catch (error) {
    return {size, latency_ms: null, runs, peak_bytes: null, ok: false, error: String(error.message || error)};
  } finally {
    tf.dispose(Object.values(input));
  }
}

async function main() {
  const args = options();
  const threads = Number(args.threads);
  if (threads > 0) wasm.setThreadsCount(threads);
  await tf.setBackend('wasm');
  await tf.ready();
  const model = await tf.loadGraphModel(fileHandler(path.resolve(args.model)));
  const outputs = await parity(model, args.io);
  const profile = [];
  for (const size of args.size.map(Number)) {
    profile.push(await profileSize(model, size, Number(args.runs)));
  }
  model.dispose();
  const result = {
    backend: tf.getBackend(),
    tfjs_version: tf.version.tfjs,
    threads: wasm.getThreadsCount ? wasm.getThreadsCount() : null,
    outputs,
    profile,
  };
  writeResult(args.result, result);
}

main().catch((error) => {
  process.stderr.write(`error: ${error.stack || error}\n`);
  process.exit(1);
});
