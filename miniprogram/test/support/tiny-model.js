// Tiny TF.js graph models written by hand (a 1×1 convolution; a two-input context network),
// packaged like a model zoo variant: model.json + one weight shard, with a manifest that
// lists the files with their sizes and sha256, as GET .../manifest answers.

const { sha256 } = require('js-sha256');

const b64 = (s) => Buffer.from(s).toString('base64');

const FLOAT = { T: { type: 'DT_FLOAT' } };

function placeholder(name) {
  return {
    name, op: 'Placeholder',
    attr: {
      dtype: { type: 'DT_FLOAT' },
      shape: { shape: { dim: [{ size: '-1' }, { size: '-1' }, { size: '-1' }, { size: '3' }] } },
    },
  };
}

// A weight node; its values go to the shard in the order of `weights`.
function constant(name, shape, dtype = 'float32') {
  const type = dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
  return {
    name, op: 'Const',
    attr: { dtype: { type }, value: { tensor: { dtype: type, tensorShape: { dim: shape.map((size) => ({ size: String(size) })) } } } },
  };
}

// The 1×1 convolution of `input` by the weight `kernel`, named conv.
function conv(input) {
  return {
    name: 'conv', op: 'Conv2D', input: [input, 'kernel'],
    attr: {
      ...FLOAT,
      strides: { list: { i: ['1', '1', '1', '1'] } },
      dilations: { list: { i: ['1', '1', '1', '1'] } },
      padding: { s: b64('SAME') },
      data_format: { s: b64('NHWC') },
    },
  };
}

// model.json and its one weight shard for `nodes` and `weights` ([{ name, shape, dtype, values }]).
function packaged(nodes, weights) {
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'hand',
    convertedBy: 'test',
    modelTopology: { node: nodes, library: {}, versions: { producer: 1000 } },
    weightsManifest: [{
      paths: ['group1-shard1of1.bin'],
      weights: weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })),
    }],
  };
  const json = Buffer.from(JSON.stringify(modelJson));
  const shard = Buffer.concat(weights.map(({ dtype, values }) => {
    const typed = dtype === 'int32' ? new Int32Array(values) : new Float32Array(values);
    return Buffer.from(typed.buffer);
  }));
  return {
    'tfjs_uint8/model.json': json,
    'tfjs_uint8/group1-shard1of1.bin': shard,
  };
}

// A 1×1 convolution of its one input by `kernel`.
function tinyModelFiles(kernel) {
  return packaged([
    placeholder('input'),
    constant('kernel', [1, 1, 3, 3]),
    conv('input'),
    { name: 'output', op: 'Identity', input: ['conv'], attr: FLOAT },
  ], [{ name: 'kernel', shape: [1, 1, 3, 3], dtype: 'float32', values: kernel }]);
}

// A context network (the manifest's `input.context`): inputs `image` and `context`, output the
// 1×1 convolution of the image by `kernel` plus half the context's mean colour, everywhere. With
// HALF, each output pixel is the mean of the input pixel and the context's mean colour.
function tinyContextModelFiles(kernel) {
  return packaged([
    placeholder('image'),
    placeholder('context'),
    constant('kernel', [1, 1, 3, 3]),
    constant('axes', [2], 'int32'),
    constant('half', []),
    conv('image'),
    { name: 'mean', op: 'Mean', input: ['context', 'axes'], attr: { ...FLOAT, Tidx: { type: 'DT_INT32' }, keep_dims: { b: true } } },
    { name: 'scaled', op: 'Mul', input: ['mean', 'half'], attr: FLOAT },
    { name: 'sum', op: 'AddV2', input: ['conv', 'scaled'], attr: FLOAT },
    { name: 'output', op: 'Identity', input: ['sum'], attr: FLOAT },
  ], [
    { name: 'kernel', shape: [1, 1, 3, 3], dtype: 'float32', values: kernel },
    { name: 'axes', shape: [2], dtype: 'int32', values: [1, 2] },
    { name: 'half', shape: [], dtype: 'float32', values: [0.5] },
  ]);
}

// Kernels (in-channel rows × out-channel columns, flattened).
const IDENTITY = [1, 0, 0, 0, 1, 0, 0, 0, 1];
const FIRST_TO_ALL = [1, 1, 1, 0, 0, 0, 0, 0, 0]; // every output = input channel 0
const HALF = IDENTITY.map((v) => v / 2);

function toArrayBuffer(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

// A manifest in the backend's shape (docs/api.md) for files served at baseUrl.
function manifestFor(files, { id = 'tiny', version = 'v1', variant = 'uint8', baseUrl = 'https://cdn.test/models', colorOrder = 'BGR' } = {}) {
  const list = Object.keys(files).map((path) => ({
    path,
    url: `${baseUrl}/${id}/${version}/${path}`,
    bytes: files[path].length,
    sha256: sha256(new Uint8Array(files[path])),
  }));
  return {
    id, version, variant,
    input: { color_order: colorOrder, value_range: [-1, 1], size_multiple: 4 },
    model_url: `${baseUrl}/${id}/${version}/tfjs_uint8/model.json`,
    files: list,
    bytes: list.reduce((s, f) => s + f.bytes, 0),
    webgl_settings: { WEBGL_CONV_IM2COL: false, WEBGL_DELETE_TEXTURE_THRESHOLD: 0 },
  };
}

module.exports = { tinyModelFiles, tinyContextModelFiles, manifestFor, toArrayBuffer, IDENTITY, FIRST_TO_ALL, HALF };
