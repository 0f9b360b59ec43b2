// Before/after comparison: the stylized picture over the original, clipped at a
// position the user drags with a slider.

Component({
  properties: {
    before: { type: String, value: '' },
    after: { type: String, value: '' },
    // width / height of the pictures, to keep their aspect ratio
    ratio: { type: Number, value: 1 },
  },

  data: { position: 50 },

  methods: {
    onSlide(e) {
      this.setData({ position: e.detail.value });
    },
  },
});
