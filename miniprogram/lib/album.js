// Saving a picture to the phone's album, with the permission flow: ask the first
// time (wx.authorize), and when the user refused earlier, explain and open the
// settings page (wx.openSetting) so they can allow it.

const { promisify } = require('../core/wxp');
const { AppError, fromWx } = require('../core/errors');

const SCOPE = 'scope.writePhotosAlbum';

async function askInSettings(wx) {
  const { confirm } = await promisify(wx.showModal, {
    title: '需要相册权限',
    content: '保存图片需要允许“保存到相册”，去设置里打开吧。',
    confirmText: '去设置',
  });
  if (!confirm) throw new AppError('album_denied');
  const { authSetting } = await promisify(wx.openSetting, {});
  if (!authSetting[SCOPE]) throw new AppError('album_denied');
}

async function saveToAlbum(wx, filePath) {
  try {
    const { authSetting } = await promisify(wx.getSetting, {});
    if (authSetting[SCOPE] === false) {
      await askInSettings(wx);
    } else if (authSetting[SCOPE] === undefined) {
      try {
        await promisify(wx.authorize, { scope: SCOPE });
      } catch (err) {
        if (fromWx(err).code !== 'album_denied') throw err;
        await askInSettings(wx);
      }
    }
    await promisify(wx.saveImageToPhotosAlbum, { filePath });
  } catch (err) {
    throw fromWx(err);
  }
}

module.exports = { saveToAlbum };
