// What every stage screen (live or replay) is made of: the state, kept by applying events with
// the hub's reducers, and the view, whiteboard, chat, audio, video clips and voices that show it;
// plus the estimate of the hub's clock that speech bubbles, audio, video and voices are timed by.
import { h } from '../dom.js';
import { AudioPlayer } from './audio.js';
import { ChatPanel } from './chat.js';
import { StageView, ratioOf } from './render.js';
import { apply, emptyState } from './state.js';
import { VideoPlayer } from './video.js';
import { Voice } from './voice.js';
import { StreamTiles } from './stream.js';
import { Whiteboard } from './whiteboard.js';

/** Hub time = local time + offset; estimated from event times (the largest, least delayed, wins). */
export class HubClock {
  constructor() { this.offset = null; }
  seen(at) {
    if (!Number.isFinite(at)) return;
    const estimate = at - Date.now();
    if (this.offset === null || estimate > this.offset) this.offset = estimate;
  }
  now() { return Date.now() + (this.offset ?? 0); }
  /** How long ago (ms) hub time `at` was, or null while the offset is unknown. */
  age(at) { return this.offset === null ? null : this.now() - at; }
}

/** The parts every stage screen has (live or replay): the view, whiteboard, chat and audio. */
export class StageScreen {
  constructor(stageArea, sideArea, { config, role, nickname, publish, speak }) {
    this.clock = new HubClock();
    this.state = emptyState(config?.defaultColor ?? config?.defaultcolor);
    this.view = new StageView(stageArea, { ratio: ratioOf(config), clock: () => this.clock.now(), animations: config?.animations });
    this.whiteboard = new Whiteboard(this.view);
    this.flyOver = h('div', { class: 'fly-over', 'aria-hidden': 'true' });
    this.view.overlay.append(this.flyOver);
    this.chat = new ChatPanel(sideArea, { role, nickname, publish, speak, flyOver: this.flyOver });
    this.audio = new AudioPlayer(document.querySelector('.stage-bar') ?? sideArea, () => this.clock.now());
    this.videos = new VideoPlayer(this.view, () => this.clock.now(), this.audio);
    this.voice = new Voice(this.audio, () => this.clock); // a replay swaps the clock
    this.streams = new StreamTiles(this.view, { publish });
  }

  /** A replay's speed (0 while it is paused): sound and video clips follow it. */
  setRate(rate) {
    this.audio.setRate(rate);
    this.videos.setRate(rate);
  }

  /** Replace the whole state (a join or a replay seek): jump, no animation. */
  reset(state) {
    this.state = state;
    this.voice.reset();
    this.audio.jump();
    this.show({ animate: false });
  }

  /** Apply one event as the hub did, and show the result. */
  event(event) {
    if (event === null || typeof event !== 'object') return;
    this.voice.event(event, this.state); // before the clock sees it: a stale line cannot vouch for itself
    this.clock.seen(event.at);
    if (event.topic === 'reaction') this.chat.reaction(event.payload);
    if (event.topic === 'stream_health') this.streams.event(event);
    const before = this.state;
    this.state = apply(before, event);
    if (this.state !== before) this.show({ animate: true, event });
  }

  show({ animate, event = null }) {
    const s = this.state;
    this.view.render(s, { animate });
    this.streams.render(s);
    if (s.whiteboard.commands !== this.whiteboard.commands) this.whiteboard.draw(s.whiteboard.commands);
    this.chat.render(s.chat, s.settings);
    this.audio.render(s.audio);
    this.videos.render(s.board);
    document.body.classList.toggle('chat-left', s.settings.chatPosition === 'left');
    this.afterShow?.(event);
  }
}
