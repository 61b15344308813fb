// Live stream tiles (docs/streaming.md): a board object `{type: "stream", name, hostId}` shows the
// stage's stream `name` (state.streams, from the hub's `stream` events) as a muted inline video
// fed by hls.js (/vendor/, loaded on first use), or by the browser itself where it plays HLS
// natively where Media Source Extensions are missing (older iOS Safari). While the stream is not live the tile says "Stream stopped", and it
// plays again when the stream comes back. A viewer whose tile stalls while live (no progress for
// STALL_MS) reports `stream_health {hostId, objectId, frozen}`; the host performer (the session
// that placed the tile) gets those reports and sees "Frozen for N viewers" on the tile.
import { h } from '../dom.js';
import { safeUrl } from '../safe.js';

export const STALL_MS = 3000;
const START_GRACE_MS = 4000; // the first segment takes a moment to arrive
const RETRY_MS = 1000;
const HLS_URL = '/vendor/hls.light.min.mjs';
const HLS_CONFIG = { workerPath: '/vendor/hls.worker.js', lowLatencyMode: true, liveSyncDurationCount: 2, maxLiveSyncPlaybackRate: 1.5, backBufferLength: 10 };
let hlsLoading = null;
const loadHls = () => (hlsLoading ??= import(HLS_URL).then((m) => m.default));

/** A stream's playback URL with `{host}` as this page's host; null unless http(s). */
export function playbackUrl(stream) {
  if (typeof stream?.url !== 'string') return null;
  return safeUrl(withHost(stream.url));
}

/** Stream key lifetimes offered in the toolbox and backstage: [seconds, label]. */
export const KEY_EXPIRIES = [[3600, '1 hour'], [6 * 3600, '6 hours'], [24 * 3600, '24 hours'], [7 * 24 * 3600, '7 days']];
/** A publish or playback URL with `{host}` as this page's host. */
export const withHost = (text) => String(text).replaceAll('{host}', location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname);

/** This tab's session (connection.js keeps it), which performers put on the tiles they place. */
export const mySession = () => sessionStorage.getItem('upstage.session');

/** One tile's player: attaches and detaches hls.js as the stream comes and goes. */
class Player {
  constructor(entry, tiles) {
    this.tiles = tiles;
    this.video = h('video', { class: 'face stream-video', muted: true, playsinline: true, autoplay: true, 'aria-label': 'Live stream' });
    this.video.muted = true; // the property, not only the attribute: autoplay needs it
    this.status = h('p', { class: 'stream-status', role: 'status' });
    this.health = h('p', { class: 'stream-health', hidden: true });
    entry.el.append(h('div', { class: 'stream-tile' }, this.video, this.status, this.health));
    this.el = entry.el;
    this.url = null;
    this.hls = null;
    this.frozen = false;
    this.lastTime = 0;
    this.lastProgress = 0;
    this.retry = null;
  }

  /** Follow the tile's object and its stream: play while live, say so when not. */
  update(obj, stream) {
    this.obj = obj;
    const url = stream?.live ? playbackUrl(stream) : null;
    if (this.tiles.replay) return this.say('A live stream played here');
    if (!url) {
      this.detach();
      return this.say(stream ? 'Stream stopped' : 'Waiting for the stream…');
    }
    if (url !== this.url) this.attach(url);
  }

  say(text) {
    this.status.textContent = text;
    this.status.hidden = !text;
    this.el.classList.toggle('stream-off', Boolean(text));
  }

  async attach(url) {
    this.detach();
    this.url = url;
    this.say('Starting…');
    this.lastProgress = Date.now() + START_GRACE_MS;
    const video = this.video;
    const Hls = await loadHls().catch(() => null);
    if (this.url !== url) return;
    if (Hls?.isSupported()) {
      const hls = new Hls(HLS_CONFIG);
      this.hls = hls;
      hls.on(Hls.Events.ERROR, (_, data) => {
        if (data.fatal && this.hls === hls) this.again(url); // the playlist may not be written yet
      });
      hls.loadSource(url);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = url; // Safari and iOS without Media Source Extensions play HLS themselves
    } else {
      return this.say('This browser cannot play live streams');
    }
    video.play().catch(() => {});
  }

  /** After a fatal error: start again in a moment if the stream is still this one. */
  again(url) {
    this.detach();
    this.url = url;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => { if (this.url === url) { this.url = null; this.attach(url); } }, RETRY_MS);
  }

  detach() {
    clearTimeout(this.retry);
    this.hls?.destroy();
    this.hls = null;
    if (this.url !== null) {
      this.video.removeAttribute('src');
      this.video.load();
    }
    this.url = null;
    this.report(false);
  }

  /** Called every second: a live tile whose video does not advance is frozen (reported once). */
  check(now) {
    if (this.url === null) return;
    const t = this.video.currentTime;
    if (t !== this.lastTime) {
      this.lastTime = t;
      this.lastProgress = Math.max(this.lastProgress, now);
      if (t > 0) this.say('');
      this.report(false);
    } else if (now - this.lastProgress > STALL_MS) {
      this.report(true);
    }
  }

  report(frozen) {
    if (frozen === this.frozen) return;
    this.frozen = frozen;
    const hostId = this.obj?.hostId;
    if (typeof hostId === 'string' && hostId !== mySession()) this.tiles.publish('stream_health', { hostId, objectId: this.obj.id, frozen });
  }

  /** The host's view: how many viewers say this tile is frozen. */
  showHealth(count) {
    this.health.hidden = count === 0;
    this.health.textContent = count ? `Frozen for ${count} viewer${count === 1 ? '' : 's'}` : '';
  }

  destroy() {
    this.detach();
    this.el.querySelector('.stream-tile')?.remove();
  }
}

/** Every stream tile on a stage screen; `render(state)` after each view render. */
export class StreamTiles {
  constructor(view, { publish }) {
    this.view = view;
    this.publish = (topic, payload) => Promise.resolve(publish(topic, payload)).catch(() => {});
    this.replay = location.pathname.startsWith('/replay/'); // a replay never plays today's streams
    this.players = new Map(); // object id key -> Player
    this.frozen = new Map(); // object id key -> Set of viewer sessions
    this.timer = setInterval(() => { const now = Date.now(); for (const p of this.players.values()) p.check(now); }, 1000);
  }

  render(state) {
    const streams = state.streams ?? {};
    const seen = new Set();
    for (const [key, entry] of this.view.elements) {
      if (entry.obj?.type !== 'stream') continue;
      seen.add(key);
      let player = this.players.get(key);
      if (!player || !player.el.isConnected || player.el !== entry.el) {
        player?.destroy();
        player = new Player(entry, this);
        this.players.set(key, player);
      }
      const name = entry.obj.name;
      const stream = typeof name === 'string' && Object.hasOwn(streams, name) ? streams[name] : null;
      if (!stream?.live) this.frozen.delete(key); // a stopped stream starts its health afresh
      player.update(entry.obj, stream);
      player.showHealth(this.frozen.get(key)?.size ?? 0);
    }
    for (const [key, player] of this.players) {
      if (!seen.has(key)) {
        player.destroy();
        this.players.delete(key);
      }
    }
  }

  /** A `stream_health` report (only the tile's host receives them). */
  event(event) {
    const p = event?.payload;
    if (event?.topic !== 'stream_health' || p?.hostId !== mySession() || typeof p.viewerSession !== 'string') return;
    const key = String(p.objectId);
    const viewers = this.frozen.get(key) ?? new Set();
    if (p.frozen === true) viewers.add(p.viewerSession);
    else viewers.delete(p.viewerSession);
    this.frozen.set(key, viewers);
    this.players.get(key)?.showHealth(viewers.size);
  }
}
