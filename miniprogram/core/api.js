// Client of the backend HTTP API (docs/api.md). Takes the platform `wx` as a
// parameter: wx.request, wx.uploadFile, wx.downloadFile, wx.login and storage (the web app
// passes its browser adapter, web/src/platform.js, and logs in with `anonymous: true`).
// Logs in on first use, renews the token once on 401 without the caller noticing,
// and turns every failure into an AppError (core/errors.js).

const { promisify, promisifyTask, sleep: realSleep } = require('./wxp');
const { AppError, fromHttp, fromWx } = require('./errors');
const { NEVER } = require('./cancel');

const TOKEN_KEY = 'cartoon_token';

function createApi({
  wx, baseUrl, devOpenid = '', anonymous = false, timeout = 20000, sleep = realSleep, retries = 2,
}) {
  const base = baseUrl.replace(/\/+$/, '');
  let token = readToken();
  let loginPromise = null;

  function readToken() {
    try { return wx.getStorageSync(TOKEN_KEY) || null; } catch (e) { return null; }
  }

  function saveToken(value) {
    token = value;
    try {
      if (value) wx.setStorageSync(TOKEN_KEY, value);
      else wx.removeStorageSync(TOKEN_KEY);
    } catch (e) { /* storage is a cache only */ }
  }

  function url(path) {
    return /^https?:\/\//.test(path) ? path : base + path;
  }

  function authHeader() {
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  function parse(data) {
    if (typeof data !== 'string') return data;
    try { return JSON.parse(data); } catch (e) { return data; }
  }

  // One HTTP exchange, no login logic. Resolves with the JSON body.
  async function send(method, path, data) {
    let res;
    try {
      res = await promisify(wx.request, {
        url: url(path), method, data, timeout,
        header: Object.assign({ 'content-type': 'application/json' }, authHeader()),
      });
    } catch (err) {
      throw fromWx(err);
    }
    const body = parse(res.data);
    if (res.statusCode >= 400) throw fromHttp(res.statusCode, body, res.header);
    return body;
  }

  function login() {
    if (!loginPromise) {
      loginPromise = doLogin().finally(() => { loginPromise = null; });
    }
    return loginPromise;
  }

  async function doLogin() {
    let body;
    if (anonymous) {
      body = await send('POST', '/api/v1/auth/anonymous', {});
    } else if (devOpenid) {
      body = await send('POST', '/api/v1/auth/dev-login', { openid: devOpenid });
    } else {
      let code;
      try {
        code = (await promisify(wx.login, { timeout })).code;
      } catch (err) {
        throw fromWx(err);
      }
      body = await send('POST', '/api/v1/auth/login', { code });
    }
    if (!body || !body.token) throw new AppError('unauthorized');
    saveToken(body.token);
    return body;
  }

  // Runs `exchange` with a valid token: logs in first when there is none, and
  // once more when the server answers 401 (expired or revoked token).
  async function authed(exchange) {
    if (!token) await login();
    const used = token;
    try {
      return await exchange();
    } catch (err) {
      if (err.status !== 401) throw err;
      // Renew unless another call already did (or is doing) it.
      if (token === used || loginPromise) await login();
      return exchange();
    }
  }

  // Retries what is safe to repeat when the network drops or the server is busy.
  async function withRetry(fn) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const transient = ['network', 'timeout', 'server_busy'].includes(err.code);
        if (!transient || attempt >= retries) throw err;
        await sleep(Math.min(err.retryAfter ? err.retryAfter * 1000 : 500 * 2 ** attempt, 10000));
      }
    }
  }

  function get(path) {
    return withRetry(() => authed(() => send('GET', path)));
  }

  function post(path, data) {
    return authed(() => send('POST', path, data));
  }

  // A wx task (UploadTask, DownloadTask): progress to onProgress, aborted on cancel.
  async function task(api, options, { onProgress, cancel = NEVER } = {}) {
    cancel.check();
    let off = () => {};
    try {
      return await promisifyTask(api, options, (t) => {
        if (onProgress && t.onProgressUpdate) t.onProgressUpdate(onProgress);
        off = cancel.onCancel(() => t.abort && t.abort());
      });
    } catch (err) {
      throw cancel.cancelled ? new AppError('cancelled') : fromWx(err);
    } finally {
      off();
    }
  }

  // onProgress({ progress, totalBytesSent, totalBytesExpectedToSend }) while the file goes up.
  async function upload(path, filePath, formData, options) {
    const res = await task(wx.uploadFile, {
      url: url(path), filePath, name: 'image', formData, header: authHeader(), timeout,
    }, options);
    const body = parse(res.data);
    if (res.statusCode >= 400) throw fromHttp(res.statusCode, body, res.header);
    return body;
  }

  // Downloads a file (a result picture) to a temporary path; `filePath` optional.
  async function download(path, { filePath, onProgress, cancel } = {}) {
    const res = await task(wx.downloadFile, { url: url(path), filePath, header: authHeader(), timeout }, { onProgress, cancel });
    if (res.statusCode >= 400) throw fromHttp(res.statusCode, null, res.header);
    return res.filePath || res.tempFilePath;
  }

  async function waitForJob(id, { onStatus, interval = 1500, timeoutMs = 5 * 60 * 1000, cancel = NEVER } = {}) {
    const started = Date.now();
    for (;;) {
      cancel.check();
      const job = await get(`/api/v1/jobs/${encodeURIComponent(id)}`);
      cancel.check();
      if (onStatus) onStatus(job.status, job);
      if (job.status === 'done') return job;
      if (job.status === 'failed') {
        const reason = job.error || {};
        if (reason.code === 'content_rejected') throw new AppError('content_rejected', { serverCode: reason.code });
        throw new AppError('job_failed', { serverCode: reason.code });
      }
      if (Date.now() - started > timeoutMs) throw new AppError('timeout');
      let off = () => {};
      try {
        await Promise.race([sleep(interval), new Promise((resolve, reject) => {
          off = cancel.onCancel(() => reject(new AppError('cancelled')));
        })]);
      } finally {
        off();
      }
    }
  }

  return {
    login,
    get token() { return token; },
    styles: () => get('/api/v1/styles').then((body) => body.styles),
    manifest: (id, variant) => get(`/api/v1/styles/${encodeURIComponent(id)}/manifest?variant=${variant}`),
    plan: (facts) => withRetry(() => post('/api/v1/plan', facts)),
    createJob: (filePath, style, longSide, options) => authed(() => upload('/api/v1/jobs', filePath,
      longSide ? { style, long_side: String(longSide) } : { style }, options)),
    // A picture made on the phone, uploaded for WeChat's content check (POST /api/v1/results).
    uploadPicture: (filePath, style, options) => authed(() => upload('/api/v1/results', filePath, { style }, options)),
    job: (id) => get(`/api/v1/jobs/${encodeURIComponent(id)}`),
    waitForJob,
    downloadResult: (resultUrl, options) => authed(() => download(resultUrl, options)),
    share: (resultId) => post(`/api/v1/results/${encodeURIComponent(resultId)}/share`),
    url,
  };
}

module.exports = { createApi, TOKEN_KEY };
