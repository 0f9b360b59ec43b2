// TF.js as the phone's fallback engine runs it: the versions pinned in the tfjs subpackage
// (tfjs/package.json, the 3.x line of the WeChat TF.js plugin), with its CPU backend in Node (no
// WebGL in Node; the WebGL backend module is loaded for its flags).
const path = require('path');

const modules = path.join(__dirname, '../../tfjs/node_modules/@tensorflow');
const tf = require(path.join(modules, 'tfjs-core'));
require(path.join(modules, 'tfjs-backend-cpu'));
require(path.join(modules, 'tfjs-backend-webgl')); // registers the WebGL flags the manifests set
const { loadGraphModel } = require(path.join(modules, 'tfjs-converter'));

async function ready() {
  await tf.setBackend('cpu');
  await tf.ready();
  return tf;
}

module.exports = { tf, loadGraphModel, ready };
