// A small harness for pages: global Page / getApp / wx test doubles, and a page
// instance whose setData merges into data (with "a.b" paths) and records calls.

function setPath(target, path, value) {
  const keys = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  let node = target;
  keys.slice(0, -1).forEach((k) => {
    if (node[k] === undefined) node[k] = {};
    node = node[k];
  });
  node[keys[keys.length - 1]] = value;
}

function loadPage(modulePath, { app, wx }) {
  let definition = null;
  global.wx = wx;
  global.getApp = () => app;
  global.Page = (def) => { definition = def; };
  jest.isolateModules(() => { require(modulePath); });
  if (!definition) throw new Error(`${modulePath} did not call Page()`);
  const page = Object.assign({}, definition, { data: JSON.parse(JSON.stringify(definition.data || {})) });
  page.history = [];
  page.setData = (patch, callback) => {
    page.history.push(patch);
    Object.keys(patch).forEach((k) => setPath(page.data, k, patch[k]));
    if (callback) callback();
  };
  return page;
}

// wx APIs the pages call, each a jest.fn answering success by default.
function createPageWx(overrides = {}) {
  const ok = (res = {}) => jest.fn((o = {}) => {
    Promise.resolve().then(() => {
      if (o.success) o.success(Object.assign({ errMsg: 'ok' }, typeof res === 'function' ? res(o) : res));
      if (o.complete) o.complete();
    });
  });
  const wx = {
    chooseMedia: ok({ tempFiles: [{ tempFilePath: 'wxfile://tmp/photo.jpg', size: 1000 }] }),
    getImageInfo: ok({ width: 4032, height: 3024 }),
    showToast: jest.fn(),
    navigateTo: jest.fn(),
    redirectTo: jest.fn(),
    navigateBack: jest.fn(),
    getSetting: ok({ authSetting: {} }),
    authorize: ok(),
    openSetting: ok({ authSetting: { 'scope.writePhotosAlbum': true } }),
    showModal: ok({ confirm: true, cancel: false }),
    saveImageToPhotosAlbum: ok(),
    showShareImageMenu: jest.fn(),
    onNeedPrivacyAuthorization: jest.fn(),
  };
  return Object.assign(wx, overrides);
}

// A wx.* API double that fails with errMsg.
const failing = (errMsg) => jest.fn((o) => Promise.resolve().then(() => o.fail && o.fail({ errMsg })));

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

module.exports = { loadPage, createPageWx, failing, flush };
