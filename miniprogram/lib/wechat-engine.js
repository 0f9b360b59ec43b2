// On-phone inference with WeChat's own engine, wx.createInferenceSession (base library 2.30.0+):
// the model zoo's `wechat` variant, an ONNX file with an NCHW float32 input named as in the
// model and one output, `output0`; a context network (the manifest's `input.context`) also
// takes the whole picture squeezed, NCHW [1, 3, size, size], as the input the context names.
// Same interface as the TF.js stylizer (core/pipeline.js): use(key, load, options),
// stylize(rgba, width, height, context), unload().
//
// One session at a time: a style switch destroys the previous session; a model being loaded is
// not loaded twice (a second use() of the same key waits for the first); a session in use by a
// run is destroyed when that run ends. `liveSessions` counts created minus destroyed sessions.

const { inputConvention, checkContext, rgbaToNchw, nchwToRgba } = require('../core/image');

function createWechatStylizer({ wx, log = () => {} }) {
  let current = null; // { key, session, input, names }
  let loading = null; // { key, promise }
  let running = null; // the promise of the run under way
  let liveSessions = 0;

  function destroy(session) {
    const close = () => {
      session.destroy();
      liveSessions -= 1;
    };
    if (running) running.then(close, close);
    else close();
  }

  function unload() {
    if (!current) return;
    destroy(current.session);
    log(`session ${current.key} destroyed`);
    current = null;
  }

  function open(model, { precisionLevel = 4 } = {}) {
    return new Promise((resolve, reject) => {
      const session = wx.createInferenceSession({ model, precisionLevel, allowNPU: false, allowQuantize: false });
      liveSessions += 1;
      session.onLoad(() => resolve(session));
      session.onError((err) => {
        session.destroy();
        liveSessions -= 1;
        reject(new Error((err && err.errMsg) || 'the inference engine could not load the model'));
      });
    });
  }

  // Makes `key` the model in memory. `load` resolves with the local path of the .onnx file;
  // options: { input (manifest input convention), signature {input, output}, precisionLevel }.
  async function use(key, load, { input = {}, signature = {}, precisionLevel } = {}) {
    for (;;) {
      if (loading) await loading.promise.catch(() => {});
      else if (current && current.key === key) return;
      else break;
    }
    const promise = (async () => {
      unload();
      const path = await load();
      const session = await open(path, { precisionLevel });
      current = {
        key,
        session,
        input: inputConvention(input),
        names: { input: signature.input || 'image', output: signature.output || 'output0' },
      };
      log(`session ${key} ready (precision level ${precisionLevel})`);
    })();
    loading = { key, promise };
    try {
      await promise;
    } finally {
      if (loading && loading.promise === promise) loading = null;
    }
  }

  // rgba: bytes of a width×height picture at the planned size → RGBA bytes of the stylized
  // picture, same size (padded by reflection to the size multiple, cropped back). context: for a
  // context network, the whole picture's contextThumbnail (core/tiling.js pictureStylizer).
  async function stylize(rgba, width, height, context) {
    if (!current) throw new Error('no model loaded');
    const { session, input, names } = current;
    checkContext(input, context);
    const feed = (t) => ({ type: 'float32', data: t.data.buffer, shape: t.shape });
    const feeds = { [names.input]: feed(rgbaToNchw(rgba, width, height, input)) };
    if (input.context) {
      const { name, size } = input.context;
      feeds[name] = feed(rgbaToNchw(context, size, size, { ...input, multiple: 1 }));
    }
    const run = session.run(feeds);
    running = run.catch(() => {});
    try {
      const outputs = await run;
      const out = outputs[names.output] || outputs[Object.keys(outputs)[0]];
      return nchwToRgba(new Float32Array(out.data), out.shape, width, height, input);
    } finally {
      running = null;
    }
  }

  return {
    use,
    unload,
    stylize,
    get key() { return current && current.key; },
    get liveSessions() { return liveSessions; },
  };
}

module.exports = { createWechatStylizer };
