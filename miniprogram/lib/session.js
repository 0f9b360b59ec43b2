// One stylization from the user's point of view: plan, then on the phone
// (download and verify the model, load it, stylize) or on the server (upload,
// poll, download). Falls back to the server when the plan says so, when the
// phone's textures are too small, when on-device inference fails, or after
// wx.onMemoryWarning. Progress goes to onState({ step, percent?, status? }):
// planning, downloading, preparing, stylizing, uploading, waiting, fetching.

const { AppError } = require('./errors');
const { readDeviceFacts, planRequest, webglProfile, textureFits } = require('./plan');
const { graphModelArtifacts } = require('./pipeline');
const image = require('./image');
const { sleep: realSleep } = require('./wxp');

// Tiles on the phone (lib/tiling.js) when the plan gives a tile size and the
// manifest's network is local (`tiling` without statistics of the whole picture).
function tilingFor(manifest, plan) {
  const tiling = manifest.tiling;
  if (!plan.tile || !tiling || tiling.statistics || !Number.isInteger(tiling.overlap)) return {};
  return { tile: plan.tile, overlap: tiling.overlap };
}

function createSession({
  wx, api, cache, stylizer, maxTextureSize = () => null,
  readPixels = image.readPixels, writePng = image.writePng, sleep = realSleep, log = () => {},
}) {
  let facts = null;
  let memoryWarned = false;

  // Wired to wx.onMemoryWarning by the app: free the model now, and stylize on
  // the server for the rest of this run of the app.
  function memoryWarning() {
    memoryWarned = true;
    stylizer.unload();
  }

  function checkMemory() {
    if (memoryWarned) throw new AppError('out_of_memory');
  }

  async function onDevice(photo, style, plan, onState) {
    const manifest = await api.manifest(style.id, plan.variant || 'uint8');
    const tiles = tilingFor(manifest, plan);
    const fits = textureFits(webglProfile(style, manifest, manifest.variant), tiles.tile || plan.long_side,
      manifest.webgl_settings, maxTextureSize());
    if (fits === false) throw new AppError('out_of_memory', { message: 'texture too large for this phone' });

    const key = `${manifest.id}/${manifest.version}/${manifest.variant}`;
    onState({ step: 'preparing' });
    await stylizer.use(key, async () => {
      const { modelJson, weights } = await cache.load(manifest, {
        onProgress: (p) => onState({ step: 'downloading', percent: p.percent }),
      });
      onState({ step: 'preparing' });
      checkMemory();
      return graphModelArtifacts(modelJson, weights);
    }, { input: manifest.input, webglSettings: manifest.webgl_settings });
    checkMemory();

    onState({ step: 'stylizing' });
    const size = image.fitSize(photo.width, photo.height, plan.long_side || 512);
    const rgba = await readPixels(wx, photo.path, size.width, size.height);
    const out = await stylizer.stylize(rgba, size.width, size.height, tiles);
    checkMemory();
    const path = await writePng(wx, out, size.width, size.height);
    return { path, width: size.width, height: size.height, where: 'device' };
  }

  async function onServer(photo, style, plan, onState) {
    onState({ step: 'uploading' });
    const job = await api.createJob(photo.path, style.id, plan && plan.long_side);
    onState({ step: 'waiting', status: job.status });
    const done = await api.waitForJob(job.id, { onStatus: (status) => onState({ step: 'waiting', status }) });
    onState({ step: 'fetching' });
    const path = await api.downloadResult(done.result.url);
    return { path, where: 'server', resultId: done.result.id, jobId: job.id };
  }

  // photo: { path, width, height }; style: an entry of GET /api/v1/styles.
  async function run({ photo, style, onState = () => {} }) {
    onState({ step: 'planning' });
    if (!facts) facts = await readDeviceFacts(wx);
    const plan = await api.plan(planRequest(facts, style.id, photo, maxTextureSize()));
    let reason = plan.where === 'device' ? null : `plan: ${plan.reason || 'server'}`;
    if (!reason && memoryWarned) reason = 'memory warning';
    if (!reason) {
      try {
        return Object.assign(await onDevice(photo, style, plan, onState), { plan });
      } catch (err) {
        if (err.code === 'cancelled') throw err;
        reason = `device failed: ${err.message}`;
        log(reason);
        if (err.code === 'out_of_memory') stylizer.unload();
      }
    }
    return Object.assign(await onServer(photo, style, plan, onState), { plan, fallbackReason: reason });
  }

  // A public link for a server result, usable as a share card's imageUrl. While
  // WeChat's content check of the photo is still pending (409), asks again a few
  // times; a flagged photo ends in content_rejected.
  async function shareLink(result, { attempts = 6 } = {}) {
    if (!result.resultId) return null;
    for (let attempt = 1; !result.share; attempt++) {
      try {
        result.share = await api.share(result.resultId);
      } catch (err) {
        if (err.code !== 'content_check_pending' || attempt >= attempts) throw err;
        await sleep(Math.min((err.retryAfter || 2) * 1000, 5000));
      }
    }
    return result.share.url;
  }

  return { run, shareLink, memoryWarning, get memoryWarned() { return memoryWarned; } };
}

module.exports = { createSession, tilingFor };
