// A horizontal list of styles: preview, name and the size this phone would download for it
// ("已下载" when it is on the phone already). The selected style is outlined. Emits `select`
// with { id } when a style is tapped (unless disabled).

const { formatBytes } = require('../../core/format');

Component({
  properties: {
    // [{ id, name, preview_url, download_bytes, downloaded }] (the home page adds the last two)
    styles: { type: Array, value: [] },
    selected: { type: String, value: '' },
    disabled: { type: Boolean, value: false },
  },

  data: { items: [] },

  observers: {
    styles(styles) {
      this.setData({
        items: (styles || []).map((s) => ({
          id: s.id,
          name: s.name,
          preview: s.preview_url,
          size: s.downloaded ? '已下载' : formatBytes(s.download_bytes),
        })),
      });
    },
  },

  methods: {
    onTap(e) {
      if (this.data.disabled) return;
      this.triggerEvent('select', { id: e.currentTarget.dataset.id });
    },
  },
});
