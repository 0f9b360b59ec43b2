// A tiny TF.js graph model written by hand (a 1×1 convolution), packaged like
// a model zoo variant: model.json + one weight shard, with a manifest that
// lists the files with their sizes and sha256, as GET .../manifest answers.

const { sha256 } = require('js-sha256');

const b64 = (s) => Buffer.from(s).toString('base64');

function tinyModelFiles(kernel) {
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'hand',
    convertedBy: 'test',
    modelTopology: {
      node: [
        {
          name: 'input', op: 'Placeholder',
          attr: {
            dtype: { type: 'DT_FLOAT' },
            shape: { shape: { dim: [{ size: '-1' }, { size: '-1' }, { size: '-1' }, { size: '3' }] } },
          },
        },
        {
          name: 'kernel', op: 'Const',
          attr: {
            dtype: { type: 'DT_FLOAT' },
            value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '1' }, { size: '1' }, { size: '3' }, { size: '3' }] } } },
          },
        },
        {
          name: 'conv', op: 'Conv2D', input: ['input', 'kernel'],
          attr: {
            T: { type: 'DT_FLOAT' },
            strides: { list: { i: ['1', '1', '1', '1'] } },
            dilations: { list: { i: ['1', '1', '1', '1'] } },
            padding: { s: b64('SAME') },
            data_format: { s: b64('NHWC') },
          },
        },
        { name: 'output', op: 'Identity', input: ['conv'], attr: { T: { type: 'DT_FLOAT' } } },
      ],
      library: {},
      versions: { producer: 1000 },
    },
    weightsManifest: [{
      paths: ['group1-shard1of1.bin'],
      weights: [{ name: 'kernel', shape: [1, 1, 3, 3], dtype: 'float32' }],
    }],
  };
  const json = Buffer.from(JSON.stringify(modelJson));
  const shard = Buffer.from(new Float32Array(kernel).buffer);
  return {
    'tfjs_uint8/model.json': json,
    'tfjs_uint8/group1-shard1of1.bin': shard,
  };
}

// Kernels (in-channel rows × out-channel columns, flattened).
const IDENTITY = [1, 0, 0, 0, 1, 0, 0, 0, 1];
const FIRST_TO_ALL = [1, 1, 1, 0, 0, 0, 0, 0, 0]; // every output = input channel 0

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

module.exports = { tinyModelFiles, manifestFor, toArrayBuffer, IDENTITY, FIRST_TO_ALL };
