// On-device inference with TF.js. Takes `tf` as a parameter (tfjs-core with the
// WebGL backend through the tfjs-wechat plugin on the phone; @tensorflow/tfjs
// with the WASM or CPU backend in Node tests).
//
// Discipline: one model in memory at a time (the previous one is disposed on a
// style switch), a warm-up run after loading, every intermediate tensor freed
// (tf.tidy / dispose), and tf.memory() checked against its baseline after each photo.
// A context network (the manifest's `input.context`) also takes the whole picture squeezed
// (core/image.js contextThumbnail): stylize's 4th argument, a zero picture for the warm-up.

const { padding, inputConvention, checkContext, rgbaToInput, outputToRgba } = require('./image');

// Model artifacts for tf.loadGraphModel from a model.json object and its weight
// files' contents (ArrayBuffers keyed by the paths in weightsManifest).
function graphModelArtifacts(modelJson, weightFiles) {
  const weightSpecs = [];
  const buffers = [];
  for (const group of modelJson.weightsManifest || []) {
    weightSpecs.push(...group.weights);
    for (const path of group.paths) {
      const buffer = weightFiles[path];
      if (!buffer) throw new Error(`missing weight file ${path}`);
      buffers.push(buffer);
    }
  }
  const total = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    weightData.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    signature: modelJson.signature,
    userDefinedMetadata: modelJson.userDefinedMetadata,
    modelInitializer: modelJson.modelInitializer,
    weightSpecs,
    weightData: weightData.buffer,
  };
}

// Sets the WebGL flags a manifest recommends; flags the backend does not know
// (WASM, CPU) are skipped. Returns the flags that were set.
function applyWebglSettings(tf, settings) {
  const applied = {};
  for (const [name, value] of Object.entries(settings || {})) {
    if (!(name in tf.env().flagRegistry)) continue;
    tf.env().set(name, value);
    applied[name] = value;
  }
  return applied;
}

// What model.predict takes: the image tensor alone, or for a context network (`convention`:
// core/image.js inputConvention) the image and its context tensor by name, `image` and the
// context's name (a graph model maps the names of its signature or placeholders, TF.js 3 and 4).
function modelInputs(convention, image, context) {
  return convention.context ? { image, [convention.context.name]: context } : image;
}

function createStylizer({ tf, loadGraphModel = tf.loadGraphModel, warmupSize = 64, log = () => {} }) {
  let current = null; // { key, model, input, baseline }

  function unload() {
    if (!current) return;
    current.model.dispose();
    log(`model ${current.key} disposed`);
    current = null;
  }

  let loading = null; // { key, promise } while a model loads

  // Makes `key` (style/version/variant) the model in memory. `load` resolves with
  // model artifacts (graphModelArtifacts) or with a loaded model. A model being loaded is not
  // loaded twice: a second use() of the same key waits for the first, another key after it.
  async function use(key, load, options) {
    for (;;) {
      if (loading) await loading.promise.catch(() => {});
      else if (current && current.key === key) return;
      else break;
    }
    const promise = replace(key, load, options);
    loading = { key, promise };
    try {
      await promise;
    } finally {
      if (loading && loading.promise === promise) loading = null;
    }
  }

  async function replace(key, load, { input = {}, webglSettings } = {}) {
    unload();
    applyWebglSettings(tf, webglSettings);
    const source = await load();
    const model = typeof source.predict === 'function'
      ? source
      : await loadGraphModel({ load: async () => source });
    current = { key, model, input: inputConvention(input), baseline: null };
    try {
      await warmUp();
    } catch (err) {
      unload();
      throw err;
    }
    current.baseline = tf.memory().numTensors;
    log(`model ${key} ready, ${current.baseline} tensors resident`);
  }

  // One small run right after loading: compiles the shaders and uploads the
  // weights, so the first photo is not the slow one, and proves the model runs.
  async function warmUp() {
    const { input, model } = current;
    const s = Math.ceil(warmupSize / input.multiple) * input.multiple;
    const c = input.context && input.context.size;
    const out = tf.tidy(() => {
      const y = model.predict(modelInputs(input, tf.zeros([1, s, s, 3]), c && tf.zeros([1, c, c, 3])));
      return Array.isArray(y) ? y[0] : y;
    });
    try {
      await out.data();
    } finally {
      out.dispose();
    }
  }

  // rgba: bytes of a width×height picture already at the planned size (or one tile of it:
  // core/tiling.js pictureStylizer); context: for a context network, the whole picture's
  // contextThumbnail (RGBA bytes), converted like the image. Resolves with RGBA bytes of the
  // stylized picture, same size.
  async function stylize(rgba, width, height, context) {
    if (!current) throw new Error('no model loaded');
    const { model, input } = current;
    checkContext(input, context);
    const pad = padding(height, width, input.multiple);
    const values = rgbaToInput(rgba, width, height, input.colorOrder, input.range);
    const c = input.context && input.context.size;
    const contextValues = c && rgbaToInput(context, c, c, input.colorOrder, input.range);
    const output = tf.tidy(() => {
      let x = tf.tensor4d(values, [1, height, width, 3]);
      if (pad.bottom || pad.right) {
        x = tf.mirrorPad(x, [[0, 0], [0, pad.bottom], [0, pad.right], [0, 0]], 'reflect');
      }
      let y = model.predict(modelInputs(input, x, c && tf.tensor4d(contextValues, [1, c, c, 3])));
      if (Array.isArray(y)) y = y[0];
      return tf.slice(y, [0, 0, 0, 0], [1, height, width, 3]); // not y.slice: tfjs-core 3.x alone has no chained ops
    });
    let data;
    try {
      data = await output.data();
    } finally {
      output.dispose();
    }
    const leaked = tf.memory().numTensors - current.baseline;
    if (leaked !== 0) log(`warning: ${leaked} tensors above baseline after a photo`);
    return outputToRgba(data, width, height, input.colorOrder, input.range);
  }

  return {
    use,
    unload,
    stylize,
    get key() { return current && current.key; },
    get baseline() { return current && current.baseline; },
  };
}

module.exports = { createStylizer, graphModelArtifacts, applyWebglSettings };
