// What the backend's plan (POST /api/v1/plan) decides from: the device facts WeChat gives and
// the largest WebGL texture. The backend decides where and at what size (backend/plan.py, with
// the model zoo's measured texture sizes); the client follows the plan and falls back to the
// server only when the device fails.

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

// What a client downloads for a style (GET /api/v1/styles entry): `{ variant, bytes }`, the
// variant the plan sends and its download size; null when the catalogue has none. A device plan
// (`plan`) names its variant; before one is asked, the rule of backend/plan.py: the style's
// student when it has one (its variants `student_*`), else its teacher, in the engine's variant
// (`engineVariant`: 'wechat' for WeChat's engine, 'uint8' for TF.js) when the style has it, else
// uint8. Both clients' style pickers show this size.
function styleDownload(style, { engineVariant = 'uint8', plan = null } = {}) {
  const variants = (style && style.variants) || {};
  const student = Object.values(variants).some((v) => v && v.network === 'student');
  const prefix = student ? 'student_' : '';
  const planned = plan && plan.where === 'device' ? [plan.variant] : [];
  const variant = [...planned, prefix + engineVariant, `${prefix}uint8`].find((name) => variants[name]);
  if (!variant) return null;
  return { variant, bytes: variants[variant].download_bytes || variants[variant].bytes || 0 };
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

module.exports = { readDeviceFacts, planRequest, styleDownload, readMaxTextureSize };
