// Small text helpers shared by components and pages.

function formatBytes(bytes) {
  if (!bytes) return '';
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const STEP_LABELS = {
  planning: '正在准备…',
  downloading: '正在下载风格模型',
  preparing: '正在加载模型…',
  stylizing: '正在手机上生成卡通画…',
  uploading: '正在上传照片',
  waiting: '云端正在生成卡通画…',
  fetching: '正在取回结果…',
};

const JOB_STATUS = { queued: '排队中', running: '处理中' };

// The words for a core/session.js progress state.
function progressLabel(step, percent, status) {
  let text = STEP_LABELS[step] || '';
  if ((step === 'downloading' || step === 'uploading') && typeof percent === 'number') text += ` ${percent}%`;
  if (step === 'waiting' && JOB_STATUS[status]) text += `（${JOB_STATUS[status]}）`;
  return text;
}

module.exports = { formatBytes, progressLabel };
