// Cancelling a run: the session gives each run a token; leaving the result page or starting a
// new run cancels it. Whatever is under way listens (a download or upload task aborts, a sleep
// ends) and every step checks the token before it goes on, so a cancelled run stops at the next
// step and its result is thrown away.

const { AppError } = require('./errors');

function createCancel() {
  const listeners = new Set();
  let cancelled = false;
  return {
    get cancelled() { return cancelled; },
    cancel() {
      if (cancelled) return;
      cancelled = true;
      for (const listener of [...listeners]) listener();
      listeners.clear();
    },
    // Throws AppError('cancelled') once cancelled.
    check() {
      if (cancelled) throw new AppError('cancelled');
    },
    // Calls `listener` on cancel (at once when already cancelled); returns an unsubscribe.
    onCancel(listener) {
      if (cancelled) {
        listener();
        return () => {};
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

// A token that is never cancelled, for callers that do not cancel.
const NEVER = { cancelled: false, cancel() {}, check() {}, onCancel: () => () => {} };

// Resolves after `ms`, or rejects with AppError('cancelled') as soon as `cancel` fires.
function cancellableSleep(ms, cancel = NEVER) {
  return new Promise((resolve, reject) => {
    let off = () => {};
    const timer = setTimeout(() => { off(); resolve(); }, ms);
    off = cancel.onCancel(() => {
      clearTimeout(timer);
      reject(new AppError('cancelled'));
    });
  });
}

module.exports = { createCancel, cancellableSleep, NEVER };
