// Home: pick a photo (album or camera), see the styles, tap one to stylize.

const { promisify } = require('../../lib/wxp');
const { fromWx } = require('../../lib/errors');

const app = getApp();

Page({
  data: {
    photo: null, // { path, width, height }
    styles: [],
    loadingStyles: true,
    error: '', // a message a person understands
  },

  onLoad() {
    this.loadStyles();
  },

  async loadStyles() {
    this.setData({ loadingStyles: true, error: '' });
    try {
      const styles = await app.services.api.styles();
      const { api } = app.services;
      this.setData({
        styles: styles.map((s) => Object.assign({}, s, { preview_url: s.preview_url && api.url(s.preview_url) })),
        loadingStyles: false,
      });
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
      this.setData({ photo: { path, width: info.width, height: info.height } });
    } catch (err) {
      const e = fromWx(err);
      if (e.code !== 'cancelled') wx.showToast({ title: e.message, icon: 'none' });
    }
  },

  onSelectStyle(e) {
    const style = this.data.styles.find((s) => s.id === e.detail.id);
    if (!style) return;
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
