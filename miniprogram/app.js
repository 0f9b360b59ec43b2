// App: creates the services every page uses (api client, model cache, on-phone engines,
// stylization session) and passes wx.onMemoryWarning's level to the session.
//
// Engines: WeChat's own inference engine where the base library has wx.createInferenceSession
// (2.30.0+), and the TF.js plugin from the `tfjs` subpackage, loaded with require.async only when
// a phone without it stylizes on the phone.

const config = require('./config');
const { sha256 } = require('js-sha256');
const { createApi } = require('./core/api');
const { createModelCache, wxDownloader } = require('./core/model-cache');
const { createWechatStylizer } = require('./lib/wechat-engine');
const { readMaxTextureSize } = require('./core/plan');
const { createSession } = require('./core/session');

const log = (msg) => console.log(`[cartoon] ${msg}`);

// The TF.js stylizer of the tfjs subpackage behind the same interface, set up per page.
function tfjsEngine(loadSubpackage) {
  let loaded = null; // the promise of { setUp, stylizer }
  let stylizer = null;
  const load = () => {
    if (!loaded) {
      loaded = loadSubpackage().then((tfjs) => {
        stylizer = tfjs.createStylizer({ log });
        return { setUp: tfjs.setUp, stylizer };
      });
      loaded.catch(() => { loaded = null; });
    }
    return loaded;
  };
  return {
    // A new page needs a new plugin canvas and backend; the old backend's model goes first.
    async prepare(page) {
      const engine = await load();
      engine.setUp(page, () => engine.stylizer.unload());
    },
    use: async (...args) => (await load()).stylizer.use(...args),
    stylize: async (...args) => (await load()).stylizer.stylize(...args),
    unload: () => stylizer && stylizer.unload(),
  };
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
  const engines = {
    wechat: typeof wx.createInferenceSession === 'function' ? createWechatStylizer({ wx, log }) : null,
    tfjs: tfjsEngine(() => require.async('./tfjs/index.js')),
  };
  let maxTexture;
  const session = createSession({
    wx, api, cache, engines, log,
    mobileNoticeBytes: config.mobileDownloadNoticeBytes,
    maxTextureSize: () => {
      if (maxTexture === undefined) maxTexture = engines.wechat ? null : readMaxTextureSize(wx);
      return maxTexture;
    },
  });
  // This phone's engine's variant: the style picker shows the download of that variant (the
  // student's when the style has one: core/plan.js styleDownload); the plan has the last word.
  const phoneVariant = engines.wechat ? 'wechat' : 'uint8';
  return { api, cache, session, phoneVariant };
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
      wx.onMemoryWarning((res) => this.services.session.memoryWarning(res && res.level));
    }
  },
});
