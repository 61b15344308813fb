// The replay page's extra controls (used by replay.js): the event-density bar under the timeline
// (the hub's `density` from the replay ack: events in each slice of the performance; pressing it
// seeks there), exact 10 s skips clamped to the performance, keyboard shortcuts (Space play/pause,
// ←/→ skip 10 s, +/− speed, L loop; not while typing) and controls that hide after a few seconds
// without pointer movement while the replay plays (or on Escape), and come back on movement, a tap,
// another key or focus.
import { h } from '../dom.js';
import { typing } from './keys.js';

export const SKIP_MS = 10_000;
export const HIDE_MS = 3000;
export const SKIP_SETTLE_MS = 150; // skips within this add up to one seek (replay calls are rate limited)

/** Where a skip of `delta` ms from `position` lands: never before the start or past the end. */
export const skipTarget = (position, delta, duration) => Math.min(Math.max(Math.round(position + delta), 0), duration);

/** Fill `root` with one bar per slice, as tall as its share of the busiest slice. `seek(fraction)` on a press. */
export function showDensity(root, density, seek) {
  const counts = Array.isArray(density) ? density.filter((n) => Number.isInteger(n) && n >= 0) : [];
  const most = Math.max(1, ...counts);
  root.replaceChildren(...counts.map((n) => h('span', { class: n ? 'slice' : 'slice empty', style: { height: `${Math.max(n ? 8 : 0, (100 * n) / most)}%` } })));
  root.hidden = counts.length === 0;
  root.onpointerdown = (e) => {
    const box = root.getBoundingClientRect();
    if (box.width > 0) seek(Math.min(Math.max((e.clientX - box.left) / box.width, 0), 1));
  };
}

/** Keyboard shortcuts; `actions` has play (toggle), skip(delta), speed(step), loop(). */
export function shortcuts(actions) {
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    const onButton = e.target instanceof Element && e.target.matches('button, input[type=checkbox]');
    const run = {
      ' ': onButton ? null : () => actions.play(),
      ArrowLeft: () => actions.skip(-SKIP_MS),
      ArrowRight: () => actions.skip(SKIP_MS),
      '+': () => actions.speed(1), '=': () => actions.speed(1),
      '-': () => actions.speed(-1), _: () => actions.speed(-1),
      l: () => actions.loop(), L: () => actions.loop(),
    }[e.key];
    if (!run) return;
    e.preventDefault();
    run();
  });
}

/** Hide `body`'s controls (class `controls-hidden`) after HIDE_MS without a pointer move, tap,
 * key or focus while `playing()`, or at once on Escape; returns `wake`, to call when playback changes. */
export function autoHide(playing, delay = HIDE_MS) {
  let timer = null;
  const wake = (e) => {
    clearTimeout(timer);
    if (e?.type === 'keydown' && e.key === 'Escape') { // the original's key: hide them now
      document.body.classList.add('controls-hidden');
      return;
    }
    document.body.classList.remove('controls-hidden');
    if (playing()) timer = setTimeout(() => { if (playing()) document.body.classList.add('controls-hidden'); }, delay);
  };
  for (const name of ['pointermove', 'pointerdown', 'keydown', 'focusin', 'touchstart']) document.addEventListener(name, wake, { passive: true });
  return wake;
}
