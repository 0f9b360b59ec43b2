// The WeChat APIs the client modules use, implemented in Node over real HTTP
// (fetch) and a real folder on disk, for the end-to-end test: wx.request,
// wx.uploadFile, wx.downloadFile (with onProgressUpdate), wx.login (codes the
// fake WeChat server accepts), storage, and wx.getFileSystemManager().

const fs = require('fs');
const path = require('path');

function callback(o, promise) {
  promise.then(
    (res) => { if (o.success) o.success(Object.assign({ errMsg: 'ok' }, res)); },
    (err) => { if (o.fail) o.fail({ errMsg: err.errMsg || `fail ${err.message}` }); },
  );
}

function headersOf(response) {
  const header = {};
  response.headers.forEach((v, k) => { header[k] = v; });
  return header;
}

// FileSystemManager on a real folder; paths are plain absolute paths.
function diskFs() {
  const wrap = (name, fn) => (o) => callback(o, Promise.resolve().then(fn).catch((e) => {
    throw { errMsg: `${name}:fail ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}` };
  }));
  return {
    access: (o) => wrap('access', () => fs.accessSync(o.path))(o),
    stat: (o) => wrap('stat', () => ({ stats: fs.statSync(o.path) }))(o),
    mkdir: (o) => wrap('mkdir', () => {
      if (fs.existsSync(o.dirPath)) throw new Error(`file already exists ${o.dirPath}`);
      fs.mkdirSync(o.dirPath, { recursive: o.recursive });
    })(o),
    readFile: (o) => wrap('readFile', () => {
      const buf = fs.readFileSync(o.filePath);
      return { data: o.encoding ? buf.toString(o.encoding) : buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) };
    })(o),
    writeFile: (o) => wrap('writeFile', () => fs.writeFileSync(o.filePath,
      typeof o.data === 'string' ? o.data : Buffer.from(o.data), o.encoding))(o),
    unlink: (o) => wrap('unlink', () => fs.unlinkSync(o.filePath))(o),
    rename: (o) => wrap('rename', () => fs.renameSync(o.oldPath, o.newPath))(o),
    rmdir: (o) => wrap('rmdir', () => fs.rmSync(o.dirPath, { recursive: Boolean(o.recursive) }))(o),
    readdir: (o) => wrap('readdir', () => ({ files: fs.readdirSync(o.dirPath) }))(o),
  };
}

function createNodeWx({ dir, loginCodes = () => `code-${Date.now()}-${Math.random()}` }) {
  const storage = {};
  const tmp = path.join(dir, 'tmp');
  const userData = path.join(dir, 'usr');
  fs.mkdirSync(tmp, { recursive: true });
  fs.mkdirSync(userData, { recursive: true });
  const log = []; // every HTTP exchange: { kind, method, url, status }
  let tmpCount = 0;

  async function send(kind, url, init) {
    let response;
    try {
      response = await fetch(url, init);
    } catch (e) {
      throw { errMsg: `${kind}:fail ${e.message}` };
    }
    log.push({ kind, method: init.method || 'GET', url, status: response.status });
    return response;
  }

  const wx = {
    env: { USER_DATA_PATH: userData },
    request(o) {
      const method = o.method || 'GET';
      const init = { method, headers: Object.assign({}, o.header) };
      if (o.data !== undefined && method !== 'GET') init.body = JSON.stringify(o.data);
      callback(o, send('request', o.url, init).then(async (r) => {
        const text = await r.text();
        let data = text;
        try { data = JSON.parse(text); } catch (e) { /* not JSON */ }
        return { statusCode: r.status, data, header: headersOf(r) };
      }));
    },
    uploadFile(o) {
      const form = new FormData();
      Object.entries(o.formData || {}).forEach(([k, v]) => form.append(k, v));
      form.append(o.name, new Blob([fs.readFileSync(o.filePath)]), path.basename(o.filePath));
      callback(o, send('upload', o.url, { method: 'POST', headers: o.header, body: form })
        .then(async (r) => ({ statusCode: r.status, data: await r.text(), header: headersOf(r) })));
    },
    downloadFile(o) {
      const listeners = [];
      callback(o, send('download', o.url, { headers: o.header }).then(async (r) => {
        const body = Buffer.from(await r.arrayBuffer());
        listeners.forEach((l) => l({ progress: 100, totalBytesWritten: body.length, totalBytesExpectedToWrite: body.length }));
        const target = o.filePath || path.join(tmp, `download-${++tmpCount}`);
        if (r.status === 200) fs.writeFileSync(target, body);
        return { statusCode: r.status, tempFilePath: o.filePath ? undefined : target, filePath: o.filePath, header: headersOf(r) };
      }));
      return { onProgressUpdate: (l) => listeners.push(l), abort() {} };
    },
    login(o) {
      callback(o, Promise.resolve({ code: loginCodes() }));
    },
    getStorageSync: (k) => storage[k] || '',
    setStorageSync: (k, v) => { storage[k] = v; },
    removeStorageSync: (k) => { delete storage[k]; },
    getFileSystemManager: () => diskFs(),
    getDeviceInfo: () => ({ platform: 'android', memorySize: '8192', benchmarkLevel: 30, brand: 'node', model: 'test' }),
    getDeviceBenchmarkInfo: (o) => callback(o, Promise.resolve({ benchmarkLevel: 30, modelLevel: 1 })),
  };
  return { wx, log, tmp, userData };
}

module.exports = { createNodeWx, diskFs };
