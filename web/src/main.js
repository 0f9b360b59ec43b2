// The web app's page: pick or take a photo, choose a style, watch the progress (cancel), compare
// before and after, download, share. Everything that is not UI is the client core shared with
// the mini-program (../../miniprogram/core), on the browser adapter (./platform.js); the model
// runs in a Web Worker (./worker.js through ./engine.js).
//
// An animated GIF picked gives an animated cartoon GIF: the session (core/session.js) hands its
// bytes to the worker, which decodes, stylizes and encodes it frame by frame (core/gif.js), or
// sends it to the server job, as the plan says; its frame and pixel limits are checked when it
// is picked.

const { createApi } = require('../../miniprogram/core/api');
const { createModelCache } = require('../../miniprogram/core/model-cache');
const { createSession } = require('../../miniprogram/core/session');
const { readDeviceFacts, planRequest, styleDownload } = require('../../miniprogram/core/plan');
const { formatBytes } = require('../../miniprogram/core/format');
const { MESSAGES } = require('../../miniprogram/core/errors');
const { isGif, isAnimatedGif } = require('../../miniprogram/core/gif');
const { createBrowserWx, createDownloader, sha256, readMaxTextureSize } = require('./platform');
const { createWorkerEngine } = require('./engine');
const { WORDS, pickLanguage } = require('./i18n');

const language = pickLanguage(navigator.languages || [navigator.language]);
const words = WORDS[language];
const $ = (id) => document.getElementById(id);

function errorText(err) {
  const code = (err && err.code) || 'unknown';
  if (!words.errors) return MESSAGES[code] || MESSAGES.unknown;
  return words.errors[code] || words.errors.unknown;
}

// 'styles' (choosing), 'progress' (a run under way) or 'result' (the picture, styles below it).
function show(section) {
  $('styles').hidden = section === 'progress';
  $('progress').hidden = section !== 'progress';
  $('result').hidden = section !== 'result';
  $('photo-preview').hidden = section === 'result' || !$('photo-preview').src; // the comparison shows it
}

// Pixels of a photo (an object URL) scaled to width×height, as the session asks for them.
async function readPixels(wx, path, width, height) {
  const bitmap = await createImageBitmap(await (await fetch(path)).blob(), { imageOrientation: 'from-image' });
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return context.getImageData(0, 0, width, height).data;
}

// A picture (RGBA bytes) as a PNG object URL.
async function writePicture(wx, rgba, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d').putImageData(new ImageData(rgba, width, height), 0, 0);
  return URL.createObjectURL(await canvas.convertToBlob({ type: 'image/png' }));
}

// A GIF's bytes as an object URL: the result of an animated GIF.
const writeGif = async (wx, bytes) => URL.createObjectURL(new Blob([bytes], { type: 'image/gif' }));

// A picked file's bytes (an ArrayBuffer) when it is an animated GIF (more than one frame), else
// null; throws the AppError of a GIF past the server's frame or pixel limits (core/gif.js
// isAnimatedGif). A GIF the decoder cannot read is a still picture to the page (createImageBitmap
// decides). The session stylizes these bytes (photo.bytes): the file is read once.
async function animatedGifBytes(file) {
  if (!isGif(await file.slice(0, 6).arrayBuffer())) return null;
  const bytes = await file.arrayBuffer();
  return isAnimatedGif(bytes) ? bytes : null;
}

function start() {
  document.documentElement.lang = language === 'zh' ? 'zh-CN' : 'en';
  for (const element of document.querySelectorAll('[data-words]')) element.textContent = words[element.dataset.words];

  const wx = createBrowserWx();
  const api = createApi({ wx, baseUrl: window.location.origin, anonymous: true });
  const fs = wx.getFileSystemManager();
  const cache = createModelCache({ fs, root: 'models', download: createDownloader(fs), sha256 });
  const engine = createWorkerEngine(new Worker('/web/worker.js'), { log: (m) => console.info(m) });
  engine.init().catch((err) => console.info(`no inference in this browser: ${err.message}`)); // then the server
  const maxTexture = readMaxTextureSize();
  const session = createSession({
    wx, api, cache, engines: { tfjs: engine, wechat: null }, maxTextureSize: () => maxTexture,
    readPixels, writePicture, writeGif, log: (m) => console.info(m),
  });
  window.cartoon = { session, engine, api }; // for the browser console (and the browser tests)

  let photo = null; // { path, width, height, name, animated, bytes } (bytes: an animated GIF's, else null)
  let styles = [];
  let result = null;
  let style = null;

  async function pickPhoto(file) {
    if (!file) return;
    $('message').textContent = '';
    let gifBytes;
    let bitmap;
    try {
      gifBytes = await animatedGifBytes(file);
      bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    } catch (err) {
      $('message').textContent = errorText(err.code ? err : { code: 'bad_photo' });
      return;
    }
    if (photo) URL.revokeObjectURL(photo.path);
    photo = {
      path: URL.createObjectURL(file), width: bitmap.width, height: bitmap.height, name: file.name,
      animated: Boolean(gifBytes), bytes: gifBytes,
    };
    bitmap.close();
    $('before').src = photo.path;
    $('photo-preview').src = photo.path;
    show('styles');
    await listStyles();
  }

  // The styles, each with what this browser downloads for this photo (the plan decides).
  async function listStyles() {
    const list = $('style-list');
    try {
      styles = await api.styles();
    } catch (err) {
      $('message').textContent = errorText(err);
      return;
    }
    const facts = await readDeviceFacts(wx);
    list.replaceChildren(...styles.map((s) => {
      const button = document.createElement('button');
      button.className = 'style';
      button.dataset.style = s.id;
      const preview = document.createElement('img');
      preview.src = s.preview_url;
      preview.alt = '';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = s.name;
      const size = document.createElement('span');
      size.className = 'size';
      button.append(preview, name, size);
      button.onclick = () => stylizePhoto(s);
      if (photo) describeDownload(s, facts, size);
      return button;
    }));
  }

  async function describeDownload(s, facts, element) {
    try {
      const plan = await api.plan(planRequest(facts, s.id, photo, maxTexture));
      if (plan.where !== 'device') {
        element.textContent = words.onServer;
      } else {
        const { variant, bytes } = styleDownload(s, { plan }) || {};
        const cached = await cache.has({ id: s.id, version: s.version, variant });
        element.textContent = cached ? words.downloaded : words.download(formatBytes(bytes));
      }
    } catch (err) {
      element.textContent = '';
    }
  }

  function progress({ step, percent, status }) {
    let text = words[step] || '';
    if (typeof percent === 'number' && percent >= 0) text += ` ${percent}%`;
    if (step === 'waiting' && words[status]) text += ` (${words[status]})`;
    $('progress-label').textContent = text;
    if (typeof percent === 'number' && percent >= 0) $('progress-bar').value = percent;
    else $('progress-bar').removeAttribute('value'); // indeterminate
    document.body.dataset.step = step;
  }

  async function stylizePhoto(chosen) {
    if (!photo) {
      $('message').textContent = words.pickFirst;
      return;
    }
    style = chosen;
    for (const b of document.querySelectorAll('.style')) b.classList.toggle('selected', b.dataset.style === style.id);
    $('message').textContent = '';
    show('progress');
    try {
      if (result && result.path) URL.revokeObjectURL(result.path);
      result = await session.run({ photo, style, onState: progress });
      showResult();
    } catch (err) {
      show('styles');
      $('message').textContent = errorText(err);
    } finally {
      delete document.body.dataset.step;
    }
  }

  function showResult() {
    $('after').src = result.path;
    $('save').href = result.path;
    $('save').download = `cartoon-${style.id}.${result.mediaType === 'image/gif' ? 'gif' : 'png'}`;
    $('made-on').textContent = words.madeOn(result.where);
    $('share-link').hidden = true;
    $('share-status').textContent = words.shareNote;
    document.body.dataset.where = result.where;
    show('result');
  }

  // A picture made in the browser goes to the server first (as in the mini-program); the share
  // link opens a page with the picture.
  async function share() {
    $('share').disabled = true;
    try {
      await session.checkPicture(result, style);
      await session.shareLink(result);
      const url = result.share.url;
      if (navigator.share) {
        await navigator.share({ title: words.title, url }).catch(() => {});
      }
      $('share-link').value = url;
      $('share-link').hidden = false;
      $('share-status').textContent = '';
      try {
        await navigator.clipboard.writeText(url);
        $('share-status').textContent = words.copied;
      } catch (e) { /* the link is shown to copy by hand */ }
    } catch (err) {
      $('share-status').textContent = errorText(err);
    } finally {
      $('share').disabled = false;
    }
  }

  $('take').onchange = (e) => pickPhoto(e.target.files[0]);
  $('choose').onchange = (e) => pickPhoto(e.target.files[0]);
  $('cancel').onclick = () => session.cancel();
  $('share').onclick = share;
  $('again').onclick = () => $('choose').click();
  $('compare').oninput = (e) => { $('after').style.clipPath = `inset(0 0 0 ${e.target.value}%)`; };
  listStyles();

  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {});
}

start();
