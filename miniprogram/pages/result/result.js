// Stylize: one progress screen whether the phone or the server does the work (with a cancel
// button), then the result with a before/after comparison, save and share.
//
// Sharing: a picture leaves the phone (send the picture, share card, share link) only after the
// server's WeChat content check passed. A server result is checked from its upload; a picture
// made on the phone is uploaded for the check first, when the user asks to share it and agrees.
// Until then the share card shows the style's preview, never the picture (or a screenshot of it).
// Saving to the user's own album needs no check.

const { fromWx } = require('../../core/errors');
const { formatBytes } = require('../../core/format');
const { promisify } = require('../../core/wxp');
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
    // sharing: 'checking' (the content check runs), 'ready' (passed), 'rejected', 'failed',
    // 'needs-upload' (a phone picture not uploaded yet)
    share: '',
    shareMessage: '',
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

  // Leaving the page cancels the run (download, inference or polling).
  onUnload() {
    this.unloaded = true;
    app.services.session.cancel();
  },

  update(data) {
    if (!this.unloaded) this.setData(data);
  },

  async start() {
    this.result = null;
    this.shareUrl = null;
    this.update({ step: 'planning', percent: -1, status: '', after: '', error: '', share: '', shareMessage: '' });
    try {
      const result = await app.services.session.run({
        photo: this.photo,
        style: this.style,
        page: this,
        confirmDownload: (info) => this.confirmDownload(info),
        onState: (s) => this.update({ step: s.step, percent: s.percent === undefined ? -1 : s.percent, status: s.status || '' }),
      });
      this.result = result;
      app.globalData.result = result;
      this.update({ step: '', after: result.path, where: result.where });
      if (result.where === 'server') this.prepareShare();
      else this.update({ share: 'needs-upload' });
    } catch (err) {
      const e = fromWx(err);
      if (e.code === 'cancelled') {
        this.update({ step: '', error: e.message, retryable: true });
        return;
      }
      this.update({ step: '', error: e.message, retryable: e.retryable });
    }
  },

  cancel() {
    app.services.session.cancel();
  },

  retry() {
    this.start();
  },

  // Before a large model download on a mobile network.
  async confirmDownload({ bytes }) {
    const { confirm } = await promisify(wx.showModal, {
      title: '下载风格模型',
      content: `在手机上生成需要先下载 ${formatBytes(bytes)} 的风格模型（只需下载一次）。当前不是 Wi-Fi，要下载吗？选择“云端处理”会上传照片由服务器生成。`,
      confirmText: '下载',
      cancelText: '云端处理',
    });
    return confirm;
  },

  // Waits for the content check of the result; share buttons appear once it passed.
  async prepareShare() {
    this.update({ share: 'checking', shareMessage: '图片安全检查中，通过后即可分享。' });
    try {
      this.shareUrl = await app.services.session.shareLink(this.result);
      this.update({ share: 'ready', shareMessage: '' });
    } catch (err) {
      const e = fromWx(err);
      this.update({ share: e.code === 'content_rejected' ? 'rejected' : 'failed', shareMessage: e.message });
    }
  },

  // A picture made on the phone: the user agrees to upload it for the check, then it is checked.
  async uploadForCheck() {
    const { confirm } = await promisify(wx.showModal, {
      title: '分享前的安全检查',
      content: '微信要求分享出去的图片先通过内容安全检查。这张图是在你手机上生成的，需要上传到我们的服务器检查，保存 7 天后删除。保存到相册不需要检查。',
      confirmText: '上传检查',
    });
    if (!confirm) return;
    this.update({ share: 'checking', shareMessage: '正在上传图片做安全检查…' });
    try {
      await app.services.session.checkPicture(this.result, this.style);
    } catch (err) {
      this.update({ share: 'failed', shareMessage: fromWx(err).message });
      return;
    }
    await this.prepareShare();
  },

  retryShare() {
    if (this.result && !this.result.resultId) this.uploadForCheck();
    else this.prepareShare();
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

  // Send the picture itself to a chat (base library 2.14.3+): only after the check passed.
  sharePicture() {
    if (this.data.share !== 'ready') return;
    wx.showShareImageMenu({
      path: this.data.after,
      fail: (err) => {
        const e = fromWx(err);
        if (e.code !== 'cancelled') wx.showToast({ title: e.message, icon: 'none' });
      },
    });
  },

  // A share card (button or the menu): the checked picture's public link, or else the style's
  // preview, so that WeChat never puts a screenshot of an unchecked picture on the card.
  onShareAppMessage() {
    const card = { title: `我的${this.data.styleName}风格卡通画`, path: '/pages/index/index' };
    if (this.data.share === 'ready' && this.shareUrl) return Object.assign(card, { imageUrl: this.shareUrl });
    return Object.assign(card, { title: '把照片变成卡通画', imageUrl: this.style && this.style.preview_url });
  },

  again() {
    wx.navigateBack({ fail: () => wx.redirectTo({ url: '/pages/index/index' }) });
  },
});
