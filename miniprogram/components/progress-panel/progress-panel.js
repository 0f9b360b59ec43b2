// What is happening right now, in words, with a percentage while the model
// downloads and while the photo uploads. `step` comes from core/session.js onState.

const { progressLabel } = require('../../core/format');

Component({
  properties: {
    step: { type: String, value: '' },
    percent: { type: Number, value: -1 },
    status: { type: String, value: '' },
  },

  data: { text: '', showBar: false },

  observers: {
    'step, percent, status'(step, percent, status) {
      const hasPercent = (step === 'downloading' || step === 'uploading') && percent >= 0;
      this.setData({
        text: progressLabel(step, hasPercent ? percent : undefined, status),
        showBar: hasPercent,
      });
    },
  },
});
