// The toolbox's "Audio" group (performers only, imported by toolbox.js): a row per audio track of
// the stage (play, pause, stop, loop, its volume, and whether it plays now), the master volume and
// "Fade out all", and the keys 1-9 that start or pause the first nine tracks. Every control is a
// publish (`audio` with the whole track item, `audio_master`); the rows show the state's track as
// it is now by the hub clock, so a track that ended (not looping) shows stopped without anyone
// sending a stop: each `audio` carries the track's `duration` from its metadata, and the hub and
// every page stop it there (`trackAt`), so a late joiner sees it stopped too.
import { h } from '../dom.js';
import { safeUrl } from '../safe.js';
import { typing } from './keys.js';
import { trackAt } from './state.js';
import { absolute, button } from './toolbox.js';

export const FADE_MS = 3000; // "Fade out all", as the original
const TICK_MS = 250; // how often the rows look at the clock (a track ending shows within this)
const STATUS = { playing: 'Playing', paused: 'Paused', stopped: 'Stopped' };

/** A volume slider (0..1) that publishes on release; `value` is what the state holds. */
function volumeSlider(label, value, onchange) {
  const el = h('input', { type: 'range', min: 0, max: 1, step: 0.05, value, 'aria-label': label });
  el.addEventListener('change', () => onchange(Number(el.value)));
  return el;
}

export class AudioTools {
  constructor(toolbox) {
    this.toolbox = toolbox;
    this.page = toolbox.page;
    this.rows = []; // {media, key, row, status, loop, volume, probe}
    this.fading = null;
    this.master = volumeSlider('Master volume', 1, (volume) => this.page.publish('audio_master', { volume, duration: 0 }));
    this.fadeButton = button('Fade out all', () => this.fadeOutAll(), { class: 'secondary fade-all' });
    this.onKey = (e) => this.key(e);
    document.addEventListener('keydown', this.onKey);
    this.ticker = setInterval(() => this.update(), TICK_MS);
  }

  /** Stop listening (the toolbox went away). */
  destroy() {
    document.removeEventListener('keydown', this.onKey);
    clearInterval(this.ticker);
    clearTimeout(this.fading);
  }

  /** The Audio group for the stage's audio media, in toolbar order. */
  group(media) {
    this.rows = media.map((m) => this.row(m));
    const section = h('section', { class: 'tool-group audio-tools', 'aria-label': 'Audio' }, h('h3', {}, 'Audio'),
      h('div', { class: 'row audio-master' }, h('label', {}, 'Master volume', this.master), this.fadeButton),
      ...this.rows.map((r) => r.row),
      this.rows.length ? h('p', { class: 'muted hint' }, 'Keys 1–9 play or pause the first nine tracks.') : h('p', { class: 'muted' }, 'No audio on this stage.'));
    this.update();
    return section;
  }

  /** The state's track for a row, as it is now by the hub clock. */
  track(key) {
    const stored = this.page.state.audio.tracks[key];
    return stored ? trackAt(stored, this.page.view.clock()) : null;
  }

  row(media) {
    const key = String(media.id);
    const probe = new Audio(); // metadata only: the track's duration, sent with every change
    probe.preload = 'metadata';
    probe.src = safeUrl(media.url) ?? '';
    const item = { media, key, probe };
    const send = (change) => this.send(item, change);
    item.loop = h('input', { type: 'checkbox', 'aria-label': `Loop ${media.name}` });
    item.loop.addEventListener('change', () => send({ loop: item.loop.checked }));
    item.volume = volumeSlider(`Volume ${media.name}`, 1, (volume) => send({ volume }));
    item.status = h('span', { class: 'track-status', dataset: { state: 'stopped' } }, STATUS.stopped);
    probe.addEventListener('loadedmetadata', () => { item.row.dataset.duration = String(probe.duration); });
    item.row = h('div', { class: 'row audio-row', dataset: { track: key } }, h('span', { class: 'name' }, media.name), item.status,
      button('Play', () => this.play(item), { 'aria-label': `Play ${media.name}` }),
      button('Pause', () => this.pause(item), { 'aria-label': `Pause ${media.name}` }),
      button('Stop', () => send({ isPlaying: false, currentTime: 0, saken: true }), { 'aria-label': `Stop ${media.name}` }),
      h('label', { class: 'inline' }, item.loop, 'Loop'), h('label', { class: 'inline volume' }, 'Vol', item.volume));
    return item;
  }

  /** Publish the whole track item with `change` (its duration when the metadata told it). */
  send(item, change) {
    const { media, probe } = item;
    const duration = Number.isFinite(probe.duration) && probe.duration > 0 ? { duration: probe.duration } : {};
    return this.page.publish('audio', { id: media.id, name: media.name, type: 'audio', src: absolute(media.url), loop: item.loop.checked, ...duration, ...change });
  }

  /** Where a track is now: its element's position while that plays, else the room's (hub clock). */
  position(item) {
    const el = this.page.audio.players.get(item.key);
    return el && !el.paused ? el.currentTime : this.track(item.key)?.currentTime ?? 0;
  }

  play(item) {
    return this.send(item, { isPlaying: true, currentTime: this.position(item), saken: true });
  }

  pause(item) {
    return this.send(item, { isPlaying: false, currentTime: this.position(item), saken: true });
  }

  /** Fade the master to 0 over 3 s, then stop each playing track and put the master back to 1. */
  fadeOutAll() {
    if (this.fading !== null) return;
    this.fadeButton.disabled = true;
    this.page.publish('audio_master', { volume: 0, duration: FADE_MS });
    this.fading = setTimeout(async () => {
      for (const item of this.rows) {
        if (this.track(item.key)?.isPlaying) await this.send(item, { isPlaying: false, currentTime: 0, saken: true });
      }
      await this.page.publish('audio_master', { volume: 1, duration: 0 });
      this.fading = null;
      this.fadeButton.disabled = false;
    }, FADE_MS);
  }

  /** Keys 1-9: play or pause the first nine tracks (not while typing, not with a modifier). */
  key(e) {
    if (!this.toolbox.panel.isConnected || e.ctrlKey || e.metaKey || e.altKey || e.repeat || !/^[1-9]$/.test(e.key) || typing(e)) return;
    const item = this.rows[Number(e.key) - 1];
    if (!item) return;
    e.preventDefault();
    if (this.track(item.key)?.isPlaying) this.pause(item);
    else this.play(item);
  }

  /** Show each track as the state has it now, and the master volume (not a slider being moved). */
  update() {
    const audio = this.page.state?.audio;
    if (!audio || !this.toolbox.panel.isConnected) return;
    for (const item of this.rows) {
      const track = this.track(item.key);
      const now = !track ? 'stopped' : track.isPlaying ? 'playing' : track.currentTime > 0 ? 'paused' : 'stopped';
      if (item.status.dataset.state !== now) {
        item.status.dataset.state = now;
        item.status.textContent = STATUS[now];
        item.row.dataset.state = now;
      }
      if (track && document.activeElement !== item.loop) item.loop.checked = track.loop === true;
      if (track && Number.isFinite(track.volume) && document.activeElement !== item.volume) item.volume.value = String(track.volume > 1 ? track.volume / 100 : track.volume);
    }
    if (document.activeElement !== this.master) this.master.value = String(audio.master?.volume ?? 1);
  }
}
