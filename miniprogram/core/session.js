// One stylization from the user's point of view: plan, then on the phone (download and verify
// the model, load it in the planned engine, stylize, write the picture) or on the server
// (upload, poll, download). Progress goes to onState({ step, percent?, status? }): planning,
// downloading, preparing, stylizing, uploading, waiting, fetching.
//
// Engines: WeChat's own (wx.createInferenceSession, lib/wechat-engine.js) when the plan says
// `engine: 'wechat'`, else the TF.js plugin (core/pipeline.js, loaded from the tfjs subpackage).
// The plan decides (the server knows the models' measured textures); the photo goes to the
// server when the plan says so, when the user declines a large model download on a mobile network, when on-phone
// inference fails, and after memory warnings (core/memory.js decides by their level).
//
// One run at a time: run() cancels the run under way and waits for it to end before it starts;
// cancel() (the result page's cancel button and onUnload) stops the download, the inference or
// the polling at the next step, and the result is thrown away.

const { AppError } = require('./errors');
const { readDeviceFacts, planRequest } = require('./plan');
const { graphModelArtifacts } = require('./pipeline');
const { createCancel, cancellableSleep } = require('./cancel');
const { createMemoryGuard } = require('./memory');
const image = require('./image');
const { pictureStylizer } = require('./tiling');
const { stylizeGifAt } = require('./gif');

const GIF_LIMIT_ERRORS = ['gif_too_many_frames', 'gif_too_large'];

const MB = 1024 * 1024;

// Tiles on the phone (core/tiling.js) when the plan gives a tile size and the
// manifest's network is local (`tiling` without statistics of the whole picture).
function tilingFor(manifest, plan) {
  const tiling = manifest.tiling;
  if (!plan.tile || !tiling || tiling.statistics || !Number.isInteger(tiling.overlap)) return {};
  return { tile: plan.tile, overlap: tiling.overlap };
}

function createSession({
  wx, api, cache, engines, memory = createMemoryGuard(), maxTextureSize = () => null,
  mobileNoticeBytes = 5 * MB, readPixels = image.readPixels, writePicture = image.writePicture,
  readBytes = image.readBytes, writeGif = image.writeGif, sleep = cancellableSleep, log = () => {},
}) {
  let facts = null;
  let current = null; // { cancel, settled } of the run under way

  function unloadAll() {
    Object.values(engines).forEach((engine) => engine && engine.unload());
  }

  function checkMemory() {
    if (memory.stopped) throw new AppError('out_of_memory');
  }

  // Wired to wx.onMemoryWarning by the app with the warning's level (Android; none on iOS).
  function memoryWarning(level) {
    const action = memory.warn(level);
    log(`memory warning ${level}: ${action}`);
    if (action === 'stop' || !current) unloadAll(); // a mild one frees the model between photos only
    return action;
  }

  // Before a download the phone has not made yet, on a mobile network: the user says yes or no.
  async function downloadAllowed(manifest, confirmDownload) {
    if (!confirmDownload || (manifest.bytes || 0) < mobileNoticeBytes || await cache.has(manifest)) return true;
    let networkType = 'unknown';
    try {
      networkType = await new Promise((resolve, reject) => wx.getNetworkType({
        success: (res) => resolve(res.networkType), fail: reject,
      }));
    } catch (e) { /* unknown: ask */ }
    if (networkType === 'wifi') return true;
    return confirmDownload({ bytes: manifest.bytes, networkType });
  }

  async function onDevice({ photo, style, plan, longSide, onState, confirmDownload, page }, cancel) {
    const name = plan.engine === 'wechat' ? 'wechat' : 'tfjs';
    const engine = engines[name];
    if (!engine) throw new Error(`no ${name} engine on this phone`);
    const manifest = await api.manifest(style.id, plan.variant || 'uint8');
    cancel.check();
    const tiles = tilingFor(manifest, plan);
    if (!await downloadAllowed(manifest, confirmDownload)) throw new AppError('download_declined');
    cancel.check();

    Object.entries(engines).forEach(([other, e]) => other !== name && e && e.unload());
    const key = `${manifest.id}/${manifest.version}/${manifest.variant}`;
    const download = { onProgress: (p) => onState({ step: 'downloading', percent: p.percent }), cancel };
    onState({ step: 'preparing' });
    if (engine.prepare) await engine.prepare(page);
    if (name === 'wechat') {
      await engine.use(key, () => cache.modelPath(manifest, download), {
        input: manifest.input, signature: manifest.signature, precisionLevel: plan.precision_level,
      });
    } else {
      await engine.use(key, async () => {
        const { modelJson, weights } = await cache.load(manifest, download);
        onState({ step: 'preparing' });
        return graphModelArtifacts(modelJson, weights);
      }, { input: manifest.input, webglSettings: manifest.webgl_settings });
    }
    cancel.check();
    checkMemory();

    onState({ step: 'stylizing' });
    const size = image.fitSize(photo.width, photo.height, longSide);
    // How the picture is cut and what a context network is given besides (core/tiling.js
    // pictureStylizer): the same for a photo and each frame of an animated GIF.
    const tiling = { ...tiles, multiple: manifest.input.size_multiple, context: manifest.input.context };
    const done = { width: size.width, height: size.height, where: 'device', engine: name };
    if (photo.animated) return Object.assign(await onDeviceGif(photo, size, engine, tiling, onState, cancel), done);

    const rgba = await readPixels(wx, photo.path, size.width, size.height);
    cancel.check();
    const out = await pixelStylizer(engine, size, tiling, cancel)(rgba);
    cancel.check();
    checkMemory();
    const path = await writePicture(wx, out, size.width, size.height);
    return { path, mediaType: 'image/png', ...done };
  }

  // RGBA at `size` → the stylized RGBA, whole or in tiles (core/tiling.js), with the context.
  function pixelStylizer(engine, size, tiling, cancel) {
    const stylize = (...args) => engine.stylize(...args);
    return pictureStylizer(stylize, size.width, size.height, { ...tiling, check: () => cancel.check() });
  }

  // An animated GIF, frame by frame (core/gif.js stylizeGifAt): each frame fitted to `size` and
  // stylized (whole or in tiles) before the next is decoded; progress is the share of frames done.
  // An engine with its own stylizeGif (the web page's worker) runs that whole loop off the page's
  // main thread.
  async function onDeviceGif(photo, size, engine, tiling, onState, cancel) {
    const bytes = photo.bytes || await readBytes(wx, photo.path);
    cancel.check();
    const onFrame = (index, count) => onState({ step: 'stylizing', percent: Math.round((100 * index) / count) });
    let gif;
    if (engine.stylizeGif) {
      gif = await engine.stylizeGif(bytes, { size, tiling, onFrame, cancel });
    } else {
      const stylize = async (...args) => {
        const out = await engine.stylize(...args);
        cancel.check();
        checkMemory();
        return out;
      };
      gif = await stylizeGifAt(bytes, size, stylize, { tiling, onFrame, cancel });
    }
    cancel.check();
    checkMemory();
    const path = await writeGif(wx, gif.bytes);
    return { path, mediaType: 'image/gif', frameCount: gif.frameCount };
  }

  async function onServer({ photo, style, plan, onState }, cancel) {
    onState({ step: 'uploading', percent: 0 });
    const job = await api.createJob(photo.path, style.id, plan && plan.long_side, {
      cancel, onProgress: (p) => onState({ step: 'uploading', percent: p.progress }),
    });
    onState({ step: 'waiting', status: job.status });
    const done = await api.waitForJob(job.id, { cancel, onStatus: (status) => onState({ step: 'waiting', status }) });
    onState({ step: 'fetching' });
    const path = await api.downloadResult(done.result.url, { cancel });
    cancel.check();
    const mediaType = done.result.media_type || 'image/png';
    return { path, mediaType, where: 'server', resultId: done.result.id, jobId: job.id };
  }

  async function stylize(args, cancel) {
    const { photo, style, onState } = args;
    onState({ step: 'planning' });
    if (!facts) facts = await readDeviceFacts(wx);
    cancel.check();
    const plan = await api.plan(planRequest(facts, style.id, photo, maxTextureSize(), Boolean(engines.wechat)));
    cancel.check();
    let reason = plan.where === 'device' ? null : `plan: ${plan.reason || 'server'}`;
    // After a memory warning: smaller first, and once more smaller when that fails.
    for (let retry = 0; !reason; retry++) {
      const longSide = memory.stopped ? null : memory.longSide(plan.long_side);
      if (!longSide) {
        reason = memory.stopped ? 'memory warnings' : 'no smaller size left';
        break;
      }
      const stepsBefore = memory.steps;
      try {
        return Object.assign(await onDevice(Object.assign({ plan, longSide }, args), cancel), { plan });
      } catch (err) {
        if (err.code === 'cancelled' || GIF_LIMIT_ERRORS.includes(err.code)) throw err; // the server has the same limits
        reason = err.code === 'download_declined' ? 'download declined' : `device failed: ${err.message}`;
        log(reason);
        const warnedDuring = memory.steps > stepsBefore;
        if (err.code === 'out_of_memory' || warnedDuring) unloadAll(); // free before the server or a retry
        if (!warnedDuring || retry > 0 || err.code === 'download_declined') break;
        reason = null; // a warning came during the attempt: try once more, smaller
      }
    }
    return Object.assign(await onServer(Object.assign({ plan }, args), cancel), { plan, fallbackReason: reason });
  }

  // photo: { path, width, height, animated, bytes } (animated: an animated GIF, stylized frame by
  // frame into an animated GIF, result.mediaType 'image/gif'; bytes: its bytes when the caller
  // has read them already, as the web page does, else they are read from `path`, readBytes);
  // style: an entry of GET /api/v1/styles; page: the page
  // instance (the TF.js plugin is set up once per page); confirmDownload({ bytes, networkType })
  // resolves true or false.
  async function run({ photo, style, onState = () => {}, confirmDownload, page } = {}) {
    const previous = current;
    const cancel = createCancel();
    const settled = (async () => {
      if (previous) {
        previous.cancel.cancel();
        await previous.settled;
      }
      cancel.check();
      return stylize({ photo, style, onState, confirmDownload, page }, cancel);
    })();
    const mine = { cancel, settled: settled.catch(() => {}) };
    current = mine;
    try {
      return await settled;
    } finally {
      if (current === mine) current = null;
    }
  }

  function cancel() {
    if (current) current.cancel.cancel();
  }

  // A picture made on the phone goes to the server for WeChat's content check before it may be
  // shared (POST /api/v1/results); afterwards it has a resultId like a server result.
  async function checkPicture(result, style, { onProgress } = {}) {
    if (!result.resultId) {
      const uploaded = await api.uploadPicture(result.path, style.id, { onProgress });
      result.resultId = uploaded.id;
    }
    return result;
  }

  // The public links of a checked result (result.share: `url` the share page, `image_url` the
  // picture); resolves with the picture's link, the share card's imageUrl and the proof that
  // WeChat's content check passed. While the check is pending (409), asks again a few times; a
  // flagged picture ends in content_rejected.
  async function shareLink(result, { attempts = 6, cancel: token } = {}) {
    if (!result.resultId) return null;
    for (let attempt = 1; !result.share; attempt++) {
      try {
        result.share = await api.share(result.resultId);
      } catch (err) {
        if (err.code !== 'content_check_pending' || attempt >= attempts) throw err;
        await sleep(Math.min((err.retryAfter || 2) * 1000, 5000), token);
      }
    }
    return result.share.image_url || result.share.url; // a backend from before image_url: the link gives the picture
  }

  return {
    run, cancel, checkPicture, shareLink, memoryWarning, unloadAll,
    get busy() { return Boolean(current); },
    memory,
  };
}

module.exports = { createSession, tilingFor };
