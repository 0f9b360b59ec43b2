// onnxruntime-web in a worker thread: jest's module sandbox cannot run the dynamic import that
// onnxruntime-web's WASM loader uses, a plain Node worker can. Messages: create {id, bytes},
// run {id, session, feeds}, release {session}; answers {id, result} or {id, error}.
const { parentPort } = require('worker_threads');
const ort = require('onnxruntime-web');

ort.env.wasm.numThreads = 1;
const sessions = new Map();
let next = 0;

parentPort.on('message', async (msg) => {
  try {
    if (msg.op === 'create') {
      const session = await ort.InferenceSession.create(new Uint8Array(msg.bytes));
      sessions.set(++next, session);
      parentPort.postMessage({ id: msg.id, result: next });
    } else if (msg.op === 'run') {
      const inputs = {};
      for (const [name, t] of Object.entries(msg.feeds)) inputs[name] = new ort.Tensor('float32', new Float32Array(t.data), t.shape);
      const outputs = await sessions.get(msg.session).run(inputs);
      const result = {};
      for (const [name, t] of Object.entries(outputs)) {
        result[name] = { shape: Array.from(t.dims), type: 'float32', data: Float32Array.from(t.data).buffer };
      }
      parentPort.postMessage({ id: msg.id, result });
    } else if (msg.op === 'release') {
      const session = sessions.get(msg.session);
      sessions.delete(msg.session);
      if (session) await session.release();
    }
  } catch (err) {
    if (msg.id) parentPort.postMessage({ id: msg.id, error: err.message });
  }
});
