// The toolbox's animation controls (performers only): a multi-frame object's next frame, frame
// speed and loop (one `toggleAutoplayFrames` with the whole object); the backdrop's opacity
// (throttled to one `changeBackground` per 100 ms while the slider moves, as the original) and,
// for a multi-frame backdrop, its speed and loop; and the stage's bubble and curtain animations
// and speeds (`background setAnimations`). Each is a publish; the page shows it on the echo.
import { h } from '../dom.js';
import { frameList, objectFrameAt } from './frames.js';
import { BUBBLE_ANIMATIONS, CURTAIN_ANIMATIONS, animationsOf } from './stage-animations.js';

const OPACITY_EVERY_MS = 100;
const FRAME_SPEEDS = [[0, 'Stopped'], [100, '0.1 s'], [200, '0.2 s'], [500, '0.5 s'], [1000, '1 s'], [2000, '2 s']];
const BACKDROP_SPEEDS = [[0, 'Paused'], [0.5, '0.5 s'], [1, '1 s'], [2, '2 s'], [5, '5 s']];
const ANIMATION_SPEEDS = [[0, 'Instant'], [300, '0.3 s'], [1000, '1 s'], [2000, '2 s'], [4000, '4 s']];

const options = (pairs, current) => pairs.map(([value, label]) => h('option', { value, selected: Number(value) === Number(current) || value === current }, label));
const choice = (label, pairs, current, onchange) => {
  const select = h('select', { 'aria-label': label, onchange: () => onchange(select.value) }, options(pairs, current));
  if (![...select.options].some((o) => o.selected)) select.prepend(h('option', { value: current, selected: true }, String(current)));
  return select;
};
const check = (label, checked, onchange) => {
  const box = h('input', { type: 'checkbox', checked, 'aria-label': label, onchange: () => onchange(box.checked) });
  return h('label', { class: 'inline' }, box, label);
};

/** `fn` at most once every `ms` (the last call always runs). */
export function throttle(fn, ms) {
  let last = 0;
  let pending = null;
  let args = null;
  return (...a) => {
    args = a;
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      clearTimeout(pending); // a late timer must not send the same moment twice
      pending = null;
      last = Date.now();
      fn(...args);
    } else if (!pending) {
      pending = setTimeout(() => {
        pending = null;
        last = Date.now();
        fn(...args);
      }, wait);
    }
  };
}

/** The selected multi-frame object's frame controls; `act(type, extra)` publishes the object with `extra`. */
export function frameControls(obj, act, clock) {
  const frames = frameList(obj.frames);
  if (!frames) return '';
  const every = Number(obj.autoplayFrames) || 0;
  const loop = obj.frameLoop !== false;
  const next = () => {
    const shown = objectFrameAt(obj, clock());
    act('switchFrame', { src: frames[(frames.indexOf(shown) + 1) % frames.length] });
  };
  return h('div', { class: 'frame-tools', role: 'group', 'aria-label': 'Frames' },
    h('button', { type: 'button', class: 'secondary', onclick: next }, 'Next frame'),
    h('label', {}, 'Frame speed', choice('Frame speed', FRAME_SPEEDS, every, (v) => act('toggleAutoplayFrames', { autoplayFrames: Number(v), frameLoop: loop }))),
    check('Loop frames', loop, (on) => act('toggleAutoplayFrames', { autoplayFrames: every, frameLoop: on })));
}

/** The Backdrop and Animations groups of the toolbox, kept in step with the state. */
export class LookTools {
  constructor(page, group) {
    this.page = page;
    this.framesSlot = h('div', { class: 'frame-tools' });
    this.noBackdrop = h('p', { class: 'muted' }, 'No backdrop: pick one from Backdrops.');
    this.animationRoot = h('div', { class: 'animation-tools' });
    this.opacity = h('input', { type: 'range', min: 0, max: 1, step: 0.05, value: 1, 'aria-label': 'Backdrop opacity' });
    const send = throttle((value) => this.changeBackdrop({ opacity: value }), OPACITY_EVERY_MS);
    this.opacity.addEventListener('input', () => send(Number(this.opacity.value)));
    // built once: re-inserting the slider would end a drag in progress
    const backdropRoot = h('div', { class: 'backdrop-tools' }, h('label', {}, 'Opacity', this.opacity), this.framesSlot, this.noBackdrop);
    this.panel = h('div', {}, group('Backdrop', backdropRoot), group('Animations', this.animationRoot));
    this.update();
  }

  /** Publish the current backdrop with `changes` (a new `at`: the hub stamps its own anyway). */
  changeBackdrop(changes) {
    const backdrop = this.page.state.background.backdrop;
    if (!backdrop) return null;
    return this.page.publish('background', { type: 'changeBackground', background: { ...backdrop, ...changes, at: Date.now() } });
  }

  setAnimations(changes) {
    return this.page.publish('background', { type: 'setAnimations', animations: changes });
  }

  /** Rebuild from the state (after a background event); the slider is not rebuilt while it is used. */
  update() {
    const bg = this.page.state.background;
    const backdrop = bg.backdrop;
    if (document.activeElement !== this.opacity) this.opacity.value = String(backdrop?.opacity ?? 1);
    this.opacity.disabled = !backdrop;
    const frames = frameList(backdrop?.frames);
    const loop = backdrop?.frameLoop !== false;
    this.noBackdrop.hidden = Boolean(backdrop);
    this.framesSlot.replaceChildren(...(frames ? [
      h('label', {}, 'Backdrop speed', choice('Backdrop speed', BACKDROP_SPEEDS, Number(backdrop.speed) || 0, (v) => this.changeBackdrop({ speed: Number(v), frameLoop: loop }))),
      check('Loop backdrop', loop, (on) => this.changeBackdrop({ frameLoop: on }))] : []));
    const a = animationsOf(this.page.view.configAnimations, bg.animations);
    this.animationRoot.replaceChildren(
      h('label', {}, 'Bubbles', choice('Bubble animation', BUBBLE_ANIMATIONS.map((k) => [k, k]), a.bubble, (v) => this.setAnimations({ bubble: v }))),
      h('label', {}, 'Bubble speed', choice('Bubble speed', ANIMATION_SPEEDS, a.bubbleSpeed, (v) => this.setAnimations({ bubbleSpeed: Number(v) }))),
      h('label', {}, 'Curtain', choice('Curtain animation', CURTAIN_ANIMATIONS.map((k) => [k, k]), a.curtain, (v) => this.setAnimations({ curtain: v }))),
      h('label', {}, 'Curtain speed', choice('Curtain speed', ANIMATION_SPEEDS, a.curtainSpeed, (v) => this.setAnimations({ curtainSpeed: Number(v) }))));
  }
}
