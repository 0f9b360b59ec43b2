// Stylize: one progress screen whether the phone or the server does the work,
// then the result with a before/after comparison, save and share.

const { fromWx } = require('../../lib/errors');
const { saveToAlbum } = require('../../lib/album');

const app = getApp();

Page({
  data: {
    styleName: '',
    before: '',
    ratio: 1,
    step: '', // progress step while running, '' when finished
    percent: -1,
    status: '',
    after: '', // path of the stylized picture
    where: '', // 'device' or 'server'
    error: '',
    retryable: false,
  },

  onLoad() {
    const { photo, style } = app.globalData;
    if (!photo || !style) {
      wx.redirectTo({ url: '/pages/index/index' });
      return;
    }
    this.photo = photo;
    this.style = style;
    this.setData({ styleName: style.name, before: photo.path, ratio: photo.width / photo.height });
    this.start();
  },

  onUnload() {
    this.unloaded = true;
  },

  update(data) {
    if (!this.unloaded) this.setData(data);
  },

  async start() {
    this.result = null;
    this.update({ step: 'planning', percent: -1, status: '', after: '', error: '' });
    try {
      const result = await app.services.session.run({
        photo: this.photo,
        style: this.style,
        onState: (s) => this.update({ step: s.step, percent: s.percent === undefined ? -1 : s.percent, status: s.status || '' }),
      });
      this.result = result;
      app.globalData.result = result;
      this.update({ step: '', after: result.path, where: result.where });
      this.prepareShareLink();
    } catch (err) {
      const e = fromWx(err);
      this.update({ step: '', error: e.message, retryable: e.retryable });
    }
  },

  retry() {
    this.start();
  },

  // Ask the backend for the public link early, so the share card has it.
  async prepareShareLink() {
    try {
      this.shareUrl = await app.services.session.shareLink(this.result);
    } catch (err) {
      this.shareUrl = null;
      this.shareError = fromWx(err);
    }
  },

  async save() {
    try {
      await saveToAlbum(wx, this.data.after);
      wx.showToast({ title: '已保存到相册', icon: 'success' });
    } catch (err) {
      const e = fromWx(err);
      if (e.code !== 'cancelled') wx.showToast({ title: e.message, icon: 'none' });
    }
  },

  // Send the picture itself to a chat (base library 2.14.3+).
  sharePicture() {
    wx.showShareImageMenu({
      path: this.data.after,
      fail: (err) => {
        const e = fromWx(err);
        if (e.code !== 'cancelled') wx.showToast({ title: e.message, icon: 'none' });
      },
    });
  },

  // A share card: the backend's public link to the result as its picture (server
  // results), the local picture for results made on the phone. A result that
  // failed WeChat's content check is shared without its picture.
  onShareAppMessage() {
    const card = { title: `我的${this.data.styleName}风格卡通画`, path: '/pages/index/index' };
    if (this.shareError && this.shareError.code === 'content_rejected') {
      wx.showToast({ title: this.shareError.message, icon: 'none' });
      return card;
    }
    if (this.shareUrl) return Object.assign(card, { imageUrl: this.shareUrl });
    if (this.result && this.result.where === 'device') return Object.assign(card, { imageUrl: this.data.after });
    return card;
  },

  again() {
    wx.navigateBack({ fail: () => wx.redirectTo({ url: '/pages/index/index' }) });
  },
});
