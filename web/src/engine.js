// The page's side of the inference worker (./worker.js): an engine with the interface the client
// core's session expects of the TF.js engine (use, stylize, unload), each call a message to the
// worker. Pixels and weights are transferred, not copied.

function createWorkerEngine(worker, { log = () => {} } = {}) {
  const pending = new Map();
  let nextId = 1;
  let currentKey = null;

  worker.onmessage = ({ data }) => {
    if (data.log) return log(data.log);
    const call = pending.get(data.id);
    if (!call) return undefined;
    pending.delete(data.id);
    if (data.error) call.reject(Object.assign(new Error(data.error.message), { name: data.error.name }));
    else call.resolve(data.result);
    return undefined;
  };
  let failed = null; // a worker that failed (did not load, crashed) answers nothing more
  worker.onerror = (event) => {
    failed = new Error(`the inference worker failed: ${event.message || 'it could not be loaded'}`);
    for (const call of pending.values()) call.reject(failed);
    pending.clear();
  };

  function call(method, args, transfer = []) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      if (failed) return reject(failed);
      pending.set(id, { resolve, reject });
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
    stylize: (rgba, width, height) => call('stylize', { rgba, width, height }, [rgba.buffer]),
    unload() {
      currentKey = null;
      return call('unload');
    },
    memory: () => call('memory'),
    get key() { return currentKey; },
  };
}

module.exports = { createWorkerEngine };
