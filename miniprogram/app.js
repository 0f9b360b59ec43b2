// App: creates the services every page uses (api client, model cache, on-device
// stylizer, stylization session). TF.js and the tfjs-wechat plugin load only
// when the first photo is stylized, so the home page opens fast.

const config = require('./config');
const { sha256 } = require('js-sha256');
const { createApi } = require('./lib/api');
const { createModelCache, wxDownloader } = require('./lib/model-cache');
const { createStylizer, maxTextureSize } = require('./lib/pipeline');
const { createSession } = require('./lib/session');

const log = (msg) => console.log(`[cartoon] ${msg}`);

// The tfjs-wechat plugin gives TF.js its platform (fetch) and a WebGL backend on
// an offscreen canvas (backend name 'wechat-webgl').
function loadTf() {
  const tf = require('@tensorflow/tfjs-core');
  const webgl = require('@tensorflow/tfjs-backend-webgl');
  const { loadGraphModel } = require('@tensorflow/tfjs-converter');
  const fetchWechat = require('fetch-wechat');
  const plugin = requirePlugin('tfjsPlugin');
  plugin.configPlugin({
    fetchFunc: fetchWechat.fetchFunc(),
    tf,
    webgl,
    canvas: wx.createOffscreenCanvas(),
  });
  tf.enableProdMode();
  return { tf, loadGraphModel };
}

function createServices() {
  const api = createApi({ wx, baseUrl: config.baseUrl, devOpenid: config.devOpenid });
  const cache = createModelCache({
    fs: wx.getFileSystemManager(),
    root: `${wx.env.USER_DATA_PATH}/models`,
    download: wxDownloader(wx),
    sha256: (data) => sha256(data),
    log,
  });

  let engine = null;
  const getEngine = () => {
    if (!engine) {
      const { tf, loadGraphModel } = loadTf();
      engine = { tf, stylizer: createStylizer({ tf, loadGraphModel, log }) };
    }
    return engine;
  };
  // Loads TF.js on first use; unload() never needs it.
  const stylizer = {
    use: (...args) => getEngine().stylizer.use(...args),
    stylize: (...args) => getEngine().stylizer.stylize(...args),
    unload: () => engine && engine.stylizer.unload(),
  };
  const session = createSession({
    wx, api, cache, stylizer, log,
    maxTextureSize: () => {
      try {
        return maxTextureSize(getEngine().tf);
      } catch (err) {
        log(`WebGL unavailable: ${err.message}`);
        return null;
      }
    },
  });
  return { api, cache, session };
}

App({
  globalData: {
    photo: null, // { path, width, height } chosen on the home page
    style: null, // the style entry chosen
    result: null,
  },

  onLaunch() {
    this.services = createServices();
    if (wx.onMemoryWarning) {
      wx.onMemoryWarning((res) => {
        log(`memory warning ${res && res.level}`);
        this.services.session.memoryWarning();
      });
    }
  },
});
