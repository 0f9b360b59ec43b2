// The Web Worker that stylizes: TF.js on WebGL (an OffscreenCanvas, the manifest's WebGL
// settings), WASM when WebGL is missing or fails. The page never runs a model: it posts the model
// artifacts and pixels here (lib: ./engine.js) and gets pixels back, so it stays responsive.
//
// Messages: { id, method, args } → { id, result } or { id, error }, and { id, progress } while an
// animated GIF is stylized. Methods: init, use, stylize, stylizeGif, cancel (a stylizeGif under
// way, by its id), unload, memory. An animated GIF is decoded, scaled, stylized and encoded here,
// frame by frame, so the page's main thread does none of it.

import * as tfCore from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

const { createStylizer } = require('../../miniprogram/core/pipeline');
const { createCancel } = require('../../miniprogram/core/cancel');
const { stylizeGifAt } = require('../../miniprogram/core/gif');

const tf = { ...tfCore, loadGraphModel };
const log = (message) => self.postMessage({ log: message });
let stylizer = null;
const gifRuns = new Map(); // id of a stylizeGif under way → its cancel token (core/cancel.js)

// The backend by preference: the first that initializes and runs a tiny op.
async function init({ backends = ['webgl', 'wasm', 'cpu'], wasmPath = '/web/' } = {}) {
  setWasmPaths(wasmPath);
  for (const name of backends) {
    try {
      if (!await tf.setBackend(name)) continue;
      await tf.ready();
      tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1))).dispose();
      stylizer = createStylizer({ tf, log });
      return { backend: tf.getBackend() };
    } catch (err) {
      log(`backend ${name} failed: ${err.message}`);
    }
  }
  throw new Error('no TF.js backend works in this browser');
}

const methods = {
  init,
  // The model of `key` from its artifacts (core/pipeline.js graphModelArtifacts); options carry the
  // manifest's input convention and WebGL settings.
  use: ({ key, artifacts, options }) => stylizer.use(key, async () => artifacts, options),
  // context: a context network's contextThumbnail of the whole picture (core/tiling.js).
  stylize: async ({ rgba, width, height, context }) => {
    const out = await stylizer.stylize(rgba, width, height, context);
    return { result: out, transfer: [out.buffer] };
  },
  // An animated GIF (core/gif.js stylizeGifAt): progress after each frame; a cancel message stops
  // it between frames or tiles with AppError('cancelled').
  stylizeGif: async ({ bytes, size, tiling }, id) => {
    const cancel = createCancel();
    gifRuns.set(id, cancel);
    try {
      const stylize = (...args) => stylizer.stylize(...args); // with the frame's context (tiling.context)
      const gif = await stylizeGifAt(bytes, size, stylize, {
        tiling, cancel, onFrame: (index, count) => self.postMessage({ id, progress: { index, count } }),
      });
      return { result: gif, transfer: [gif.bytes.buffer] };
    } finally {
      gifRuns.delete(id);
    }
  },
  cancel: ({ id }) => {
    const cancel = gifRuns.get(id);
    if (cancel) cancel.cancel();
  },
  unload: () => stylizer && stylizer.unload(),
  // What the engine holds: tensors and texture bytes (WebGL), for the tests and the page.
  memory: () => {
    const memory = tf.memory();
    return {
      backend: tf.getBackend(), numTensors: memory.numTensors, numBytes: memory.numBytes,
      textureBytes: memory.numBytesInGPU || 0, textureBytesAllocated: memory.numBytesInGPUAllocated || 0,
    };
  },
};

self.onmessage = async ({ data: { id, method, args } }) => {
  try {
    const answer = await methods[method](args || {}, id);
    if (id === undefined) return; // a message without an answer (cancel)
    if (answer && answer.transfer) self.postMessage({ id, result: answer.result }, answer.transfer);
    else self.postMessage({ id, result: answer });
  } catch (err) {
    self.postMessage({ id, error: { message: err.message, name: err.name, code: typeof err.code === 'string' ? err.code : undefined } });
  }
};
