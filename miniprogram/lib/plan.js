// Deciding where a photo is stylized: the device facts WeChat gives, the
// backend's plan (POST /api/v1/plan), and the measured WebGL texture sizes.

const { promisify } = require('./wxp');

// wx.getDeviceInfo (base library 2.20.1+, memorySize from 2.30.0) and
// wx.getDeviceBenchmarkInfo (3.4.5+) where available; older clients fall back
// to wx.getSystemInfoSync.
async function readDeviceFacts(wx) {
  const info = (wx.getDeviceInfo ? wx.getDeviceInfo() : wx.getSystemInfoSync()) || {};
  const facts = {
    platform: info.platform || 'unknown',
    memorySize: Number(info.memorySize) || 0,
    benchmarkLevel: typeof info.benchmarkLevel === 'number' ? info.benchmarkLevel : -1,
    modelLevel: 0,
  };
  if (wx.getDeviceBenchmarkInfo) {
    try {
      const bench = await promisify(wx.getDeviceBenchmarkInfo, {});
      facts.benchmarkLevel = bench.benchmarkLevel;
      facts.modelLevel = bench.modelLevel || 0;
    } catch (e) { /* keep what getDeviceInfo said */ }
  }
  return facts;
}

// The body of POST /api/v1/plan (docs/api.md). inferenceEngine: wx.createInferenceSession exists.
function planRequest(facts, styleId, photo, maxTextureSize, inferenceEngine = false) {
  return {
    style: styleId,
    inferenceEngine,
    memorySize: facts.memorySize,
    benchmarkLevel: facts.benchmarkLevel,
    platform: facts.platform,
    maxTextureSize: maxTextureSize || 0,
    photo: { width: photo.width, height: photo.height },
  };
}

// The largest texture side of the phone's WebGL (what the TF.js fallback can use), read from a
// throwaway offscreen WebGL canvas without loading TF.js; null when there is no WebGL.
function readMaxTextureSize(wx) {
  try {
    const gl = wx.createOffscreenCanvas({ type: 'webgl', width: 1, height: 1 }).getContext('webgl');
    return (gl && gl.getParameter(gl.MAX_TEXTURE_SIZE)) || null;
  } catch (e) {
    return null;
  }
}

// The measured WebGL figures (manifest `profile.webgl`) for a variant, wherever
// the backend put them: in the manifest, or in the style entry of /styles.
function webglProfile(style, manifest, variant) {
  const candidates = [
    manifest && manifest.profile,
    style && style.profile && style.profile[variant],
    style && style.variants && style.variants[variant] && style.variants[variant].profile,
    style && style.profile,
  ];
  for (const p of candidates) {
    if (p && Array.isArray(p.webgl)) return p.webgl;
  }
  return null;
}

// Whether stylizing at `size` (long side) keeps the largest texture within the
// device's maximum. Like the backend's plan, the figures of the nearest measured
// size are scaled to `size`; only rows measured with the WebGL settings the
// manifest recommends (WEBGL_CONV_IM2COL) count when there are such rows.
// true / false, or null when unknown (no WebGL, or nothing measured).
function textureFits(profile, size, settings, maxTextureSize) {
  if (!maxTextureSize || !profile) return null;
  const measured = profile.filter((r) => r.ok && r.size);
  const im2col = settings && settings.WEBGL_CONV_IM2COL;
  const matching = measured.filter((r) => r.im2col === im2col);
  const rows = matching.length ? matching : measured;
  if (!rows.length) return null;
  const nearest = rows.reduce((best, r) => {
    const d = Math.abs(r.size - size) - Math.abs(best.size - size);
    return d < 0 || (d === 0 && r.size > best.size) ? r : best;
  });
  const side = Math.max(nearest.max_texture_width || 0, nearest.max_texture_height || 0) * (size / nearest.size);
  return side <= maxTextureSize;
}

module.exports = { readDeviceFacts, planRequest, readMaxTextureSize, webglProfile, textureFits };
