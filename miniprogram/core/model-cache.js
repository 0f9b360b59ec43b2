// Model files on the phone's file system (wx.env.USER_DATA_PATH), under versioned
// keys <root>/<style>/<version>/<variant>/. Every file is checked against the
// manifest's sha256 after download and again before use; a mismatch deletes the
// file and downloads it again. Older versions of a style are evicted when a new
// one arrives, and least recently used styles when the 200 MB user-data limit
// (less a reserve) would be passed. A style used before needs no download.
//
// Platform parts come in as parameters: `fs` (wx.getFileSystemManager()),
// `download(url, filePath, onProgress, cancel)` and `sha256(Uint8Array) → hex` (or a promise of it).
//
// One variant is never fetched twice at once: a second load() of a variant that is being fetched
// waits for the first; a cancelled load (core/cancel.js) aborts its download and leaves only
// verified files behind.

const { fsp } = require('./wxp');
const { AppError, fromWx } = require('./errors');
const { NEVER } = require('./cancel');

const MB = 1024 * 1024;

// UTF-8 bytes (an ArrayBuffer; a string is returned as it is) → text. Written out because the
// mini-program's JavaScript engine may lack TextDecoder; each byte of a malformed sequence
// becomes U+FFFD, as TextDecoder does for most of them.
const SMALLEST = [0, 0, 0x80, 0x800, 0x10000]; // overlong encodings below these are malformed

function decodeUtf8(data) {
  if (typeof data === 'string') return data;
  const bytes = new Uint8Array(data);
  const units = [];
  let text = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const length = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    let code = length === 1 ? b : b & (0x7f >> length);
    for (let k = 1; k < length && code >= 0; k++) {
      const c = bytes[i + k];
      code = c !== undefined && (c & 0xc0) === 0x80 ? (code << 6) | (c & 0x3f) : -1;
    }
    if (!length || code < SMALLEST[length] || code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) {
      units.push(0xfffd);
      i += 1;
      continue;
    }
    if (code > 0xffff) units.push(0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff));
    else units.push(code);
    i += length;
    if (units.length >= 8192) text += String.fromCharCode(...units.splice(0));
  }
  return text + String.fromCharCode(...units);
}

function localName(path) {
  return path.replace(/[^A-Za-z0-9._-]/g, '_');
}

function dirname(path) {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function createModelCache({
  fs, root, download, sha256, limitBytes = 200 * MB, reserveBytes = 30 * MB,
  attempts = 2, now = Date.now, log = () => {},
}) {
  const files = fsp(fs);
  const indexPath = `${root}/index.json`;

  async function readIndex() {
    try {
      const text = await files.readFile(indexPath).then(decodeUtf8);
      const index = JSON.parse(text);
      if (index && index.entries) return index;
    } catch (e) { /* missing or unreadable: start empty */ }
    return { entries: {} };
  }


  async function writeIndex(index) {
    await files.writeFile(indexPath, JSON.stringify(index), 'utf8');
  }

  async function evict(index, key) {
    const entry = index.entries[key];
    await files.rmdir(`${root}/${key}`);
    delete index.entries[key];
    log(`evicted ${key} (${entry ? entry.bytes : 0} bytes)`);
  }

  function usedBytes(index, exceptKey) {
    return Object.keys(index.entries)
      .filter((k) => k !== exceptKey)
      .reduce((sum, k) => sum + (index.entries[k].bytes || 0), 0);
  }

  // Frees room for `needed` more bytes of `key`: least recently used first.
  async function makeRoom(index, key, needed) {
    const budget = limitBytes - reserveBytes;
    const others = Object.keys(index.entries).filter((k) => k !== key)
      .sort((a, b) => (index.entries[a].lastUsed || 0) - (index.entries[b].lastUsed || 0));
    const ownBytes = index.entries[key] ? index.entries[key].bytes || 0 : 0;
    while (usedBytes(index, key) + ownBytes + needed > budget && others.length) {
      await evict(index, others.shift());
    }
    if (usedBytes(index, key) + ownBytes + needed > budget) throw new AppError('storage_full');
  }

  // Reads a local file and checks it; resolves with its bytes or null.
  async function readVerified(path, file) {
    let data;
    try {
      data = await files.readFile(path);
    } catch (e) {
      return null;
    }
    if (data.byteLength === file.bytes && await sha256(new Uint8Array(data)) === file.sha256) return data;
    log(`checksum mismatch for ${path}, deleting`);
    await files.unlink(path);
    return null;
  }

  async function fetchFile(dir, file, onBytes, cancel) {
    const target = `${dir}/${localName(file.path)}`;
    const partial = `${target}.partial`;
    for (let attempt = 1; ; attempt++) {
      cancel.check();
      await files.unlink(partial);
      try {
        await download(file.url, partial, (p) => onBytes(p.totalBytesWritten || 0), cancel);
        cancel.check();
      } catch (err) {
        await files.unlink(partial);
        throw cancel.cancelled ? new AppError('cancelled') : fromWx(err);
      }
      const data = await readVerified(partial, file);
      if (data) {
        await files.rename(partial, target);
        return data;
      }
      onBytes(0);
      if (attempt >= attempts) throw new AppError('checksum');
    }
  }

  const inflight = new Map(); // variant key → the promise of its files

  // Makes every file of a manifest variant present and verified; resolves with
  // { dir, contents } (contents: file path → ArrayBuffer). A variant already being fetched is
  // not fetched again: the second caller waits for the first.
  function ensure(manifest, options = {}) {
    const key = `${manifest.id}/${manifest.version}/${manifest.variant}`;
    if (!inflight.has(key)) {
      inflight.set(key, fetchVariant(manifest, options).finally(() => inflight.delete(key)));
    }
    return inflight.get(key);
  }

  // onProgress({ loaded, total, percent }) reports downloads; `cancel` stops them.
  async function fetchVariant(manifest, { onProgress, cancel = NEVER } = {}) {
    const variant = manifest.variant;
    const key = `${manifest.id}/${manifest.version}/${variant}`;
    const dir = `${root}/${key}`;
    const index = await readIndex();

    for (const k of Object.keys(index.entries)) {
      const e = index.entries[k];
      if (e.id === manifest.id && e.version !== manifest.version) await evict(index, k);
    }

    await files.mkdir(dir);
    const contents = {};
    const missing = [];
    for (const file of manifest.files) {
      const data = await readVerified(`${dir}/${localName(file.path)}`, file);
      if (data) contents[file.path] = data;
      else missing.push(file);
    }

    if (missing.length) {
      const total = missing.reduce((sum, f) => sum + f.bytes, 0);
      await makeRoom(index, key, total);
      index.entries[key] = {
        id: manifest.id, version: manifest.version, variant, bytes: manifest.bytes, lastUsed: now(), complete: false,
      };
      await writeIndex(index).catch(() => {}); // a hint only; the final write below counts
      let done = 0;
      let retried = false;
      for (const file of missing) {
        const report = (bytes) => onProgress && onProgress({
          loaded: done + bytes, total, percent: Math.min(100, Math.floor(((done + bytes) / total) * 100)),
        });
        try {
          contents[file.path] = await fetchFile(dir, file, report, cancel);
        } catch (err) {
          // The platform said the 200 MB are used up (other files count too):
          // drop every other style once and try again.
          if (err.code !== 'storage_full' || retried) throw err;
          retried = true;
          for (const k of Object.keys(index.entries)) if (k !== key) await evict(index, k);
          await writeIndex(index);
          contents[file.path] = await fetchFile(dir, file, report, cancel);
        }
        done += file.bytes;
        report(0);
      }
    }

    index.entries[key] = Object.assign(index.entries[key] || {}, {
      id: manifest.id, version: manifest.version, variant, bytes: manifest.bytes, lastUsed: now(), complete: true,
    });
    await writeIndex(index);
    return { dir, contents };
  }

  // TF.js variants: resolves with { modelJson, weights } where weights maps model.json's weight
  // paths to ArrayBuffers.
  async function load(manifest, options) {
    return artifactsFrom(manifest, (await ensure(manifest, options)).contents);
  }

  // ONNX variants (wx.createInferenceSession reads a file): resolves with the local path of the
  // verified model file.
  async function modelPath(manifest, options) {
    const { dir } = await ensure(manifest, options);
    const file = manifest.files.find((f) => manifest.model_url && manifest.model_url.endsWith(f.path)) || manifest.files[0];
    return `${dir}/${localName(file.path)}`;
  }

  function artifactsFrom(manifest, contents) {
    const modelFile = manifest.files.find((f) => manifest.model_url && manifest.model_url.endsWith(f.path))
      || manifest.files.find((f) => /(^|\/)model\.json$/.test(f.path));
    if (!modelFile) throw new AppError('checksum', { message: 'manifest has no model.json' });
    const modelJson = JSON.parse(decodeUtf8(contents[modelFile.path]));
    const base = dirname(modelFile.path);
    const weights = {};
    for (const file of manifest.files) {
      if (file === modelFile) continue;
      const rel = base && file.path.startsWith(`${base}/`) ? file.path.slice(base.length + 1) : file.path;
      weights[rel] = contents[file.path];
    }
    return { modelJson, weights };
  }

  // Whether every file of the variant is on disk (sizes only; load() verifies).
  async function has(manifest) {
    const index = await readIndex();
    const entry = index.entries[`${manifest.id}/${manifest.version}/${manifest.variant}`];
    return Boolean(entry && entry.complete);
  }

  return { load, modelPath, has };
}

// download() for createModelCache from wx.downloadFile straight into the user
// data folder, with progress; a cancel aborts the DownloadTask.
function wxDownloader(wx, header) {
  return (url, filePath, onProgress, cancel = NEVER) => new Promise((resolve, reject) => {
    let off = () => {};
    const task = wx.downloadFile({
      url, filePath, header,
      success: (res) => {
        off();
        if (res.statusCode === 200) resolve(res);
        else reject(new AppError(res.statusCode >= 500 ? 'server_busy' : 'not_found', { status: res.statusCode }));
      },
      fail: (err) => {
        off();
        reject(cancel.cancelled ? new AppError('cancelled') : err);
      },
    });
    if (task && onProgress) task.onProgressUpdate(onProgress);
    off = cancel.onCancel(() => {
      if (task && task.abort) task.abort();
      reject(new AppError('cancelled'));
    });
  });
}

module.exports = { createModelCache, wxDownloader, decodeUtf8, localName, MB };
