// A horizontal list of styles: preview, name and download size. Emits
// `select` with { id } when a style is tapped (unless disabled).

const { formatBytes } = require('../../lib/format');

Component({
  properties: {
    // [{ id, name, preview_url, variants: { uint8: { bytes } } }] from GET /api/v1/styles
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
          size: formatBytes(s.variants && s.variants.uint8 && (s.variants.uint8.download_bytes || s.variants.uint8.bytes)),
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
