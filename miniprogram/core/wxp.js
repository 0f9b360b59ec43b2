// Promise wrappers for callback-style WeChat APIs.

// Calls api({...options, success, fail}) and resolves with the success result.
// The failure becomes an Error carrying WeChat's errMsg (and errno when given).
function promisify(api, options) {
  return new Promise((resolve, reject) => {
    api(Object.assign({}, options, {
      success: resolve,
      fail: (res) => reject(wxError(res)),
    }));
  });
}

function wxError(res) {
  const msg = (res && res.errMsg) || 'fail';
  const err = new Error(msg);
  err.errMsg = msg;
  if (res && res.errno !== undefined) err.errno = res.errno;
  return err;
}

// Same as promisify but also hands back the task object (DownloadTask, UploadTask)
// so callers can listen to progress before the result arrives.
function promisifyTask(api, options, onTask) {
  return new Promise((resolve, reject) => {
    const task = api(Object.assign({}, options, {
      success: resolve,
      fail: (res) => reject(wxError(res)),
    }));
    if (onTask && task) onTask(task);
  });
}

// Promise versions of the FileSystemManager calls the model cache uses.
function fsp(fs) {
  const call = (name) => (options) => promisify(fs[name].bind(fs), options);
  return {
    access: (path) => call('access')({ path }).then(() => true, () => false),
    stat: (path) => call('stat')({ path }).then((res) => res.stats),
    mkdir: (dirPath) => call('mkdir')({ dirPath, recursive: true }).catch((err) => {
      if (!/exist/i.test(err.errMsg)) throw err;
    }),
    readFile: (filePath) => call('readFile')({ filePath }).then((res) => res.data),
    writeFile: (filePath, data, encoding) => call('writeFile')({ filePath, data, encoding }),
    unlink: (filePath) => call('unlink')({ filePath }).catch(() => {}),
    rename: (oldPath, newPath) => call('rename')({ oldPath, newPath }),
    rmdir: (dirPath) => call('rmdir')({ dirPath, recursive: true }).catch(() => {}),
    readdir: (dirPath) => call('readdir')({ dirPath }).then((res) => res.files, () => []),
  };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = { promisify, promisifyTask, wxError, fsp, sleep };
