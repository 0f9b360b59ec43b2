// Home: pick a photo (album or camera), see the styles, tap one to stylize.

const { promisify } = require('../../core/wxp');
const { AppError, fromWx } = require('../../core/errors');
const { styleDownload } = require('../../core/plan');
const { isAnimatedGif } = require('../../core/gif');
const { readBytes } = require('../../core/image');

const app = getApp();

Page({
  data: {
    photo: null, // { path, width, height, animated } (animated: an animated GIF, stylized into one)
    styles: [],
    selected: '', // the style tapped last
    loadingStyles: true,
    error: '', // a message a person understands
  },

  onLoad() {
    this.loadStyles();
  },

  // The styles, each with the download this phone would make for it (core/plan.js
  // styleDownload: the student's variant when the style has one, in this phone's engine),
  // nothing when already downloaded.
  async loadStyles() {
    this.setData({ loadingStyles: true, error: '' });
    try {
      const { api, cache, phoneVariant } = app.services;
      const styles = await api.styles();
      if (!styles.length) throw new AppError('unknown', { message: '暂时没有可用的风格，请稍后重试。' });
      const entries = await Promise.all(styles.map(async (s) => {
        const download = styleDownload(s, { engineVariant: phoneVariant });
        const downloaded = Boolean(download && await cache.has({ id: s.id, version: s.version, variant: download.variant }));
        return Object.assign({}, s, {
          preview_url: s.preview_url && api.url(s.preview_url),
          download_bytes: downloaded || !download ? 0 : download.bytes,
          downloaded,
        });
      }));
      this.setData({ styles: entries, loadingStyles: false });
    } catch (err) {
      this.setData({ loadingStyles: false, error: fromWx(err).message });
    }
  },

  async choosePhoto() {
    try {
      const res = await promisify(wx.chooseMedia, {
        count: 1, mediaType: ['image'], sourceType: ['album', 'camera'], sizeType: ['compressed'],
      });
      const path = res.tempFiles[0].tempFilePath;
      const info = await promisify(wx.getImageInfo, { src: path });
      // A GIF is read once here to count its frames (and refuse one past the limits now, keeping
      // the photo chosen before); its bytes stay out of the page's data, the session reads them.
      const animated = info.type === 'gif' && isAnimatedGif(await readBytes(wx, path));
      this.setData({ photo: { path, width: info.width, height: info.height, animated } });
    } catch (err) {
      const e = fromWx(err);
      if (e.code !== 'cancelled') wx.showToast({ title: e.message, icon: 'none' });
    }
  },

  onSelectStyle(e) {
    const style = this.data.styles.find((s) => s.id === e.detail.id);
    if (!style) return;
    this.setData({ selected: style.id });
    if (!this.data.photo) {
      wx.showToast({ title: '请先选择一张照片', icon: 'none' });
      return;
    }
    app.globalData.photo = this.data.photo;
    app.globalData.style = style;
    wx.navigateTo({ url: `/pages/result/result?style=${encodeURIComponent(style.id)}` });
  },

  onShareAppMessage() {
    return { title: '把照片变成卡通画', path: '/pages/index/index' };
  },
});
