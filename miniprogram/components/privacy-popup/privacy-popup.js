// WeChat's privacy flow (base library 2.32.3+): when a privacy-protected API
// (wx.chooseMedia, wx.saveImageToPhotosAlbum, ...) runs before the user agreed,
// WeChat fires wx.onNeedPrivacyAuthorization and holds the call until we
// resolve it. This popup explains, links to the privacy guide, and resolves
// with the user's answer; the held API call then continues or fails.

Component({
  data: { show: false, contractName: '《用户隐私保护指引》' },

  lifetimes: {
    attached() {
      if (!wx.onNeedPrivacyAuthorization) return; // older clients: no privacy flow
      wx.onNeedPrivacyAuthorization((resolve) => {
        this.resolvePrivacy = resolve;
        resolve({ event: 'exposureAuthorization' });
        this.setData({ show: true });
      });
      if (wx.getPrivacySetting) {
        wx.getPrivacySetting({
          success: (res) => {
            if (res.privacyContractName) this.setData({ contractName: res.privacyContractName });
          },
        });
      }
    },
  },

  methods: {
    openContract() {
      if (wx.openPrivacyContract) wx.openPrivacyContract({});
    },

    // bindagreeprivacyauthorization of <button id="agree-btn" open-type="agreePrivacyAuthorization">
    onAgree() {
      this.finish({ buttonId: 'agree-btn', event: 'agree' });
    },

    onDisagree() {
      this.finish({ event: 'disagree' });
    },

    finish(answer) {
      if (this.resolvePrivacy) this.resolvePrivacy(answer);
      this.resolvePrivacy = null;
      this.setData({ show: false });
      this.triggerEvent(answer.event);
    },
  },
});
