// The replay page (/replay/<slug>/<performance>): the hub plays an archived performance to this
// socket alone (`replay` / `replayControl`, docs/protocol.md "Archive and replay"); the page shows
// it with the same state and render modules as the live stage, with play/pause, a seek bar,
// speed (0.5-32x), loop, 10 s skips, an event-density bar, keyboard shortcuts and controls that
// hide while it plays (replay-controls.js). Sound and video clips follow the replay: they play at
// the replay's speed and stop while the replay is paused.
import { h } from '../dom.js';
import { mountNav } from '../nav.js';
import { call, openSocket } from './connection.js';
import { SKIP_MS, SKIP_SETTLE_MS, autoHide, shortcuts, showDensity, skipTarget } from './replay-controls.js';
import { StageScreen } from './screen.js';
import { isVideo } from './state.js';

/** Performance time: the hub time the replayed events carry, advancing at the replay speed. */
class ReplayClock {
  constructor() { this.base = null; this.local = 0; this.rate = 0; }
  set(at, rate) { this.base = at; this.local = Date.now(); this.rate = rate; }
  now() { return this.base === null ? Date.now() : this.base + (Date.now() - this.local) * this.rate; }
  seen() {}
}

/** The performance time a replayed state was taken at (a track's, a video clip's or a speech's time). */
function stateTime(state) {
  const times = [...Object.values(state.audio.tracks).map((t) => t.positionAt), ...Object.values(state.board.speeches).map((s) => s.at),
    ...state.board.objects.filter(isVideo).map((o) => o.positionAt)];
  return times.length ? Math.max(...times) : null;
}

const clockText = (ms) => `${Math.floor(ms / 60000)}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}`;

async function main() {
  mountNav(document.querySelector('body > header'));
  const [, , slug, performance] = location.pathname.split('/').map(decodeURIComponent);
  const controls = document.querySelector('.replay-controls');
  const [play, seek, time, speed, loop, density] = ['.play', '.seek', '.time', '.speed', '.loop', '.density'].map((s) => controls.querySelector(s));
  const status = document.querySelector('.connection');
  const refuse = async () => ({ ok: false, error: { message: 'This is a replay: chat is read-only.' } });
  const screen = new StageScreen(document.querySelector('.stage-area'), document.querySelector('.side'), { config: {}, role: 'audience', nickname: 'Guest', publish: refuse });
  screen.clock = new ReplayClock();
  let current = { playing: false, position: 0, duration: 0, speed: 1 };
  let tickFrom = Date.now();
  let target = null; // where skips are taking the replay (until the hub has it): further skips count from there
  const position = () => (current.playing ? Math.min(current.position + (Date.now() - tickFrom) * current.speed, current.duration) : current.position);
  const wake = autoHide(() => current.playing);
  const socket = await openSocket();
  const control = async (action, value) => {
    const ack = await call(socket, 'replayControl', value === undefined ? { action } : { action, value });
    document.querySelector('.stage-error').textContent = ack.ok ? '' : ack.error.message; // e.g. pressed too fast
    return ack;
  };
  window.upstage = { socket, audio: screen.audio, voice: screen.voice, get state() { return screen.state; }, get status() { return current; } };

  const show = (s) => {
    current = s;
    screen.setRate(s.playing ? s.speed : 0);
    tickFrom = Date.now();
    play.textContent = s.playing ? 'Pause' : 'Play';
    play.setAttribute('aria-pressed', String(s.playing));
    seek.max = String(s.duration);
    loop.checked = s.loop;
    speed.value = String(s.speed);
    document.body.dataset.replay = s.ended ? 'ended' : s.playing ? 'playing' : 'paused';
    wake();
  };
  let settle = null;
  const skip = (delta) => { // presses in quick succession (or a held key) add up to one seek
    target = skipTarget(target ?? position(), delta, current.duration);
    seek.value = String(target);
    clearTimeout(settle);
    settle = setTimeout(async () => {
      const to = target;
      await control('seek', to);
      if (target === to) target = null;
    }, SKIP_SETTLE_MS);
  };
  const stepSpeed = (step) => {
    const values = [...speed.options].map((o) => Number(o.value));
    const next = values[Math.min(Math.max(values.indexOf(current.speed) + step, 0), values.length - 1)];
    if (next !== undefined && next !== current.speed) control('speed', next);
  };
  socket.on('replay', (s) => {
    screen.setRate(s.playing ? s.speed : 0);
    if (s.state) {
      screen.clock.set(stateTime(s.state) ?? screen.clock.now(), s.playing ? s.speed : 0);
      screen.reset(s.state);
    } else screen.clock.set(screen.clock.now(), s.playing ? s.speed : 0);
    show(s);
  });
  socket.on('event', (event) => {
    if (event === null || typeof event !== 'object') return;
    if (typeof event.at === 'number') screen.clock.set(event.at, current.playing ? current.speed : 0);
    screen.event(event);
  });
  socket.on('connect', async () => {
    status.dataset.status = 'connected';
    status.textContent = 'Connected';
    const ack = await call(socket, 'replay', { performance: Number(performance), speed: Number(speed.value), loop: loop.checked });
    if (!ack.ok) {
      document.querySelector('.stage-error').textContent = ack.error.message;
      return;
    }
    const name = ack.performance.name || `Performance ${performance}`;
    document.querySelector('.stage-name').textContent = `${name} (replay of ${slug})`;
    document.title = `${name} · Replay · UpStage`;
    showDensity(density, ack.density, (fraction) => control('seek', Math.round(fraction * current.duration)));
    show(ack.status);
  });
  socket.on('disconnect', () => {
    status.dataset.status = 'reconnecting';
    status.textContent = 'Reconnecting…';
  });

  play.addEventListener('click', () => control(current.playing ? 'pause' : 'play'));
  seek.addEventListener('change', () => control('seek', Number(seek.value)));
  speed.addEventListener('change', () => control('speed', Number(speed.value)));
  loop.addEventListener('change', () => control('loop', loop.checked));
  controls.querySelector('.skip-back').addEventListener('click', () => skip(-SKIP_MS));
  controls.querySelector('.skip-forward').addEventListener('click', () => skip(SKIP_MS));
  shortcuts({ play: () => control(current.playing ? 'pause' : 'play'), skip, speed: stepSpeed, loop: () => control('loop', !current.loop) });
  controls.addEventListener('submit', (e) => e.preventDefault());
  setInterval(() => {
    const at = target ?? position();
    if (document.activeElement !== seek) seek.value = String(at);
    time.textContent = `${clockText(at)} / ${clockText(current.duration)}`;
  }, 250);
  document.querySelector('.side').prepend(h('p', { class: 'muted' }, 'Replay: chat as it was during the performance.'));
}

main();
