// Deployment settings. See README.md: the backend's host must also be listed in
// the mini-program's request, uploadFile and downloadFile domain lists.
module.exports = {
  // Base URL of the backend (docs/api.md), https in production.
  baseUrl: 'https://cartoon.example.com',
  // Development only: log in through POST /api/v1/auth/dev-login with this
  // openid instead of wx.login (the backend must run in development mode).
  devOpenid: '',
  // Before a model download of at least this many bytes on a mobile network (wx.getNetworkType
  // not wifi), the user is told its size and chooses: download, or stylize on the server.
  mobileDownloadNoticeBytes: 2 * 1024 * 1024,
};
