// The page's side of the inference worker (./worker.js): an engine with the interface the client
// core's session expects of the TF.js engine (use, stylize, unload, and stylizeGif: a whole
// animated GIF in the worker), each call a message to the worker. Pixels and weights are
// transferred, not copied; a GIF's bytes are copied (the page keeps them for another run).

const { AppError } = require('../../miniprogram/core/errors');

function createWorkerEngine(worker, { log = () => {} } = {}) {
  const pending = new Map();
  let nextId = 1;
  let currentKey = null;

  worker.onmessage = ({ data }) => {
    if (data.log) return log(data.log);
    const call = pending.get(data.id);
    if (!call) return undefined;
    if (data.progress) return call.onProgress(data.progress);
    pending.delete(data.id);
    if (data.error) call.reject(workerError(data.error));
    else call.resolve(data.result);
    return undefined;
  };
  let failed = null; // a worker that failed (did not load, crashed) answers nothing more
  worker.onerror = (event) => {
    failed = new Error(`the inference worker failed: ${event.message || 'it could not be loaded'}`);
    for (const call of pending.values()) call.reject(failed);
    pending.clear();
  };

  // onProgress(progress): the worker's progress messages of this call; cancel: a core/cancel.js
  // token, whose cancel is passed on to the worker (the call then rejects with its AppError).
  function call(method, args, transfer = [], { onProgress = () => {}, cancel } = {}) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      if (failed) return reject(failed);
      const off = cancel ? cancel.onCancel(() => worker.postMessage({ method: 'cancel', args: { id } })) : () => {};
      const settle = (then) => (value) => { off(); then(value); };
      pending.set(id, { resolve: settle(resolve), reject: settle(reject), onProgress });
      return worker.postMessage({ id, method, args }, transfer);
    });
  }

  let ready = Promise.resolve();
  return {
    // Starts TF.js in the worker (the first backend that works); use() waits for it.
    init(options) {
      ready = call('init', options);
      return ready;
    },
    // load() resolves with the model artifacts (core/pipeline.js graphModelArtifacts); not called
    // when the worker already holds `key`.
    async use(key, load, options) {
      await ready;
      if (currentKey === key) return;
      currentKey = null;
      const artifacts = await load();
      await call('use', { key, artifacts, options }, [artifacts.weightData]);
      currentKey = key;
    },
    // context: a context network's contextThumbnail (core/tiling.js pictureStylizer), copied.
    stylize: (rgba, width, height, context) => call('stylize', { rgba, width, height, context }, [rgba.buffer]),
    // An animated GIF's bytes (an ArrayBuffer, copied, not transferred: the page keeps the picked
    // GIF's bytes for the next run) decoded, each frame fitted to `size`, stylized (in tiles by
    // `tiling`, with the network's context: core/tiling.js pictureStylizer) and encoded, all in
    // the worker (core/gif.js stylizeGifAt); resolves with { bytes, width, height, frameCount,
    // loop }. onFrame(index, frameCount).
    stylizeGif: (bytes, { size, tiling, onFrame = () => {}, cancel } = {}) => call('stylizeGif', { bytes, size, tiling },
      [], { onProgress: ({ index, count }) => onFrame(index, count), cancel }),
    unload() {
      currentKey = null;
      return call('unload');
    },
    memory: () => call('memory'),
    get key() { return currentKey; },
  };
}

// An error the worker sent: the client core's AppError when it had a code (cancelled, a GIF limit),
// so the session tells them from a failed engine.
function workerError({ message, name, code }) {
  if (code) return new AppError(code, { message });
  return Object.assign(new Error(message), { name });
}

module.exports = { createWorkerEngine };
