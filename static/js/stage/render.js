// Renders a stage's state into the DOM: a fixed-aspect stage scaled to its container, the
// backdrop image and colour, board objects (images, multi-frame, opacity, rotation, flip, text),
// speech bubbles that fade, who holds which avatar, and the curtain. Objects are positioned in
// stage units (x, y, w, h as fractions of the stage width, as the original client sends them),
// so every screen shows the same layout; a moveTo is a CSS transition over the object's moveSpeed.
// Every payload field is untrusted: URLs go through safeUrl, colours through safeColor, and
// only known words become class names.
import { h } from '../dom.js';
import { oneOf, safeColor, safeUrl } from '../safe.js';
import { BEHAVIORS, speechEnds } from './state.js';
import { fitBubble, refitBubble } from './bubble-fit.js';
import { BackdropFrames, CurtainView, animationsOf, bubbleEntrance, followFrames, setSrc } from './stage-animations.js';

export const DEFAULT_MOVE_SPEED = 2000;
const TEXT_REFERENCE_WIDTH = 1000; // a text object's fontSize is in px of a stage this wide

/** '16:9', {width, height} or nothing -> width / height. */
export function ratioOf(config) {
  const r = config?.ratio ?? config?.aspectRatio;
  if (r && typeof r === 'object' && r.width > 0 && r.height > 0) return r.width / r.height;
  const m = typeof r === 'string' ? r.match(/^(\d+(?:\.\d+)?)[:/](\d+(?:\.\d+)?)$/) : null;
  if (m && +m[2] > 0) return +m[1] / +m[2];
  return typeof r === 'number' && r > 0 ? r : 16 / 9;
}

/** Plain text of an HTML fragment (text objects carry HTML; it is never injected as markup). */
export function textOf(html) {
  if (typeof html !== 'string') return '';
  return new DOMParser().parseFromString(html, 'text/html').body.textContent ?? '';
}

const srcOf = (item) => safeUrl(typeof item === 'string' ? item : item?.src);
const OBJECT_TYPES = ['avatar', 'prop', 'text', 'video', 'stream', 'meeting', 'jitsi'];

/** A clip's body: muted (sound waits for the page's unlock) and inline on phones. */
function videoBody(obj) {
  const el = h('video', { class: 'face', playsinline: '', preload: 'auto', 'aria-label': String(obj.name ?? 'Video') });
  el.muted = true;
  return el;
}

export class StageView {
  /** `root` is the container to fill; `clock()` gives the hub's time in ms. */
  constructor(root, { ratio = 16 / 9, clock = () => Date.now(), animations = {} } = {}) {
    this.ratio = ratio;
    this.clock = clock;
    this.backdrop = h('img', { class: 'backdrop', alt: '', hidden: true });
    this.layer = h('div', { class: 'objects' });
    this.curtain = h('div', { class: 'curtain', hidden: true, 'aria-hidden': 'true' }, h('img', { alt: '' }));
    this.overlay = h('div', { class: 'overlay' });
    this.stage = h('div', { class: 'stage', role: 'region', 'aria-label': 'Stage' }, this.backdrop, this.layer, this.overlay, this.curtain);
    root.append(this.stage);
    this.configAnimations = animations; // the stage config's; the live state's win (stage-animations.js)
    this.animations = animationsOf(animations, null);
    this.backdropFrames = new BackdropFrames(this.backdrop, clock);
    this.curtainView = new CurtainView(this.curtain, this.stage);
    root.style.setProperty('--ratio', String(ratio)); // a phone sizes the stage area by it
    this.root = root;
    this.elements = new Map(); // id key -> {el, obj, timer}
    this.holders = new Map(); // avatar id -> nickname
    this.state = null;
    this.bubbleTimer = null;
    new ResizeObserver(() => this.fit()).observe(root);
    this.stage.addEventListener('stageresize', () => { for (const entry of this.elements.values()) refitBubble(entry.el, this.stage); });
    this.fit();
  }

  /** Scale the stage to the largest size with its aspect ratio that fits the container. */
  fit() {
    const { width, height } = this.root.getBoundingClientRect();
    const w = Math.max(1, Math.min(width, height > 0 ? height * this.ratio : width));
    this.stage.style.width = `${w}px`;
    this.stage.style.height = `${w / this.ratio}px`;
    this.stage.style.setProperty('--stage-w', `${w}px`);
    this.stage.dispatchEvent(new CustomEvent('stageresize', { detail: { width: w, height: w / this.ratio } }));
  }

  get width() { return this.stage.clientWidth || 1; }
  get height() { return this.stage.clientHeight || 1; }

  /** A client point as stage units (fractions of the stage width, as objects are stored). */
  toStage(clientX, clientY) {
    const r = this.stage.getBoundingClientRect();
    return { x: (clientX - r.left) / r.width, y: (clientY - r.top) / r.width };
  }

  setHolders(roster) {
    const list = Array.isArray(roster) ? roster : [];
    this.holders = new Map(list.filter((p) => p?.avatarId).map((p) => [String(p.avatarId), String(p.nickname ?? '')]));
    for (const entry of this.elements.values()) this.renderHolder(entry);
  }

  /** Show `state`; `animate` is false for a join or seek (jump), true for live events. */
  render(state, { animate = true } = {}) {
    const previous = this.state;
    this.state = state;
    if (!previous || state.background !== previous.background) this.renderBackground(state.background, animate);
    if (!previous || state.board !== previous.board) this.renderBoard(state.board, animate);
  }

  renderBackground(bg, animate = false) {
    this.stage.style.backgroundColor = safeColor(bg.backdropColor) || safeColor(bg.defaultColor);
    const src = srcOf(bg.backdrop);
    this.backdrop.hidden = !src;
    setSrc(this.backdrop, src);
    this.backdrop.style.opacity = Number(bg.backdrop?.opacity ?? 1);
    this.backdropFrames.render(bg.backdrop, animate);
    this.animations = animationsOf(this.configAnimations, bg.animations);
    this.stage.style.setProperty('--bubble-speed', `${this.animations.bubbleSpeed}ms`);
    this.curtainView.render(srcOf(bg.curtain), this.animations, animate);
  }

  renderBoard(board, animate) {
    const seen = new Set();
    board.objects.forEach((obj, index) => {
      const key = String(obj.id);
      seen.add(key);
      let entry = this.elements.get(key);
      if (!entry) {
        entry = this.create(obj);
        this.elements.set(key, entry);
        this.place(entry, obj, index, false);
      } else if (entry.obj !== obj || entry.index !== index) {
        this.place(entry, obj, index, animate);
      }
    });
    for (const [key, entry] of this.elements) {
      if (!seen.has(key)) {
        clearInterval(entry.timer);
        entry.el.remove();
        this.elements.delete(key);
      }
    }
    this.renderBubbles(board.speeches);
  }

  create(obj) {
    const el = h('div', { class: `obj ${oneOf(obj.type, OBJECT_TYPES, 'prop')}`, dataset: { id: String(obj.id) } });
    const body = obj.type === 'text' ? h('div', { class: 'text' })
      : obj.type === 'video' ? videoBody(obj) // played by VideoPlayer (video.js)
        : h('img', { class: 'face', alt: String(obj.name ?? ''), draggable: 'false' });
    el.append(body, h('div', { class: 'holder', hidden: true }));
    el.addEventListener('transitionend', (e) => e.target === el && refitBubble(el, this.stage)); // moved: keep its bubble inside
    this.layer.append(el);
    return { el, body, obj: null, index: -1, timer: null, frame: 0, link: null };
  }

  place(entry, obj, index, animate) {
    const { el, body } = entry;
    const k = this.ratio; // y and h are fractions of the width: as a fraction of the height, times ratio
    const speed = Number.isFinite(obj.moveSpeed) ? obj.moveSpeed : DEFAULT_MOVE_SPEED;
    el.style.transitionDuration = animate ? `${speed}ms` : '0ms';
    el.style.transitionTimingFunction = speed > 1000 ? 'linear' : 'ease';
    el.style.left = `${(obj.x ?? 0) * 100}%`;
    el.style.top = `${(obj.y ?? 0) * k * 100}%`;
    el.style.width = `${(obj.w ?? 0.1) * 100}%`;
    el.style.height = `${(obj.h ?? 0.1) * k * 100}%`;
    el.style.opacity = Number(obj.opacity ?? 1);
    el.style.transform = `rotate(${Number(obj.rotate) || 0}deg)`;
    el.style.zIndex = index + 1;
    el.classList.toggle('backstage', obj.backstage === true); // performers only: dimmed, marked (CSS)
    el.dataset.x = obj.x ?? 0;
    el.dataset.y = obj.y ?? 0;
    body.style.transform = `scale(${Number(obj.scaleX ?? 1)}, ${Number(obj.scaleY ?? 1)})`;
    if (obj.type === 'text') {
      body.textContent = textOf(obj.content ?? obj.name ?? '');
      const px = parseFloat(obj.fontSize) || 20;
      body.style.fontSize = `calc(var(--stage-w) * ${px / TEXT_REFERENCE_WIDTH})`;
      body.style.fontFamily = typeof obj.fontFamily === 'string' ? obj.fontFamily : '';
      body.style.color = safeColor(obj.color);
    } else if (!entry.timer || entry.obj?.src !== obj.src) {
      setSrc(body, srcOf(obj));
    }
    this.autoplay(entry, obj);
    this.renderLink(entry, obj);
    entry.obj = obj;
    entry.index = index;
    this.renderHolder(entry);
  }

  /** A multi-frame object shows the room's frame while it animates (stage-animations.js). */
  autoplay(entry, obj) {
    followFrames(entry, obj, this.clock);
  }

  /** A prop's `link {url, blank, effect}`: the audience clicks the prop to open it (http(s) only). */
  renderLink(entry, obj) {
    const url = safeUrl(obj.link?.url);
    if (!url) {
      entry.link?.remove();
      entry.link = null;
      return;
    }
    entry.link ??= h('a', { class: 'prop-link', rel: 'noopener noreferrer' });
    entry.link.href = url;
    entry.link.target = obj.link.blank === true ? '_blank' : '_self';
    entry.link.setAttribute('aria-label', `Open the link of ${obj.name ?? 'this prop'}`);
    entry.el.classList.toggle('link-effect', obj.link.effect === true);
    if (!entry.link.isConnected) entry.el.append(entry.link);
  }

  renderHolder(entry) {
    const label = entry.el.querySelector('.holder');
    const who = entry.obj ? this.holders.get(String(entry.obj.id)) : null;
    label.hidden = !who;
    label.textContent = who ? `▼ ${who}` : '';
  }

  /** Speech bubbles over their avatars, each removed when it has faded (1 s + 1 s a word). */
  renderBubbles(speeches) {
    clearTimeout(this.bubbleTimer);
    const now = this.clock();
    let next = Infinity;
    for (const [key, entry] of this.elements) {
      const speech = speeches[key];
      const ends = speech ? speechEnds(speech) : 0;
      let bubble = entry.el.querySelector('.bubble');
      if (!speech || ends <= now) {
        bubble?.remove();
        continue;
      }
      next = Math.min(next, ends);
      const s = speech.speak;
      const text = typeof s === 'string' ? s : String(s?.message ?? '');
      const behavior = oneOf(s?.behavior, BEHAVIORS, 'speak');
      if (!bubble) {
        bubble = h('div', { class: 'bubble', role: 'status' });
        entry.el.append(bubble);
      }
      bubble.className = `bubble ${behavior}`;
      bubbleEntrance(bubble, this.animations);
      bubble.textContent = text;
      fitBubble(bubble, this.stage);
    }
    if (next < Infinity) this.bubbleTimer = setTimeout(() => this.renderBubbles(this.state.board.speeches), next - now + 20);
  }
}
