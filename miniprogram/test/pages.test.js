const fs = require('fs');
const path = require('path');
const { loadPage, createPageWx, failing, flush } = require('./support/page-harness');
const { AppError } = require('../core/errors');
const { GIF_LIMITS, createGifWriter } = require('../core/gif');

const INDEX = path.join(__dirname, '../pages/index/index.js');
const RESULT = path.join(__dirname, '../pages/result/result.js');

const styles = [
  { id: 'hayao', name: 'Hayao', preview_url: '/models/hayao/v1/preview.jpg', variants: { uint8: { bytes: 2e6 } } },
  { id: 'shinkai', name: 'Shinkai', preview_url: '/models/shinkai/v1/preview.jpg', variants: { uint8: { bytes: 2e6 } } },
];

function appDouble({ session, api } = {}) {
  return {
    globalData: { photo: null, style: null, result: null },
    services: {
      api: Object.assign({ styles: jest.fn(async () => styles), url: (p) => `https://api.test${p}` }, api),
      cache: { has: jest.fn(async ({ id }) => id === 'shinkai') },
      phoneVariant: 'uint8',
      session: Object.assign({
        run: jest.fn(async ({ onState }) => {
          onState({ step: 'planning' });
          onState({ step: 'downloading', percent: 40 });
          onState({ step: 'stylizing' });
          return { where: 'device', path: 'wxfile://tmp/device.png', width: 512, height: 384 };
        }),
        shareLink: jest.fn(async () => null),
        checkPicture: jest.fn(async (result) => Object.assign(result, { resultId: 'r9' })),
        cancel: jest.fn(),
      }, session),
    },
  };
}

afterEach(() => {
  delete global.wx;
  delete global.getApp;
  delete global.Page;
});

describe('home page', () => {
  test('loads the styles with absolute preview URLs', async () => {
    const app = appDouble();
    const page = loadPage(INDEX, { app, wx: createPageWx() });
    page.onLoad();
    await flush();
    expect(page.data.loadingStyles).toBe(false);
    expect(page.data.styles.map((s) => s.preview_url)).toEqual([
      'https://api.test/models/hayao/v1/preview.jpg', 'https://api.test/models/shinkai/v1/preview.jpg',
    ]);
    // the size this phone would download: nothing for a style already on the phone
    expect(page.data.styles.map((s) => [s.download_bytes, s.downloaded])).toEqual([[2e6, false], [0, true]]);
  });

  test('a style with a student shows the student\'s download, the one the plan sends', async () => {
    const student = {
      id: 'hosoda', name: 'Hosoda', preview_url: '/p.jpg',
      variants: { uint8: { bytes: 11e6, network: 'teacher' }, student_uint8: { bytes: 1.2e6, download_bytes: 1e6, network: 'student' } },
    };
    const app = appDouble({ api: { styles: jest.fn(async () => [student]) } });
    const page = loadPage(INDEX, { app, wx: createPageWx() });
    page.onLoad();
    await flush();
    expect(page.data.styles.map((s) => [s.download_bytes, s.downloaded])).toEqual([[1e6, false]]);
    expect(app.services.cache.has).toHaveBeenCalledWith({ id: 'hosoda', version: undefined, variant: 'student_uint8' });
  });

  test('a failed catalogue shows a message and retries', async () => {
    const app = appDouble({ api: { styles: jest.fn().mockRejectedValueOnce(new AppError('network')).mockResolvedValue(styles) } });
    const page = loadPage(INDEX, { app, wx: createPageWx() });
    page.onLoad();
    await flush();
    expect(page.data.error).toBe('网络好像断开了，请检查网络后重试。');
    await page.loadStyles();
    expect(page.data.error).toBe('');
    expect(page.data.styles).toHaveLength(2);
  });

  test('choosing a photo from the album or camera keeps its size', async () => {
    const wx = createPageWx();
    const page = loadPage(INDEX, { app: appDouble(), wx });
    await page.choosePhoto();
    expect(wx.chooseMedia.mock.calls[0][0]).toMatchObject({ count: 1, mediaType: ['image'], sourceType: ['album', 'camera'] });
    expect(page.data.photo).toEqual({ path: 'wxfile://tmp/photo.jpg', width: 4032, height: 3024, animated: false });
  });

  // A GIF picked from the album: its bytes decide (core/gif.js isAnimatedGif), read from its file.
  function gifWx(bytes) {
    const files = { 'wxfile://tmp/anim.gif': bytes };
    return createPageWx({
      chooseMedia: jest.fn((o) => Promise.resolve().then(() => o.success({ tempFiles: [{ tempFilePath: 'wxfile://tmp/anim.gif' }] }))),
      getImageInfo: jest.fn((o) => Promise.resolve().then(() => o.success({ width: 40, height: 30, type: 'gif' }))),
      getFileSystemManager: () => ({
        readFile: ({ filePath, success, fail }) => Promise.resolve().then(() => (
          files[filePath] ? success({ data: files[filePath] }) : fail({ errMsg: `readFile:fail no such file ${filePath}` }))),
      }),
    });
  }

  function gifOf(frameCount) {
    const writer = createGifWriter();
    const data = new Uint8ClampedArray(4 * 4 * 4).fill(255);
    for (let i = 0; i < frameCount; i++) writer.add({ data, width: 4, height: 4 }, 100);
    return writer.finish();
  }

  test('an animated GIF is marked animated (an animated cartoon GIF comes out); a one-frame GIF is a photo', async () => {
    const animated = fs.readFileSync(path.join(__dirname, 'fixtures', 'pillow-deltas.gif'));
    let page = loadPage(INDEX, { app: appDouble(), wx: gifWx(animated) });
    await page.choosePhoto();
    expect(page.data.photo).toEqual({ path: 'wxfile://tmp/anim.gif', width: 40, height: 30, animated: true });

    page = loadPage(INDEX, { app: appDouble(), wx: gifWx(gifOf(1)) });
    await page.choosePhoto();
    expect(page.data.photo.animated).toBe(false);

    // A GIF the decoder cannot read, which the phone could show: a still picture, not an error.
    const wx = gifWx(animated.subarray(0, 40));
    page = loadPage(INDEX, { app: appDouble(), wx });
    await page.choosePhoto();
    expect(page.data.photo).toMatchObject({ path: 'wxfile://tmp/anim.gif', animated: false });
    expect(wx.showToast).not.toHaveBeenCalled();
  });

  test('a GIF past the frame limit is refused when picked, and the photo chosen before stays', async () => {
    const wx = gifWx(gifOf(GIF_LIMITS.maxFrames + 1));
    const page = loadPage(INDEX, { app: appDouble(), wx });
    page.setData({ photo: { path: 'wxfile://tmp/photo.jpg', width: 4032, height: 3024, animated: false } });
    await page.choosePhoto();
    expect(wx.showToast).toHaveBeenCalledWith({ title: `动图有 ${GIF_LIMITS.maxFrames + 1} 帧，最多只能处理 ${GIF_LIMITS.maxFrames} 帧。`, icon: 'none' });
    expect(page.data.photo.path).toBe('wxfile://tmp/photo.jpg');
  });

  test('cancelling the picker says nothing; refusing the privacy guide explains why', async () => {
    const wx = createPageWx({ chooseMedia: failing('chooseMedia:fail cancel') });
    const page = loadPage(INDEX, { app: appDouble(), wx });
    await page.choosePhoto();
    expect(wx.showToast).not.toHaveBeenCalled();

    wx.chooseMedia = failing('chooseMedia:fail privacy permission is not authorized');
    await page.choosePhoto();
    expect(wx.showToast).toHaveBeenCalledWith({ title: '需要你同意隐私保护指引后才能继续。', icon: 'none' });
  });

  test('tapping a style needs a photo first, then opens the result page', async () => {
    const app = appDouble();
    const wx = createPageWx();
    const page = loadPage(INDEX, { app, wx });
    page.onLoad();
    await flush();
    page.onSelectStyle({ detail: { id: 'shinkai' } });
    expect(wx.navigateTo).not.toHaveBeenCalled();
    expect(wx.showToast).toHaveBeenCalled();

    await page.choosePhoto();
    page.onSelectStyle({ detail: { id: 'shinkai' } });
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/result/result?style=shinkai' });
    expect(app.globalData.style.id).toBe('shinkai');
    expect(app.globalData.photo.width).toBe(4032);
  });
});

describe('result page', () => {
  function openResult(app, wx = createPageWx()) {
    app.globalData.photo = { path: 'wxfile://tmp/photo.jpg', width: 1024, height: 768 };
    app.globalData.style = styles[0];
    const page = loadPage(RESULT, { app, wx });
    return { page, wx };
  }

  test('shows progress, then the before/after result made on the phone', async () => {
    const app = appDouble();
    const { page } = openResult(app);
    page.onLoad();
    await flush();
    const steps = page.history.map((p) => p.step).filter((s) => s !== undefined);
    expect(steps).toEqual(['planning', 'planning', 'downloading', 'stylizing', '']);
    expect(page.history.find((p) => p.step === 'downloading').percent).toBe(40);
    expect(page.data).toMatchObject({ after: 'wxfile://tmp/device.png', where: 'device', before: 'wxfile://tmp/photo.jpg', error: '' });
    expect(page.data.ratio).toBeCloseTo(4 / 3);
  });

  test('a failure shows a message a person understands and a retry that works', async () => {
    const run = jest.fn()
      .mockRejectedValueOnce(new AppError('server_busy'))
      .mockResolvedValue({ where: 'server', path: 'wxfile://tmp/server.png', resultId: 'r1' });
    const app = appDouble({ session: { run } });
    const { page } = openResult(app);
    page.onLoad();
    await flush();
    expect(page.data).toMatchObject({ error: '服务器有点忙，请稍后再试。', retryable: true, step: '' });
    page.retry();
    await flush();
    expect(page.data).toMatchObject({ error: '', after: 'wxfile://tmp/server.png', where: 'server' });
  });

  test('without a photo the page goes back home', () => {
    const app = appDouble();
    const wx = createPageWx();
    const page = loadPage(RESULT, { app, wx });
    page.onLoad();
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/pages/index/index' });
  });

  test('share card: the backend share link for server results', async () => {
    const app = appDouble({
      session: {
        run: jest.fn(async () => ({ where: 'server', path: 'wxfile://tmp/server.png', resultId: 'r1' })),
        shareLink: jest.fn(async () => 'https://api.test/s/tok'),
      },
    });
    const { page } = openResult(app);
    page.onLoad();
    await flush();
    expect(page.onShareAppMessage()).toEqual({ title: '我的Hayao风格卡通画', path: '/pages/index/index', imageUrl: 'https://api.test/s/tok' });
  });

  test('a phone picture is never shared before the check: neutral card, no image menu', async () => {
    const app = appDouble();
    const { page, wx } = openResult(app);
    page.onLoad();
    await flush();
    expect(page.data.share).toBe('needs-upload');
    const card = page.onShareAppMessage();
    expect(card.imageUrl).toBe(app.globalData.style.preview_url); // the style's preview, not the picture
    page.sharePicture();
    expect(wx.showShareImageMenu).not.toHaveBeenCalled();
  });

  test('after the user agrees, the phone picture is uploaded, checked, then shared', async () => {
    const app = appDouble({ session: { shareLink: jest.fn(async () => 'https://api.test/s/ok') } });
    const { page, wx } = openResult(app);
    page.onLoad();
    await flush();
    await page.uploadForCheck();
    expect(wx.showModal).toHaveBeenCalled();
    expect(app.services.session.checkPicture).toHaveBeenCalled();
    expect(page.data.share).toBe('ready');
    expect(page.onShareAppMessage().imageUrl).toBe('https://api.test/s/ok');
    page.sharePicture();
    expect(wx.showShareImageMenu.mock.calls[0][0].path).toBe('wxfile://tmp/device.png');
  });

  test('a server picture the check refused is never shared', async () => {
    const rejected = appDouble({
      session: {
        run: jest.fn(async () => ({ where: 'server', path: 'wxfile://tmp/server.png', resultId: 'r1' })),
        shareLink: jest.fn(async () => { throw new AppError('content_rejected'); }),
      },
    });
    const { page, wx } = openResult(rejected);
    page.onLoad();
    await flush();
    expect(page.data.share).toBe('rejected');
    expect(page.data.shareMessage).toBe('这张图片没有通过内容安全检查，不能分享。');
    expect(page.onShareAppMessage().imageUrl).toBe(rejected.globalData.style.preview_url);
    page.sharePicture();
    expect(wx.showShareImageMenu).not.toHaveBeenCalled();
  });

  test('the cancel button and leaving the page cancel the run', async () => {
    const app = appDouble();
    const { page } = openResult(app);
    page.onLoad();
    page.cancel();
    page.onUnload();
    expect(app.services.session.cancel).toHaveBeenCalledTimes(2);
  });

  describe('saving to the album', () => {
    async function saved(wx) {
      const { page } = openResult(appDouble(), wx);
      page.onLoad();
      await flush();
      await page.save();
      return page;
    }

    test('first time: asks for the permission, then saves', async () => {
      const wx = createPageWx();
      await saved(wx);
      expect(wx.authorize).toHaveBeenCalledWith(expect.objectContaining({ scope: 'scope.writePhotosAlbum' }));
      expect(wx.saveImageToPhotosAlbum.mock.calls[0][0].filePath).toBe('wxfile://tmp/device.png');
      expect(wx.showToast).toHaveBeenCalledWith({ title: '已保存到相册', icon: 'success' });
    });

    test('refused earlier: explains and opens the settings, then saves once allowed', async () => {
      const wx = createPageWx({
        getSetting: jest.fn((o) => Promise.resolve().then(() => o.success({ authSetting: { 'scope.writePhotosAlbum': false } }))),
      });
      await saved(wx);
      expect(wx.authorize).not.toHaveBeenCalled();
      expect(wx.showModal).toHaveBeenCalled();
      expect(wx.openSetting).toHaveBeenCalled();
      expect(wx.saveImageToPhotosAlbum).toHaveBeenCalled();
    });

    test('refused now and not allowed in settings: says how to fix it, saves nothing', async () => {
      const wx = createPageWx({
        authorize: failing('authorize:fail auth deny'),
        openSetting: jest.fn((o) => Promise.resolve().then(() => o.success({ authSetting: { 'scope.writePhotosAlbum': false } }))),
      });
      await saved(wx);
      expect(wx.saveImageToPhotosAlbum).not.toHaveBeenCalled();
      expect(wx.showToast).toHaveBeenCalledWith({ title: '没有保存到相册的权限，请在设置中允许后重试。', icon: 'none' });
    });
  });
});
