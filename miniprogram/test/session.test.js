/**
 * @jest-environment node
 */
const { createSession } = require('../core/session');
const { AppError } = require('../core/errors');

const photo = { path: 'wxfile://tmp/photo.jpg', width: 1024, height: 768 };
const style = { id: 'hayao', profile: { uint8: { webgl: [{ size: 512, im2col: false, max_texture_width: 4096, max_texture_height: 2048, ok: true }] } } };
const manifest = {
  id: 'hayao', version: 'v1', variant: 'uint8', files: [], bytes: 10 * 1024 * 1024,
  input: { color_order: 'BGR', value_range: [-1, 1], size_multiple: 4 },
  webgl_settings: { WEBGL_CONV_IM2COL: false },
};

function setup({ plan = { where: 'device', variant: 'uint8', long_side: 512 }, stylize, maxTexture = 8192 } = {}) {
  const api = {
    plan: jest.fn(async () => plan),
    uploadPicture: jest.fn(async () => ({ id: 'r9', check: 'pending' })),
    manifest: jest.fn(async () => manifest),
    createJob: jest.fn(async () => ({ id: 'j1', status: 'queued' })),
    waitForJob: jest.fn(async (id, { onStatus }) => {
      onStatus('running');
      return { id, status: 'done', result: { id: 'r1', url: '/api/v1/results/r1/image' } };
    }),
    downloadResult: jest.fn(async () => 'wxfile://tmp/server.png'),
    share: jest.fn(async () => ({ url: 'https://api.test/s/abc', image_url: 'https://api.test/s/abc/image', expires_at: 'later' })),
  };
  const cache = {
    load: jest.fn(async (m, { onProgress }) => {
      onProgress({ percent: 50 });
      onProgress({ percent: 100 });
      return { modelJson: { modelTopology: {}, weightsManifest: [] }, weights: {} };
    }),
  };
  const stylizer = {
    use: jest.fn(async (key, load) => { await load(); }),
    stylize: jest.fn(stylize || (async (rgba, w, h) => new Uint8ClampedArray(w * h * 4))),
    unload: jest.fn(),
  };
  const wx = { getDeviceInfo: () => ({ platform: 'android', memorySize: '8192', benchmarkLevel: 30 }) };
  const session = createSession({
    wx, api, cache, engines: { tfjs: stylizer, wechat: null },
    maxTextureSize: () => maxTexture,
    readPixels: jest.fn(async (w, path, width, height) => new Uint8ClampedArray(width * height * 4)),
    writePicture: jest.fn(async () => 'wxfile://tmp/device.png'),
  });
  const states = [];
  const run = () => session.run({ photo, style, onState: (s) => states.push(s.step + (s.percent !== undefined ? `:${s.percent}` : '')) });
  return { api, cache, stylizer, session, states, run, wx };
}

test('on the phone: plan, download with progress, prepare, stylize at the planned size', async () => {
  const t = setup();
  const result = await t.run();
  expect(result).toMatchObject({ where: 'device', engine: 'tfjs', path: 'wxfile://tmp/device.png', width: 512, height: 384 });
  expect(t.api.plan).toHaveBeenCalledWith({
    style: 'hayao', inferenceEngine: false, memorySize: 8192, benchmarkLevel: 30, platform: 'android', maxTextureSize: 8192,
    photo: { width: 1024, height: 768 },
  });
  expect(t.states).toEqual(['planning', 'preparing', 'downloading:50', 'downloading:100', 'preparing', 'stylizing']);
  expect(t.stylizer.use.mock.calls[0][0]).toBe('hayao/v1/uint8');
  expect(t.stylizer.use.mock.calls[0][2]).toEqual({ input: manifest.input, webglSettings: manifest.webgl_settings });
  expect(t.api.createJob).not.toHaveBeenCalled();
});

test('the plan says server: upload, poll, download, same progress screen', async () => {
  const t = setup({ plan: { where: 'server', variant: null, long_side: 512, reason: 'slow phone' } });
  const result = await t.run();
  expect(result).toMatchObject({ where: 'server', path: 'wxfile://tmp/server.png', resultId: 'r1' });
  expect(result.fallbackReason).toMatch(/slow phone/);
  expect(t.api.createJob).toHaveBeenCalledWith(photo.path, 'hayao', 512, expect.objectContaining({ cancel: expect.anything() }));
  expect(t.states).toEqual(['planning', 'uploading:0', 'waiting', 'waiting', 'fetching']);
  expect(t.cache.load).not.toHaveBeenCalled();
});

test('on-device failure falls back to the server', async () => {
  const t = setup({ stylize: async () => { throw new Error('WebGL context lost'); } });
  const result = await t.run();
  expect(result.where).toBe('server');
  expect(result.fallbackReason).toMatch(/WebGL context lost/);
});

test('the plan decides: a phone with small textures stylizes on the phone when the plan says so', async () => {
  const t = setup({ maxTexture: 2048 });
  const result = await t.run();
  expect(result.where).toBe('device');
  expect(t.api.plan.mock.calls[0][0].maxTextureSize).toBe(2048); // the server got the fact
});

test('a critical memory warning during inference frees the model and sends the photo to the server', async () => {
  let t;
  t = setup({
    stylize: async (rgba, w, h) => {
      expect(t.session.memoryWarning(15)).toBe('stop');
      return new Uint8ClampedArray(w * h * 4);
    },
  });
  const result = await t.run();
  expect(result).toMatchObject({ where: 'server', fallbackReason: expect.stringMatching(/device failed/) });
  expect(t.stylizer.unload).toHaveBeenCalled();
  // and the next photo goes straight to the server
  t.api.manifest.mockClear();
  expect(await t.run()).toMatchObject({ where: 'server', fallbackReason: 'memory warnings' });
  expect(t.api.manifest).not.toHaveBeenCalled();
});

test('a mild memory warning keeps the picture; a failure after it retries once, smaller, on the phone', async () => {
  let t;
  let attempts = 0;
  t = setup({
    stylize: async (rgba, w, h) => {
      attempts += 1;
      if (attempts === 1) {
        expect(t.session.memoryWarning(10)).toBe('free');
        throw new Error('WebGL context lost');
      }
      return new Uint8ClampedArray(w * h * 4);
    },
  });
  const result = await t.run();
  expect(result).toMatchObject({ where: 'device', width: 384, height: 288 });
  expect(t.stylizer.unload).toHaveBeenCalled();
  expect(await t.run()).toMatchObject({ where: 'device', width: 384 }); // later photos smaller too
  expect(t.session.memory.stopped).toBe(false);
});

test('a mild warning between photos frees the model at once', () => {
  const t = setup();
  expect(t.session.memoryWarning(5)).toBe('free');
  expect(t.stylizer.unload).toHaveBeenCalled();
});

test('cancel() stops a run; the result never arrives', async () => {
  const t = setup({ plan: { where: 'server', long_side: 512 } });
  t.api.waitForJob.mockImplementation((id, { cancel }) => new Promise((resolve, reject) => cancel.onCancel(() => reject(new AppError('cancelled')))));
  const running = t.run();
  await new Promise((r) => setTimeout(r, 0));
  expect(t.session.busy).toBe(true);
  t.session.cancel();
  await expect(running).rejects.toMatchObject({ code: 'cancelled' });
  expect(t.api.downloadResult).not.toHaveBeenCalled();
  expect(t.session.busy).toBe(false);
});

test('a large download on a mobile network asks first; declined, the server does it', async () => {
  const t = setup();
  t.cache.has = jest.fn(async () => false);
  const confirmDownload = jest.fn(async () => false);
  t.wx.getNetworkType = (o) => o.success({ networkType: '4g' });
  const result = await t.session.run({ photo, style, confirmDownload });
  expect(confirmDownload).toHaveBeenCalledWith({ bytes: 10 * 1024 * 1024, networkType: '4g' });
  expect(result).toMatchObject({ where: 'server', fallbackReason: 'download declined' });
  expect(t.cache.load).not.toHaveBeenCalled();
  t.wx.getNetworkType = (o) => o.success({ networkType: 'wifi' });
  expect((await t.session.run({ photo, style, confirmDownload })).where).toBe('device');
  expect(confirmDownload).toHaveBeenCalledTimes(1);
});

test('a phone picture is uploaded for the check before its share link', async () => {
  const t = setup();
  const result = await t.run();
  expect(await t.session.shareLink(result)).toBeNull();
  await t.session.checkPicture(result, style);
  expect(t.api.uploadPicture).toHaveBeenCalledWith('wxfile://tmp/device.png', 'hayao', expect.anything());
  expect(await t.session.shareLink(result)).toBe('https://api.test/s/abc/image');
  expect(t.api.share).toHaveBeenCalledWith('r9');
});

test('a server failure reaches the caller as a message with a retry', async () => {
  const t = setup({ plan: { where: 'server', long_side: 512 } });
  t.api.createJob.mockRejectedValue(new AppError('quota_exceeded'));
  await expect(t.run()).rejects.toMatchObject({ code: 'quota_exceeded', retryable: false });
});

test('share link: once per server result, none for a phone result', async () => {
  const t = setup({ plan: { where: 'server', long_side: 512 } });
  const result = await t.run();
  expect(await t.session.shareLink(result)).toBe('https://api.test/s/abc/image');
  expect(await t.session.shareLink(result)).toBe('https://api.test/s/abc/image');
  expect(t.api.share).toHaveBeenCalledTimes(1);
  expect(await t.session.shareLink({ where: 'device', path: 'x' })).toBeNull();
});

test('share link waits while WeChat is still checking the picture', async () => {
  const t = setup({ plan: { where: 'server', long_side: 512 } });
  t.api.share
    .mockRejectedValueOnce(new AppError('content_check_pending', { retryAfter: 5 }))
    .mockResolvedValueOnce({ url: 'https://api.test/s/later' });
  const result = await t.run();
  const session = createSession({ wx: {}, api: t.api, cache: t.cache, engines: {}, sleep: async () => {} });
  expect(await session.shareLink(result)).toBe('https://api.test/s/later');
  t.api.share.mockRejectedValue(new AppError('content_rejected'));
  await expect(session.shareLink({ resultId: 'r2' })).rejects.toMatchObject({ code: 'content_rejected' });
});
