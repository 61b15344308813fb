// The stage's sound: one <audio> per track of the state (keyed like the state: id, or src), played
// at the position the room has reached (the state's currentTime advanced to the hub's clock).
// Browsers only play sound after a user gesture, so until the first tap anywhere a visible
// "Tap to hear sound" button is offered while something is playing. A replay sets a `rate`
// (its speed): tracks play that much faster, and are silent while the replay is paused (rate 0)
// or faster than browsers can play sound (16x). The master volume (`audio_master`) scales every
// track; a change with a `duration` fades to it over that many ms (as "Fade out all" does).
import { h } from '../dom.js';
import { safeUrl } from '../safe.js';
import { trackAt } from './state.js';

const DRIFT = 1.0; // seconds of difference before an already-playing element is re-positioned
const MAX_RATE = 16; // the fastest playbackRate Chromium accepts
const FADE_STEP = 50; // ms between volume steps of a master fade
const trackVolume = (track) => (Number.isFinite(track.volume) ? (track.volume > 1 ? track.volume / 100 : track.volume) : 1);

export class AudioPlayer {
  /** `clock()` is the hub's time in ms; the button goes into `buttonRoot`. */
  constructor(buttonRoot, clock) {
    this.clock = clock;
    this.players = new Map();
    this.audio = null;
    this.unlocked = false;
    this.muted = false; // a replay seek renders muted, then plays on
    this.rate = 1; // a replay's speed; 0 while it is paused
    this.wanted = new Set(); // other sound sources (video clips) playing: they need the button too
    this.playing = false;
    this.onUnlock = null; // told when sound is unlocked (video clips unmute)
    this.master = null; // the master volume applied now (between the old and new one during a fade)
    this.masterState = null; // the state's `audio.master` last seen, to notice a change
    this.fade = null; // the running fade's timer
    this.button = h('button', { type: 'button', class: 'tap-sound', hidden: true, onclick: () => this.unlock() }, '🔊 Tap to hear sound');
    buttonRoot.append(this.button);
    const first = () => this.unlock();
    document.addEventListener('pointerdown', first, { once: true });
    document.addEventListener('keydown', first, { once: true });
  }

  unlock() {
    if (this.unlocked) return;
    this.unlocked = true;
    this.button.hidden = true;
    if (this.audio) this.render(this.audio, true);
    this.onUnlock?.();
  }

  /** Another `source` of sound starts or stops playing: offer the button while any does. */
  wantSound(source, on) {
    if (on) this.wanted.add(source);
    else this.wanted.delete(source);
    this.button.hidden = this.unlocked || !(this.playing || this.wanted.size);
  }

  element(key, track) {
    let el = this.players.get(key);
    if (!el) {
      el = new Audio();
      el.preload = 'auto';
      this.players.set(key, el);
    }
    const src = safeUrl(track.src);
    if (src && el.getAttribute('src') !== src) el.src = src;
    return el;
  }

  /** Bring every player in line with `audio` (the state's audio family). */
  render(audio, force = false) {
    if (audio === this.audio && !force) return;
    this.audio = audio;
    this.followMaster(audio.master);
    const master = this.master;
    let playing = false;
    for (const [key, stored] of Object.entries(audio.tracks)) {
      const track = trackAt(stored, this.clock());
      const el = this.element(key, track);
      el.loop = track.loop === true;
      el.trackVolume = trackVolume(track);
      el.volume = Math.min(Math.max(el.trackVolume * master, 0), 1);
      el.dataset.playing = String(track.isPlaying === true);
      if (track.isPlaying === true && !this.muted && this.rate > 0 && this.rate <= MAX_RATE) {
        playing = true;
        el.playbackRate = this.rate;
        if (!this.unlocked) continue;
        const at = Number.isFinite(el.duration) && el.duration > 0 && el.loop ? track.currentTime % el.duration : track.currentTime;
        if (el.paused || Math.abs(el.currentTime - at) > DRIFT) el.currentTime = at;
        if (el.paused) el.play().catch(() => { this.unlocked = false; this.button.hidden = false; });
      } else {
        el.pause();
        if (track.saken || track.currentTime === 0) el.currentTime = track.currentTime;
      }
    }
    for (const [key, el] of this.players) {
      if (!(key in audio.tracks)) {
        el.pause();
        this.players.delete(key);
      }
    }
    this.playing = playing;
    this.button.hidden = this.unlocked || !(playing || this.wanted.size);
  }

  /** The next master volume applies at once (a join or a replay seek shows a state, not a change). */
  jump() {
    this.masterState = null;
  }

  /** Take a new master volume: at once (a join, a seek, `duration` 0), or faded over `duration` ms. */
  followMaster(state) {
    if (state === this.masterState) return;
    const first = this.masterState === null;
    this.masterState = state;
    const target = Number.isFinite(state?.volume) ? Math.min(Math.max(state.volume, 0), 1) : 1;
    const duration = (Number.isFinite(state?.duration) ? state.duration : 0) / (this.rate > 1 ? this.rate : 1); // a replay's speed shortens it
    clearInterval(this.fade);
    this.fade = null;
    if (first || duration <= 0 || this.muted) {
      this.master = target;
      return;
    }
    const from = this.master;
    const started = performance.now();
    this.fade = setInterval(() => {
      const done = Math.min((performance.now() - started) / duration, 1);
      this.master = from + (target - from) * done;
      for (const el of this.players.values()) el.volume = Math.min(Math.max((el.trackVolume ?? 1) * this.master, 0), 1);
      if (done >= 1) { clearInterval(this.fade); this.fade = null; }
    }, FADE_STEP);
  }

  /** Play at `rate` times the normal speed (a replay's speed; 0 pauses every track). */
  setRate(rate) {
    if (rate === this.rate) return;
    this.rate = rate;
    if (this.audio) this.render(this.audio, true);
  }

  /** Where a track's element is now (seconds), for a performer pausing it at that point. */
  position(key) {
    return this.players.get(key)?.currentTime ?? 0;
  }

  stopAll() {
    for (const el of this.players.values()) el.pause();
  }
}
