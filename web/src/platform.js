// The browser adapter of the client core (../../miniprogram/core): the few `wx` calls the core
// makes (request, uploadFile, downloadFile, storage, a file system manager, device facts),
// written over fetch, XMLHttpRequest, localStorage and Cache Storage, with wx's callback
// conventions (success / fail with an errMsg, tasks with onProgressUpdate and abort).
//
// A "file path" here is an object URL (blob:...) for pictures and photos, and a key of the
// model cache's file system (Cache Storage) for model files.

const FS_CACHE = 'cartoon-model-files';
const FS_PREFIX = '/__model-files/'; // Cache Storage keys are URLs; these are never fetched

function failure(api, reason) {
  return { errMsg: `${api}:fail ${reason}` };
}

function headersObject(xhrOrResponse) {
  const headers = {};
  if (typeof xhrOrResponse.getAllResponseHeaders === 'function') {
    for (const line of xhrOrResponse.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
  } else {
    xhrOrResponse.headers.forEach((value, name) => { headers[name] = value; });
  }
  return headers;
}

// An XMLHttpRequest as a wx task: { onProgressUpdate(listener), abort() }.
function xhrTask(api, { method, url, header = {}, timeout, body, responseType, success, fail, progress }) {
  const xhr = new XMLHttpRequest();
  const listeners = [];
  xhr.open(method, url);
  if (responseType) xhr.responseType = responseType;
  if (timeout) xhr.timeout = timeout;
  for (const [name, value] of Object.entries(header)) xhr.setRequestHeader(name, value);
  const report = (loaded, total) => listeners.forEach((listener) => listener(progress(loaded, total)));
  (method === 'POST' ? xhr.upload : xhr).onprogress = (e) => report(e.loaded, e.lengthComputable ? e.total : 0);
  xhr.onload = () => success(xhr);
  xhr.onerror = () => fail(failure(api, 'network error'));
  xhr.ontimeout = () => fail(failure(api, 'timeout'));
  xhr.onabort = () => fail(failure(api, 'abort'));
  xhr.send(body);
  return { onProgressUpdate: (listener) => listeners.push(listener), abort: () => xhr.abort() };
}

function request({ url, method = 'GET', data, header = {}, timeout, success, fail }) {
  const controller = new AbortController();
  const timer = timeout ? setTimeout(() => controller.abort(), timeout) : null;
  const hasBody = method !== 'GET' && data !== undefined;
  fetch(url, {
    method, headers: header, body: hasBody ? JSON.stringify(data) : undefined, signal: controller.signal,
  }).then(async (response) => {
    success({ statusCode: response.status, data: await response.text(), header: headersObject(response) });
  }).catch((err) => {
    fail(failure('request', controller.signal.aborted ? 'timeout' : err.message));
  }).finally(() => clearTimeout(timer));
}

function uploadFile({ url, filePath, name, formData = {}, header, timeout, success, fail }) {
  let task = null;
  let aborted = false;
  const listeners = [];
  fetch(filePath).then((r) => r.blob()).then((blob) => {
    if (aborted) return;
    const form = new FormData();
    for (const [key, value] of Object.entries(formData)) form.append(key, value);
    form.append(name, blob, `photo.${(blob.type.split('/')[1] || 'bin').replace('jpeg', 'jpg')}`);
    task = xhrTask('uploadFile', {
      method: 'POST', url, header, timeout, body: form, fail,
      success: (xhr) => success({ statusCode: xhr.status, data: xhr.responseText, header: headersObject(xhr) }),
      progress: (loaded, total) => ({
        progress: total ? Math.floor((loaded / total) * 100) : 0, totalBytesSent: loaded, totalBytesExpectedToSend: total,
      }),
    });
    listeners.forEach((listener) => task.onProgressUpdate(listener));
  }, () => fail(failure('uploadFile', `cannot read ${filePath}`)));
  return {
    onProgressUpdate: (listener) => (task ? task.onProgressUpdate(listener) : listeners.push(listener)),
    abort: () => {
      aborted = true;
      if (task) task.abort();
      else fail(failure('uploadFile', 'abort'));
    },
  };
}

// Resolves with an object URL of the downloaded file (`tempFilePath`), as wx.downloadFile.
function downloadFile({ url, header, timeout, success, fail }) {
  return xhrTask('downloadFile', {
    method: 'GET', url, header, timeout, responseType: 'blob', fail,
    success: (xhr) => success({
      statusCode: xhr.status, tempFilePath: xhr.status < 400 ? URL.createObjectURL(xhr.response) : '',
    }),
    progress: (loaded, total) => ({
      progress: total ? Math.floor((loaded / total) * 100) : 0, totalBytesWritten: loaded, totalBytesExpectedToWrite: total,
    }),
  });
}

// wx.getFileSystemManager() over Cache Storage, for the model cache: files are entries under
// FS_PREFIX; folders exist implicitly (mkdir does nothing, rmdir removes everything below).
function createCacheFs(caches) {
  const open = () => caches.open(FS_CACHE);
  const key = (path) => FS_PREFIX + path.replace(/^\/+/, '');
  const pathOf = (url) => decodeURIComponent(new URL(url, 'http://x').pathname.slice(FS_PREFIX.length));
  const run = (api, options, action) => action().then(
    (result) => options.success && options.success(result || {}),
    (err) => options.fail && options.fail(failure(api, err.message)),
  );
  const below = async (dirPath) => {
    const prefix = dirPath.replace(/\/*$/, '/');
    return (await (await open()).keys()).filter((r) => pathOf(r.url).startsWith(prefix));
  };
  const read = async (filePath) => {
    const response = await (await open()).match(key(filePath));
    if (!response) throw new Error(`no such file or directory ${filePath}`);
    return response;
  };
  return {
    readFile: (o) => run('readFile', o, async () => {
      const response = await read(o.filePath);
      return { data: o.encoding ? await response.text() : await response.arrayBuffer() };
    }),
    writeFile: (o) => run('writeFile', o, async () => {
      await (await open()).put(key(o.filePath), new Response(o.data));
    }),
    unlink: (o) => run('unlink', o, async () => {
      if (!await (await open()).delete(key(o.filePath))) throw new Error(`no such file ${o.filePath}`);
    }),
    rename: (o) => run('rename', o, async () => {
      const cache = await open();
      await cache.put(key(o.newPath), await read(o.oldPath));
      await cache.delete(key(o.oldPath));
    }),
    mkdir: (o) => run('mkdir', o, async () => {}),
    rmdir: (o) => run('rmdir', o, async () => {
      const cache = await open();
      await Promise.all((await below(o.dirPath)).map((r) => cache.delete(r)));
    }),
    readdir: (o) => run('readdir', o, async () => {
      const prefix = o.dirPath.replace(/\/*$/, '/');
      const names = (await below(o.dirPath)).map((r) => pathOf(r.url).slice(prefix.length).split('/')[0]);
      return { files: [...new Set(names)] };
    }),
    access: (o) => run('access', o, async () => { await read(o.path); }),
  };
}

// The model cache's download(url, filePath, onProgress, cancel): fetch, streamed into the file
// system with progress, aborted on cancel.
function createDownloader(fs, { headers = {} } = {}) {
  return async (url, filePath, onProgress, cancel) => {
    const controller = new AbortController();
    const off = cancel ? cancel.onCancel(() => controller.abort()) : () => {};
    try {
      const response = await fetch(url, { headers, signal: controller.signal });
      if (!response.ok) throw Object.assign(new Error(`downloadFile:fail HTTP ${response.status}`), { errMsg: `downloadFile:fail HTTP ${response.status}` });
      const total = Number(response.headers.get('content-length')) || 0;
      const reader = response.body.getReader();
      const chunks = [];
      let loaded = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.byteLength;
        if (onProgress) onProgress({ totalBytesWritten: loaded, totalBytesExpectedToWrite: total });
      }
      await new Promise((resolve, reject) => fs.writeFile({
        filePath, data: new Blob(chunks), success: resolve, fail: reject,
      }));
    } catch (err) {
      throw err.errMsg ? err : Object.assign(err, { errMsg: `downloadFile:fail ${err.message}` });
    } finally {
      off();
    }
  };
}

// The sha256 the model cache checks files with (Web Crypto: off the main thread's hot path).
async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

// navigator.deviceMemory (GB, rounded down and capped at 8 by the browser; absent in some
// browsers, then 4 GB is assumed) in the MB of the plan's memorySize.
function deviceInfo(navigator) {
  const gigabytes = Number(navigator.deviceMemory) || 4;
  return { platform: 'web', memorySize: Math.round(gigabytes * 1024), benchmarkLevel: -1 };
}

// The largest texture side WebGL gives in this browser (TF.js's limit), null without WebGL.
function readMaxTextureSize() {
  try {
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2') || new OffscreenCanvas(1, 1).getContext('webgl');
    const size = gl && gl.getParameter(gl.MAX_TEXTURE_SIZE);
    const lose = gl && gl.getExtension('WEBGL_lose_context');
    if (lose) lose.loseContext();
    return size || null;
  } catch (e) {
    return null;
  }
}

function createBrowserWx({ storage = globalThis.localStorage, navigator = globalThis.navigator, caches = globalThis.caches } = {}) {
  const fs = createCacheFs(caches);
  return {
    request,
    uploadFile,
    downloadFile,
    getStorageSync: (name) => storage.getItem(name) || '',
    setStorageSync: (name, value) => storage.setItem(name, value),
    removeStorageSync: (name) => storage.removeItem(name),
    getFileSystemManager: () => fs,
    getDeviceInfo: () => deviceInfo(navigator),
    getNetworkType: ({ success }) => {
      const connection = navigator.connection || {};
      success({ networkType: ['wifi', 'ethernet'].includes(connection.type) ? 'wifi' : connection.type || 'unknown' });
    },
  };
}

module.exports = { createBrowserWx, createCacheFs, createDownloader, sha256, readMaxTextureSize, FS_CACHE };
