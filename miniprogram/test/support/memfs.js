// An in-memory double of wx.getFileSystemManager(): the callback API the model
// cache uses, over a Map of path → Buffer. `limitBytes` imitates WeChat's
// 200 MB user-data limit: a write past it fails as WeChat's does.

function createMemFs({ limitBytes = Infinity } = {}) {
  const files = new Map();
  const dirs = new Set(['']);

  const used = () => [...files.values()].reduce((s, b) => s + b.length, 0);
  const parent = (p) => p.slice(0, Math.max(0, p.lastIndexOf('/')));

  function done(options, err, res) {
    if (err) {
      if (options.fail) options.fail({ errMsg: err });
    } else if (options.success) {
      options.success(Object.assign({ errMsg: 'ok' }, res));
    }
    if (options.complete) options.complete();
  }

  function toBuffer(data, encoding) {
    if (typeof data === 'string') return Buffer.from(data, encoding === 'base64' ? 'base64' : 'utf8');
    if (data instanceof ArrayBuffer) return Buffer.from(new Uint8Array(data));
    return Buffer.from(data);
  }

  function put(path, buf, name = 'writeFile') {
    if (!dirs.has(parent(path))) return `${name}:fail no such file or directory ${path}`;
    const old = files.has(path) ? files.get(path).length : 0;
    if (used() - old + buf.length > limitBytes) {
      return `${name}:fail the maximum size of the file storage limit is exceeded`;
    }
    files.set(path, buf);
    return null;
  }

  const fs = {
    access(o) {
      done(o, files.has(o.path) || dirs.has(o.path) ? null : `access:fail no such file or directory ${o.path}`);
    },
    stat(o) {
      if (files.has(o.path)) done(o, null, { stats: { size: files.get(o.path).length, isFile: () => true, isDirectory: () => false } });
      else if (dirs.has(o.path)) done(o, null, { stats: { size: 0, isFile: () => false, isDirectory: () => true } });
      else done(o, `stat:fail no such file or directory ${o.path}`);
    },
    mkdir(o) {
      if (dirs.has(o.dirPath)) return done(o, `mkdir:fail file already exists ${o.dirPath}`);
      const parts = o.dirPath.split('/');
      for (let i = 1; i <= parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (!dirs.has(d)) {
          if (!o.recursive && i < parts.length) return done(o, `mkdir:fail no such file or directory ${d}`);
          dirs.add(d);
        }
      }
      return done(o, null);
    },
    readFile(o) {
      const buf = files.get(o.filePath);
      if (!buf) return done(o, `readFile:fail no such file or directory ${o.filePath}`);
      const data = o.encoding ? buf.toString(o.encoding === 'utf8' ? 'utf8' : o.encoding)
        : buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
      return done(o, null, { data });
    },
    writeFile(o) {
      done(o, put(o.filePath, toBuffer(o.data, o.encoding)));
    },
    unlink(o) {
      done(o, files.delete(o.filePath) ? null : `unlink:fail no such file or directory ${o.filePath}`);
    },
    rename(o) {
      const buf = files.get(o.oldPath);
      if (!buf) return done(o, `rename:fail no such file or directory ${o.oldPath}`);
      files.delete(o.oldPath);
      return done(o, put(o.newPath, buf, 'rename'));
    },
    rmdir(o) {
      if (!dirs.has(o.dirPath)) return done(o, `rmdir:fail no such file or directory ${o.dirPath}`);
      const prefix = `${o.dirPath}/`;
      for (const p of [...files.keys()]) if (p.startsWith(prefix)) files.delete(p);
      for (const d of [...dirs]) if (d === o.dirPath || d.startsWith(prefix)) dirs.delete(d);
      return done(o, null);
    },
    readdir(o) {
      if (!dirs.has(o.dirPath)) return done(o, `readdir:fail no such file or directory ${o.dirPath}`);
      const prefix = `${o.dirPath}/`;
      const names = new Set();
      for (const p of [...files.keys(), ...dirs]) {
        if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split('/')[0]);
      }
      return done(o, null, { files: [...names] });
    },
  };

  // Writes bytes as wx.downloadFile({ filePath }) would (used by download doubles).
  fs.putFile = (path, buf) => {
    const err = put(path, Buffer.from(buf), 'downloadFile');
    if (err) throw Object.assign(new Error(err), { errMsg: err });
  };
  fs.files = files;
  fs.used = used;
  return fs;
}

module.exports = { createMemFs };
