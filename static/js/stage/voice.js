// Avatars speak aloud (spec §2.2 `speak`): each board `speak` event that reaches the page as it
// happens is spoken in the avatar's voice (../speech.js, meSpeak) when the page's sound is on
// (AudioPlayer.unlocked: the "Tap to hear sound" button or the first tap). Never the join
// state, nor lines a reconnect recovers that are older than a few seconds; never chat alone
// (only `board speak`), `think`, a `mute`d event or an avatar without `voice.voice`. On a replay,
// lines speak as they are replayed, not while seeking, paused, or at 16x and faster.
import { say } from '../speech.js';

const STALE_MS = 5000; // a recovered line older than this (hub clock) is not spoken
const MAX_RATE = 16; // as audio.js: faster replays are silent
const SEEN_MS = 10000; // how long an event is remembered, so a duplicate is not spoken twice
const LOG = 50; // lines kept in `spoken` (for tests and debugging)

export class Voice {
  /** `audio` is the page's AudioPlayer (unlocked, muted, rate); `clock()` its hub clock. */
  constructor(audio, clock) {
    this.audio = audio;
    this.clock = clock;
    this.spoken = []; // {text, options, bytes, samples} of each line spoken, newest last
    this.seen = new Map(); // seq:at -> when it was heard
    this.recovered = new WeakSet(); // events a reconnect delivered from the hub's log
  }

  /** A new state (a join or a replay seek): events after it may repeat earlier ones and speak again. */
  reset() {
    this.seen.clear();
  }

  /** A join's ack: its `events` happened while this page was away. */
  joined(ack) {
    for (const event of ack?.events ?? []) this.recovered.add(event);
  }

  /** Called with each event before it is applied to `state` (the board it speaks on). */
  event(event, state) {
    const p = event.payload;
    if (event.topic !== 'board' || p === null || typeof p !== 'object' || p.type !== 'speak' || p.mute) return;
    const s = p.speak;
    const text = typeof s === 'string' ? s : s?.message;
    const behavior = typeof s === 'string' ? 'speak' : s?.behavior;
    if (typeof text !== 'string' || !text.trim() || behavior === 'think') return;
    const id = p.avatar?.id;
    const placed = state.board.objects.find((o) => o.id === id);
    const voice = placed ? placed.voice : p.avatar?.voice;
    if (voice === null || typeof voice !== 'object' || typeof voice.voice !== 'string' || !voice.voice) return;
    const { unlocked, muted, rate } = this.audio;
    if (muted || !(rate > 0 && rate < MAX_RATE) || !this.fresh(event)) return;
    if (!unlocked) {
      this.audio.wantSound('voice', true); // offer the sound button (until sound is on): there are voices to hear
      return;
    }
    if (this.duplicate(event)) return;
    const volume = state.audio.master?.volume ?? 1;
    say(text, voice, { behavior, volume })
      .then((line) => { this.spoken = [...this.spoken.slice(1 - LOG), line]; })
      .catch((err) => console.warn('voice:', err.message));
  }

  /** Live, or recovered less than STALE_MS ago by a hub clock known before it arrived. */
  fresh(event) {
    const age = this.clock().age?.(event.at);
    if (age === undefined) return true; // a replay's clock: the event is being played now
    if (age === null) return !this.recovered.has(event);
    return !this.recovered.has(event) || age <= STALE_MS;
  }

  duplicate(event) {
    const now = Date.now();
    for (const [key, at] of this.seen) if (now - at > SEEN_MS) this.seen.delete(key);
    const key = `${event.seq}:${event.at}`;
    if (this.seen.has(key)) return true;
    this.seen.set(key, now);
    return false;
  }
}
