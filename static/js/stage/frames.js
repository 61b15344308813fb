// Multi-frame animation from the live state, a line-by-line port of hub/state/frames.py: the
// frame a board object or the backdrop shows is derived from hub time and the anchor the reducer
// keeps (`src` at `framesAt`; the backdrop's `currentFrame` at `frameAt`), so every screen, a
// late joiner's and a replay's too, shows the same frame. Pure, like state.js.

import { isNumber, isObj } from './values.js';

const without = (o, key) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

/** The frames of a multi-frame item (two or more strings), or null. */
export const frameList = (v) => (Array.isArray(v) && v.length > 1 && v.every((f) => typeof f === 'string') ? v : null);

/** Frames wrap around unless `frameLoop` is false. */
export const loops = (o) => o.frameLoop !== false;

/** The frame index `elapsed` ms after frame `start` was shown, a frame every `period` ms. */
export function step(start, elapsed, period, count, loop) {
  const steps = Math.floor(Math.max(elapsed, 0) / period);
  return loop ? (start + steps) % count : Math.min(start + steps, count - 1);
}

/** Equal scalars (absent and null alike), or lists of strings element by element. */
function same(a, b) {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => typeof x === 'string' && x === b[i]);
  if (a === null || a === undefined || b === null || b === undefined) return (a === null || a === undefined) && (b === null || b === undefined);
  if (isNumber(a) && isNumber(b)) return a === b;
  return typeof a === typeof b && (typeof a === 'string' || typeof a === 'boolean') && a === b;
}

// --- board objects ------------------------------------------------------------------------------

/** Whether a board object is animating its frames. */
export function objectRunning(o) {
  if (!isObj(o) || frameList(o.frames) === null) return false;
  return isNumber(o.autoplayFrames) && o.autoplayFrames > 0;
}

/** The frame (URL) a board object shows at hub time `nowMs`: its `src` unless it animates. */
export function objectFrameAt(o, nowMs) {
  const frames = frameList(o.frames);
  if (frames === null || !objectRunning(o) || !isNumber(o.framesAt)) return o.src;
  const start = Math.max(frames.indexOf(o.src), 0);
  return frames[step(start, nowMs - o.framesAt, o.autoplayFrames, frames.length, loops(o))];
}

/** The object stored after `sent` merged into `old` (null when new) as `merged`: its animation anchored at `at`. */
export function settleFrames(old, merged, sent, at) {
  if (frameList(merged.frames) === null && (old === null || frameList(old.frames) === null)) return merged;
  const had = old !== null && objectRunning(old);
  const chosen = old !== null && 'src' in sent && !same(sent.src, old.src);
  let start;
  if (chosen) start = sent.src;
  else if (old !== null) start = had ? objectFrameAt(old, at) : old.src;
  else start = merged.src;
  const result = without(merged, 'framesAt');
  const running = objectRunning(merged);
  if (running && had && !chosen && old !== null && isNumber(old.framesAt)
    && ['autoplayFrames', 'frames'].every((key) => same(old[key], merged[key])) && loops(old) === loops(merged)) {
    result.framesAt = old.framesAt; // `src` is the anchor's already (not chosen)
    return result;
  }
  const frames = frameList(merged.frames);
  if (running && frames !== null) {
    if (!had && !loops(merged) && start === frames[frames.length - 1]) start = frames[0];
    result.framesAt = at;
  }
  if (typeof start === 'string') result.src = start;
  return result;
}

// --- the backdrop -------------------------------------------------------------------------------

const index = (v, count) => (isNumber(v) && v === Math.floor(v) && v >= 0 && v < count ? v : null);

/** Ms between two backdrop frames, 0 while it does not animate. */
export function backdropPeriod(bg) {
  if (frameList(bg.frames) === null || !isNumber(bg.speed) || bg.speed <= 0) return 0;
  return (bg.speed + (isNumber(bg.dwell) && bg.dwell > 0 ? bg.dwell : 0)) * 1000;
}

/** The frame index the backdrop shows at hub time `nowMs`. */
export function backdropFrameAt(bg, nowMs) {
  const frames = frameList(bg.frames);
  if (frames === null) return 0;
  const start = index(bg.currentFrame, frames.length) || 0;
  const period = backdropPeriod(bg);
  if (period <= 0 || !isNumber(bg.frameAt)) return start;
  return step(start, nowMs - bg.frameAt, period, frames.length, loops(bg));
}

/** A multi-frame backdrop as `changeBackground` stores it (see hub/state/frames.py). */
export function anchorBackdrop(old, bg) {
  const frames = frameList(bg.frames);
  if (frames === null) return bg;
  const at = bg.at;
  const result = without(bg, 'frameAt');
  const isSame = isObj(old) && typeof bg.src === 'string' && same(old.src, bg.src) && same(old.frames, frames);
  let chosen = index(bg.currentFrame, frames.length);
  if (isSame && chosen !== null && same(chosen, old.currentFrame)) chosen = null;
  const running = backdropPeriod(result) > 0;
  if (isSame && chosen === null && running && backdropPeriod(old) > 0 && isNumber(old.frameAt)
    && ['speed', 'dwell'].every((key) => same(old[key], bg[key])) && loops(old) === loops(bg)) {
    result.currentFrame = index(old.currentFrame, frames.length) || 0;
    result.frameAt = old.frameAt;
    return result;
  }
  let start;
  if (chosen !== null) start = chosen;
  else if (isSame) start = isNumber(at) ? backdropFrameAt(old, at) : index(old.currentFrame, frames.length) || 0;
  else start = 0;
  result.currentFrame = start;
  if (running && isNumber(at)) result.frameAt = at;
  return result;
}
