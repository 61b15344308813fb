// What moves on the stage by itself: multi-frame objects and backdrops stepping through their
// frames on the hub clock (the frame comes from frames.js, so every screen shows the same one),
// the backdrop's crossfade between frames, the curtain closing and opening with the stage's
// curtain animation and speed, and how speech bubbles appear (the stage's bubble animation).
// The animations are the stage config's `animations` (studio) overridden by the live state's
// `background.animations` (the toolbox's `setAnimations`).
import { h } from '../dom.js';
import { oneOf, safeUrl } from '../safe.js';
import { backdropFrameAt, backdropPeriod, frameList, loops, objectFrameAt, objectRunning } from './frames.js';

export const BUBBLE_ANIMATIONS = ['fade', 'bounce', 'none'];
export const CURTAIN_ANIMATIONS = ['drop', 'fade', 'close', 'none'];
export const DEFAULT_ANIMATIONS = Object.freeze({ bubble: 'fade', curtain: 'drop', bubbleSpeed: 300, curtainSpeed: 2000 });
const MIN_FRAME_MS = 40; // faster frames are skipped, not drawn: a hostile speed cannot spin the page
const MAX_WAIT_MS = 250; // a replay's clock may run fast: look again at least this often
const MAX_SPEED_MS = 10_000;

const speedOf = (v, fallback) => (typeof v === 'number' && Number.isFinite(v) ? Math.min(Math.max(v, 0), MAX_SPEED_MS) : fallback);

/** The stage's animations: the live ones over the config's over the defaults, each value checked. */
export function animationsOf(config, live) {
  const pick = (key) => (live && typeof live === 'object' && key in live ? live[key] : config?.[key]);
  return {
    bubble: oneOf(pick('bubble'), BUBBLE_ANIMATIONS, DEFAULT_ANIMATIONS.bubble),
    curtain: oneOf(pick('curtain'), CURTAIN_ANIMATIONS, DEFAULT_ANIMATIONS.curtain),
    bubbleSpeed: speedOf(pick('bubbleSpeed'), DEFAULT_ANIMATIONS.bubbleSpeed),
    curtainSpeed: speedOf(pick('curtainSpeed'), DEFAULT_ANIMATIONS.curtainSpeed),
  };
}

/** Set an image's `src` only when it changes (no reload, no flicker). */
export const setSrc = (img, src) => {
  if (src && img.getAttribute('src') !== src) img.src = src;
};

/** Ms until `period`-long steps counted from `since` reach the next one (now is `now`). */
const untilNext = (now, since, period) => {
  const elapsed = now - since;
  return elapsed < 0 ? -elapsed : period - (elapsed % period);
};

/**
 * Keep a board object's face on the room's frame (objectFrameAt on the hub clock) while it
 * animates; `entry.timer` is the pending look. Called on every render of the object.
 */
export function followFrames(entry, obj, clock) {
  const was = entry.timer !== null;
  clearTimeout(entry.timer);
  entry.timer = null;
  if (!objectRunning(obj)) {
    if (was && entry.body instanceof HTMLImageElement) setSrc(entry.body, safeUrl(obj.src));
    return;
  }
  const period = Math.max(obj.autoplayFrames, MIN_FRAME_MS);
  const frames = frameList(obj.frames);
  const look = () => {
    const now = clock();
    const src = objectFrameAt(obj, now);
    setSrc(entry.body, safeUrl(src));
    entry.body.dataset.frame = String(frames.indexOf(src));
    const ended = !loops(obj) && src === frames[frames.length - 1] && now >= obj.framesAt;
    entry.timer = ended ? null : setTimeout(look, Math.min(untilNext(now, obj.framesAt, period), MAX_WAIT_MS) + 5);
  };
  look();
}

/** The backdrop's frames: the room's frame on the hub clock, each new one faded in over `speed` s. */
export class BackdropFrames {
  constructor(img, clock) {
    this.img = img;
    this.clock = clock;
    this.under = h('img', { class: 'backdrop-under', alt: '', hidden: true });
    img.before(this.under);
    this.timer = null;
    this.index = -1;
  }

  /** Show `bg` (the state's backdrop); `animate` false jumps to the frame without a fade. */
  render(bg, animate) {
    clearTimeout(this.timer);
    this.timer = null;
    const frames = frameList(bg?.frames)?.map((f) => safeUrl(f));
    if (!frames) {
      this.index = -1;
      this.under.hidden = true;
      delete this.img.dataset.frame;
      return;
    }
    if (!animate) this.index = -1;
    const period = backdropPeriod(bg);
    const fade = Math.min(Number(bg.speed) * 1000 || 0, period);
    const look = () => {
      const now = this.clock();
      const index = backdropFrameAt(bg, now);
      if (index !== this.index) this.show(frames, index, fade, Number(bg.opacity ?? 1));
      if (period > 0 && typeof bg.frameAt === 'number') {
        const ended = !loops(bg) && index === frames.length - 1 && now >= bg.frameAt;
        if (!ended) this.timer = setTimeout(look, Math.min(untilNext(now, bg.frameAt, Math.max(period, MIN_FRAME_MS)), MAX_WAIT_MS) + 5);
      }
    };
    look();
  }

  show(frames, index, fade, opacity) {
    const previous = this.index >= 0 ? frames[this.index] : null;
    this.index = index;
    this.img.dataset.frame = String(index);
    if (!frames[index]) return;
    if (previous && fade > 0) {
      setSrc(this.under, previous);
      this.under.hidden = false;
      this.under.style.opacity = String(opacity);
      setSrc(this.img, frames[index]);
      this.img.animate([{ opacity: 0 }, { opacity }], { duration: fade }).finished.then(() => { this.under.hidden = true; }, () => {});
    } else {
      this.under.hidden = true;
      setSrc(this.img, frames[index]);
    }
  }
}

/** Curtain keyframes, closing, for each animation: [element, keyframes] pairs. */
function curtainMoves(kind, whole, left, right) {
  if (kind === 'drop') return [[whole, [{ transform: 'translateY(-100%)' }, { transform: 'translateY(0)' }]]];
  if (kind === 'fade') return [[whole, [{ opacity: 0 }, { opacity: 1 }]]];
  if (kind === 'close') {
    return [[left, [{ transform: 'translateX(-50%)' }, { transform: 'translateX(0)' }]], [right, [{ transform: 'translateX(50%)' }, { transform: 'translateX(0)' }]]];
  }
  return [];
}

/** The curtain: closes (drawn) and opens with the stage's curtain animation and speed. */
export class CurtainView {
  /** `el` is the view's curtain element (a div holding one img). */
  constructor(el, stage) {
    this.el = el;
    this.stage = stage;
    this.left = el.firstChild;
    this.left.classList.add('curtain-left');
    this.right = h('img', { alt: '', class: 'curtain-right', hidden: true });
    el.append(this.right);
    this.src = null;
    this.running = [];
  }

  /** Show `src` (null: open) the way `animations` says; `animate` false (a join, a seek) jumps. */
  render(src, animations, animate) {
    if (src === this.src) return;
    const closing = Boolean(src);
    for (const a of this.running) a.cancel();
    this.running = [];
    const kind = animate ? animations.curtain : 'none';
    const duration = animations.curtainSpeed;
    const split = kind === 'close';
    this.el.classList.toggle('split', split);
    this.right.hidden = !split;
    if (closing) {
      setSrc(this.left, src);
      setSrc(this.right, src);
    }
    this.src = src;
    this.stage.classList.toggle('curtain-drawn', closing);
    this.el.dataset.state = closing ? 'closing' : 'opening';
    this.el.hidden = false;
    const moves = kind === 'none' || duration <= 0 ? [] : curtainMoves(kind, this.el, this.left, this.right);
    this.running = moves.map(([el, frames]) => el.animate(closing ? frames : [...frames].reverse(), { duration, easing: 'ease-in-out', fill: 'forwards' }));
    const done = () => {
      if (this.src !== src) return;
      this.el.dataset.state = closing ? 'closed' : 'open';
      this.el.hidden = !closing;
      for (const a of this.running) a.cancel();
      this.running = [];
    };
    if (!this.running.length) done();
    else Promise.all(this.running.map((a) => a.finished)).then(done, () => {});
  }
}

/** A bubble's entrance class for the stage's bubble animation (its speed is the stage's --bubble-speed). */
export function bubbleEntrance(bubble, animations) {
  for (const kind of BUBBLE_ANIMATIONS) bubble.classList.toggle(`enter-${kind}`, kind === animations.bubble);
}
