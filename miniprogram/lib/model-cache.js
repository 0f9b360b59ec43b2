// Model files on the phone's file system (wx.env.USER_DATA_PATH), under versioned
// keys <root>/<style>/<version>/<variant>/. Every file is checked against the
// manifest's sha256 after download and again before use; a mismatch deletes the
// file and downloads it again. Older versions of a style are evicted when a new
// one arrives, and least recently used styles when the 200 MB user-data limit
// (less a reserve) would be passed. A style used before needs no download.
//
// Platform parts come in as parameters: `fs` (wx.getFileSystemManager()),
// `download(url, filePath, onProgress)` and `sha256(ArrayBuffer) → hex`.

const { fsp } = require('./wxp');
const { AppError, fromWx } = require('./errors');

const MB = 1024 * 1024;

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
      const text = await files.readFile(indexPath).then(decode);
      const index = JSON.parse(text);
      if (index && index.entries) return index;
    } catch (e) { /* missing or unreadable: start empty */ }
    return { entries: {} };
  }

  function decode(data) {
    if (typeof data === 'string') return data;
    let s = '';
    const bytes = new Uint8Array(data);
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return decodeURIComponent(escape(s));
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
    if (data.byteLength === file.bytes && sha256(new Uint8Array(data)) === file.sha256) return data;
    log(`checksum mismatch for ${path}, deleting`);
    await files.unlink(path);
    return null;
  }

  async function fetchFile(dir, file, onBytes) {
    const target = `${dir}/${localName(file.path)}`;
    const partial = `${target}.partial`;
    for (let attempt = 1; ; attempt++) {
      await files.unlink(partial);
      try {
        await download(file.url, partial, (p) => onBytes(p.totalBytesWritten || 0));
      } catch (err) {
        await files.unlink(partial);
        throw fromWx(err);
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

  // Makes every file of a manifest variant present and verified, then resolves
  // with { modelJson, weights } where weights maps model.json's weight paths to
  // ArrayBuffers. onProgress({ loaded, total, percent }) reports downloads.
  async function load(manifest, { onProgress } = {}) {
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
          contents[file.path] = await fetchFile(dir, file, report);
        } catch (err) {
          // The platform said the 200 MB are used up (other files count too):
          // drop every other style once and try again.
          if (err.code !== 'storage_full' || retried) throw err;
          retried = true;
          for (const k of Object.keys(index.entries)) if (k !== key) await evict(index, k);
          await writeIndex(index);
          contents[file.path] = await fetchFile(dir, file, report);
        }
        done += file.bytes;
        report(0);
      }
    }

    index.entries[key] = Object.assign(index.entries[key] || {}, {
      id: manifest.id, version: manifest.version, variant, bytes: manifest.bytes, lastUsed: now(), complete: true,
    });
    await writeIndex(index);
    return artifactsFrom(manifest, contents);
  }

  function artifactsFrom(manifest, contents) {
    const modelFile = manifest.files.find((f) => manifest.model_url && manifest.model_url.endsWith(f.path))
      || manifest.files.find((f) => /(^|\/)model\.json$/.test(f.path));
    if (!modelFile) throw new AppError('checksum', { message: 'manifest has no model.json' });
    const modelJson = JSON.parse(decode(contents[modelFile.path]));
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

  async function usage() {
    return usedBytes(await readIndex());
  }

  async function clear() {
    await files.rmdir(root);
  }

  return { load, has, usage, clear };
}

// download() for createModelCache from wx.downloadFile straight into the user
// data folder, with progress.
function wxDownloader(wx, header) {
  return (url, filePath, onProgress) => new Promise((resolve, reject) => {
    const task = wx.downloadFile({
      url, filePath, header,
      success: (res) => (res.statusCode === 200
        ? resolve(res)
        : reject(new AppError(res.statusCode >= 500 ? 'server_busy' : 'not_found', { status: res.statusCode }))),
      fail: reject,
    });
    if (task && onProgress) task.onProgressUpdate(onProgress);
  });
}

module.exports = { createModelCache, wxDownloader, localName, MB };
