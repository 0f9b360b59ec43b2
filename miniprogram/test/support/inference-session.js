// A double of wx.createInferenceSession with WeChat's interface (onLoad / onError, run() → a
// Promise of { name: { shape, data: ArrayBuffer, type } }, destroy()) that runs the real ONNX
// file with onnxruntime-web (WASM, in a worker thread: ort-worker.js) in Node. `readFile(path)`
// gives the model's bytes (from the in-memory or the on-disk file system double); `calls`
// records each session's options, runs and whether it was destroyed.

const path = require('path');
const { Worker } = require('worker_threads');

let worker = null;
let nextId = 0;
const pending = new Map();

function call(message) {
  if (!worker) {
    worker = new Worker(path.join(__dirname, 'ort-worker.js'));
    worker.unref();
    worker.on('message', ({ id, result, error }) => {
      const p = pending.get(id);
      pending.delete(id);
      if (error) p.reject(new Error(error));
      else p.resolve(result);
    });
  }
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage(Object.assign({ id }, message));
  });
}

function createInferenceSessionDouble(readFile) {
  const calls = [];
  function createInferenceSession(options) {
    const record = { options, destroyed: false, runs: 0 };
    calls.push(record);
    const listeners = { load: [], error: [] };
    let session = null;
    Promise.resolve()
      .then(() => readFile(options.model))
      .then((bytes) => {
        if (!bytes) throw new Error(`no file ${options.model}`);
        return call({ op: 'create', bytes: Uint8Array.from(bytes).buffer });
      })
      .then((s) => {
        session = s;
        listeners.load.forEach((l) => l());
      }, (err) => listeners.error.forEach((l) => l({ errMsg: `createInferenceSession:fail ${err.message}` })));
    return {
      onLoad: (l) => listeners.load.push(l),
      onError: (l) => listeners.error.push(l),
      async run(feeds) {
        if (!session || record.destroyed) throw new Error('run before load or after destroy');
        record.runs += 1;
        for (const t of Object.values(feeds)) if (t.type !== 'float32') throw new Error(`unexpected type ${t.type}`);
        return call({ op: 'run', session, feeds });
      },
      destroy() {
        record.destroyed = true;
        if (session) worker.postMessage({ op: 'release', session });
      },
    };
  }
  return { createInferenceSession, calls, alive: () => calls.filter((c) => !c.destroyed).length };
}

// Ends the worker thread (afterAll), so that jest exits.
async function closeWorker() {
  if (worker) await worker.terminate();
  worker = null;
}

module.exports = { createInferenceSessionDouble, closeWorker };
