// A wx double for the API client: wx.request / wx.uploadFile / wx.downloadFile
// answered by `handler(req)` → { statusCode, data, header } (or a thrown
// { errMsg } for a network failure), plus wx.login and storage.

function createWxHttp(handler, { codes = ['code-1', 'code-2', 'code-3', 'code-4'] } = {}) {
  const calls = [];
  const storage = {};
  let loginCount = 0;

  function answer(kind, options, shape) {
    const req = { kind, method: options.method || (kind === 'upload' ? 'POST' : 'GET'), url: options.url,
      data: options.data, header: options.header || {}, formData: options.formData, filePath: options.filePath };
    calls.push(req);
    Promise.resolve().then(() => handler(req)).then(
      (res) => options.success(shape(res)),
      (err) => options.fail({ errMsg: err.errMsg || `${kind}:fail ${err.message}` }),
    );
    return { onProgressUpdate() {}, abort() {} };
  }

  const wx = {
    request: (o) => answer('request', o, (res) => ({ statusCode: res.statusCode, data: res.data, header: res.header || {} })),
    uploadFile: (o) => answer('upload', o, (res) => ({
      statusCode: res.statusCode, data: typeof res.data === 'string' ? res.data : JSON.stringify(res.data),
    })),
    downloadFile: (o) => answer('download', o, (res) => ({ statusCode: res.statusCode, tempFilePath: res.tempFilePath || 'wxfile://tmp/x.png', header: res.header || {} })),
    login: (o) => {
      const code = codes[loginCount++];
      setTimeout(() => (code ? o.success({ code }) : o.fail({ errMsg: 'login:fail' })));
    },
    getStorageSync: (k) => storage[k] || '',
    setStorageSync: (k, v) => { storage[k] = v; },
    removeStorageSync: (k) => { delete storage[k]; },
  };
  return { wx, calls, storage, get loginCount() { return loginCount; } };
}

const json = (statusCode, data, header) => ({ statusCode, data, header });
const error = (statusCode, code, message, header) => json(statusCode, { error: { code, message: message || code } }, header);

module.exports = { createWxHttp, json, error };
