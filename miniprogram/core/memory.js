// What a wx.onMemoryWarning does to on-phone stylizing, by its level. Android reports the
// levels of onTrimMemory (WeChat documents 5 TRIM_MEMORY_RUNNING_MODERATE, 10 ..._LOW and
// 15 ..._CRITICAL); iOS reports none. A warning is not a crash: most are only a warning.
//
//   moderate (5), low (10) or none (iOS): free what is not in use now (the model between photos),
//     and stylize later photos one size step smaller (512 → 384 → 256); a run that fails after
//     it retries once, smaller, before it goes to the server;
//   critical (15), or the third warning within a minute: stop on-phone work now (the model is
//     freed, a run under way stops) and use the server for the rest of the session.

const LEVELS = { moderate: 5, low: 10, critical: 15 };
const SIZE_STEPS = [512, 384, 256];
const REPEAT_COUNT = 3;
const REPEAT_WINDOW_MS = 60 * 1000;

function createMemoryGuard({ now = Date.now } = {}) {
  let warnings = []; // times of recent warnings
  let steps = 0; // size steps down
  let stopped = false;

  // Records a warning; returns 'stop' or 'free'.
  function warn(level) {
    const t = now();
    warnings = warnings.filter((w) => t - w < REPEAT_WINDOW_MS).concat(t);
    if (level >= LEVELS.critical || warnings.length >= REPEAT_COUNT) stopped = true;
    if (!stopped) steps += 1;
    return stopped ? 'stop' : 'free';
  }

  // The long side to stylize at on the phone: the planned one, or after warnings one of
  // SIZE_STEPS below it per warning; null when no smaller size is left.
  function longSide(planned) {
    const ladder = [planned, ...SIZE_STEPS.filter((s) => s < planned)];
    return ladder[steps] || null;
  }

  return {
    warn,
    longSide,
    get stopped() { return stopped; },
    get steps() { return steps; },
  };
}

module.exports = { createMemoryGuard, LEVELS, SIZE_STEPS };
