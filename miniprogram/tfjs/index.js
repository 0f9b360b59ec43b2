// The TF.js fallback engine, a subpackage (app.json "subpackages"): for phones whose base library
// has no wx.createInferenceSession. app.js loads it with require.async (base library 2.11.2+)
// the first time such a phone stylizes on the phone; TF.js (tfjs/miniprogram_npm, pinned to the
// 3.x line that the WeChat TF.js plugin 0.2.0 supports) and the plugin (declared for this
// subpackage only) stay out of the main package.

const tf = require('@tensorflow/tfjs-core');
const webgl = require('@tensorflow/tfjs-backend-webgl');
const { loadGraphModel } = require('@tensorflow/tfjs-converter');
const { createStylizer } = require('../core/pipeline');

const plugin = requirePlugin('tfjsPlugin');

// Models are loaded from the model cache's bytes (an IOHandler), never over HTTP.
const noFetch = () => Promise.reject(new Error('TF.js fetch is not used: models come from the model cache'));

// The plugin's offscreen canvas becomes invalid after page navigation; its README says to call
// configPlugin in the onLoad of each page that uses TF.js, with a new backend name. setUp(page)
// does that once per page instance: `beforeChange` first (it disposes the previous backend's
// model), then a new canvas and backend, then the previous backend is removed.
let configuredFor;
let backends = 0;
function setUp(page, beforeChange = () => {}) {
  if (backends > 0 && configuredFor === page) return false;
  beforeChange();
  const previous = backends > 0 ? tf.getBackend() : null;
  plugin.configPlugin({
    fetchFunc: noFetch,
    tf,
    webgl,
    canvas: wx.createOffscreenCanvas({ type: 'webgl' }),
    backendName: `wechat-webgl-${++backends}`,
  });
  if (previous && previous !== tf.getBackend() && tf.findBackend(previous)) tf.removeBackend(previous);
  tf.enableProdMode();
  configuredFor = page;
  return true;
}

module.exports = { tf, setUp, createStylizer: (options) => createStylizer(Object.assign({ tf, loadGraphModel }, options)) };
