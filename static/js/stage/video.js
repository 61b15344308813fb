// Video clips on the stage: each board object of type `video` is shown by the <video> the
// renderer made for it (render.js), kept at the room's position: the state's currentTime advanced
// to the hub's clock (videoAt), re-seeked when the element drifts more than a second from it,
// playing, paused and looping as the state says. Its sound obeys the page's sound unlock
// (AudioPlayer): muted until the user taps, while a muted clip still plays for the eye. A replay
// sets a `rate` (its speed): clips play that much faster, and are paused while it is paused.
// A clip the browser cannot load or decode says so in its tile instead of showing a broken box.
import { h } from '../dom.js';
import { isVideo, videoAt } from './state.js';

const DRIFT = 1.0; // seconds of difference before a playing element is re-positioned
const SETTLE = 0.05; // a paused element is put within this of the room's position
const MAX_RATE = 16; // the fastest playbackRate Chromium accepts
const TICK_MS = 500; // how often playing clips are checked against the clock
export const CANNOT_PLAY = 'This video cannot be played in this browser';

/** Distance between two positions; for a looping clip the shorter way round. */
function apart(a, b, loopLength) {
  const d = Math.abs(a - b);
  return loopLength > 0 ? Math.min(d, loopLength - d) : d;
}

export class VideoPlayer {
  /** `view` is the StageView (its elements hold the <video> bodies), `clock()` the hub's time in
   * ms, `sound` the AudioPlayer whose tap-to-unlock also unmutes clips. */
  constructor(view, clock, sound) {
    this.view = view;
    this.clock = clock;
    this.sound = sound;
    this.rate = 1;
    this.objects = [];
    this.timer = setInterval(() => this.sync(), TICK_MS);
    sound.onUnlock = () => this.sync();
  }

  /** Bring every clip in line with `board` (the state's board family), after the view rendered it. */
  render(board) {
    this.objects = board.objects.filter(isVideo);
    this.sync();
  }

  /** Play at `rate` times the normal speed (a replay's; 0 pauses every clip). */
  setRate(rate) {
    if (rate === this.rate) return;
    this.rate = rate;
    this.sync();
  }

  sync() {
    let audible = false;
    for (const obj of this.objects) {
      const entry = this.view.elements.get(String(obj.id));
      const el = entry?.body;
      if (!(el instanceof HTMLVideoElement)) continue;
      this.watch(entry);
      audible = this.follow(el, videoAt(obj, this.clock())) || audible;
    }
    this.sound.wantSound('video', audible);
  }

  /** One element to one clip's state; whether it is playing (so sound could be heard). */
  follow(el, clip) {
    el.loop = clip.loop === true;
    el.muted = !this.sound.unlocked || this.sound.muted;
    el.dataset.playing = String(clip.isPlaying === true);
    const known = Number.isFinite(el.duration) && el.duration > 0 ? el.duration : 0;
    let at = Number.isFinite(clip.currentTime) ? clip.currentTime : 0;
    if (known) at = el.loop ? at % known : Math.min(at, known);
    const running = clip.isPlaying === true && this.rate > 0 && this.rate <= MAX_RATE;
    if (!running) {
      if (!el.paused) el.pause();
      if (el.readyState > 0 && apart(el.currentTime, at, 0) > SETTLE) el.currentTime = at;
      return false;
    }
    el.playbackRate = this.rate;
    if (el.readyState > 0 && apart(el.currentTime, at, el.loop ? known : 0) > DRIFT) el.currentTime = at;
    if (el.paused && !(known && !el.loop && at >= known)) {
      el.play().catch((err) => {
        if (err?.name !== 'NotAllowedError' || el.muted) return;
        this.sound.unlocked = false; // as AudioPlayer does: sound waits for a tap on the button,
        el.muted = true; // and the picture need not wait
        el.play().catch(() => {});
      });
    }
    return true;
  }

  /** The first time an element is seen: seek it once its metadata is in, and show a clear
   * message in its tile when it cannot be played. */
  watch(entry) {
    const el = entry.body;
    if (el.dataset.watched) return;
    el.dataset.watched = 'true';
    const failed = (yes) => {
      entry.el.classList.toggle('video-failed', yes);
      if (!yes) entry.el.querySelector('.video-error')?.remove();
      else if (!entry.el.querySelector('.video-error')) entry.el.append(h('p', { class: 'video-error', role: 'status' }, CANNOT_PLAY));
    };
    el.addEventListener('loadedmetadata', () => this.sync());
    el.addEventListener('loadeddata', () => failed(false)); // a new src that works
    el.addEventListener('error', () => failed(true));
    if (el.error) failed(true);
  }

  /** Pause every clip until the next render (the stage closed to this page). */
  stopAll() {
    this.objects = [];
    this.sound.wantSound('video', false);
    for (const entry of this.view.elements.values()) if (entry.body instanceof HTMLVideoElement) entry.body.pause();
  }
}
