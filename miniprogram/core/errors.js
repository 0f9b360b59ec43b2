// Every failure the user can meet becomes an AppError: a code the code can test,
// a sentence a person understands, and whether trying again can help.

const MESSAGES = {
  network: '网络好像断开了，请检查网络后重试。',
  timeout: '网络太慢，请求超时了，请稍后重试。',
  server_busy: '服务器有点忙，请稍后再试。',
  rate_limited: '操作太频繁了，请稍等一会儿再试。',
  quota_exceeded: '今天的云端处理次数已用完，明天再来吧。',
  content_rejected: '这张图片没有通过内容安全检查，不能分享。',
  content_check_pending: '图片还在安全检查中，请稍后再分享。',
  blocked: '账号暂时无法使用，请联系客服。',
  unauthorized: '登录失败，请重试。',
  bad_photo: '这张照片无法处理，请换一张试试。',
  photo_too_large: '照片太大了，请换一张小一点的照片。',
  gif_too_many_frames: '动图的帧数太多了，请换一张短一点的动图。',
  gif_too_large: '动图太大了，请换一张小一点或短一点的动图。',
  not_found: '内容不存在或已过期。',
  out_of_memory: '手机内存不足，已改用云端处理。',
  storage_full: '手机存储空间不足，无法保存风格模型。',
  checksum: '模型文件下载不完整，请重试。',
  job_failed: '云端处理失败了，请重试。',
  privacy_denied: '需要你同意隐私保护指引后才能继续。',
  album_denied: '没有保存到相册的权限，请在设置中允许后重试。',
  cancelled: '已取消。',
  download_declined: '没有下载风格模型，已改用云端处理。',
  unknown: '出了点问题，请重试。',
};

const RETRYABLE = new Set([
  'network', 'timeout', 'server_busy', 'rate_limited', 'unauthorized', 'checksum',
  'job_failed', 'unknown', 'out_of_memory', 'storage_full', 'album_denied', 'content_check_pending',
]);

class AppError extends Error {
  constructor(code, { message, status, serverCode, retryAfter, cause } = {}) {
    super(message || MESSAGES[code] || MESSAGES.unknown);
    this.name = 'AppError';
    this.code = MESSAGES[code] ? code : 'unknown';
    this.retryable = RETRYABLE.has(this.code);
    if (status !== undefined) this.status = status;
    if (serverCode) this.serverCode = serverCode;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
    if (cause) this.cause = cause;
  }
}

function headerValue(headers, name) {
  if (!headers) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key ? headers[key] : undefined;
}

// An HTTP answer with a 4xx/5xx status → AppError. `body` is the parsed JSON error
// {"error": {"code", "message"}} of docs/api.md, when there is one.
function fromHttp(status, body, headers) {
  const serverCode = body && body.error && body.error.code;
  const retryAfter = Number(headerValue(headers, 'Retry-After')) || undefined;
  const extra = { status, serverCode, retryAfter };
  if (serverCode === 'quota_exceeded') return new AppError('quota_exceeded', extra);
  if (serverCode === 'content_rejected') return new AppError('content_rejected', extra);
  if (serverCode === 'content_check_pending') return new AppError('content_check_pending', extra);
  if (serverCode === 'gif_too_many_frames' || serverCode === 'gif_too_large') return new AppError(serverCode, extra);
  if (status === 401) return new AppError('unauthorized', extra);
  if (status === 403) return new AppError('blocked', extra);
  if (status === 404) return new AppError('not_found', extra);
  if (status === 413) return new AppError('photo_too_large', extra);
  if (status === 400 || status === 415 || status === 422) return new AppError('bad_photo', extra);
  if (status === 429) {
    return new AppError(/queue|busy/.test(serverCode || '') ? 'server_busy' : 'rate_limited', extra);
  }
  if (status >= 500) return new AppError('server_busy', extra);
  return new AppError('unknown', extra);
}

// A failed WeChat API call (its errMsg) → AppError.
function fromWx(err) {
  if (err && err.name === 'AppError') return err; // also across module copies
  const msg = String((err && (err.errMsg || err.message)) || '');
  if (/privacy/i.test(msg)) return new AppError('privacy_denied', { cause: err });
  if (/auth den/i.test(msg)) return new AppError('album_denied', { cause: err });
  if (/cancel/i.test(msg)) return new AppError('cancelled', { cause: err });
  if (/timeout/i.test(msg)) return new AppError('timeout', { cause: err });
  if (/storage limit|exceeded|no space/i.test(msg)) return new AppError('storage_full', { cause: err });
  if (/request:fail|uploadFile:fail|downloadFile:fail|ECONN|network/i.test(msg)) {
    return new AppError('network', { cause: err });
  }
  return new AppError('unknown', { cause: err });
}

module.exports = { AppError, MESSAGES, fromHttp, fromWx, headerValue };
