// The stage's Socket.IO connection: WebSocket first (the hub's fast path) with long-polling as
// fallback, the login token and a per-tab session id, join with `since {epoch, seq}` after a
// reconnect so the stage recovers without a reload, and the connected / reconnecting / offline
// status the page shows. The page gives it `onJoined(ack)` and `onEvent(event)`; it never
// interprets stage events itself. When the hub takes the socket off the stage (`stageClosed`:
// the stage left live, or was deleted) or refuses the join (not live, gone), `onClosed(message)`
// tells the page, and `join()` may be called again later (the stage may open again).
import { io } from '/vendor/socket.io.esm.min.js';
import { accessToken } from '../api.js';

const SESSION_KEY = 'upstage.session';
const RESUME_KEY = 'upstage.resume';

/** A random id (hex), for sessions, objects and messages; works on plain-http pages too. */
export function randomId(bytes = 12) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * This tab's session claim for the socket's `auth`: the session id and the resume secret the hub
 * gave it (kept in sessionStorage, so a reload keeps presence and avatar holds). The hub makes
 * sessions; a tab without one, or whose claim the hub no longer accepts, gets a fresh one.
 */
export function tabSession() {
  const session = sessionStorage.getItem(SESSION_KEY);
  const resume = sessionStorage.getItem(RESUME_KEY);
  return session && resume ? { session, resume } : {};
}

/** Keep the session the hub gave this tab in a join ack. */
export function keepSession(ack) {
  if (typeof ack?.session === 'string' && typeof ack?.resume === 'string') {
    sessionStorage.setItem(SESSION_KEY, ack.session);
    sessionStorage.setItem(RESUME_KEY, ack.resume);
  }
}

/** Ask the hub through `socket` and resolve with its ack (an `{ok:false}` ack when it times out). */
export async function call(socket, name, data = {}, timeout = 15000) {
  try {
    return await socket.timeout(timeout).emitWithAck(name, data);
  } catch {
    return { ok: false, error: { code: 'timeout', message: 'The hub did not answer in time.' } };
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The login token for a connection attempt, refreshed when about to expire (so a long show
 * outlives the 15-minute token). Null only when there is no login or the hub ended it; while
 * the hub cannot refresh it (an outage), keep trying: a performer must not come back as audience.
 */
async function tokenForConnect() {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 15000)) {
    try {
      return await accessToken();
    } catch (err) {
      if (err.code === 'unauthenticated') return null;
      await sleep(delay);
    }
  }
}

/** Open a socket with the login token (if any) and this tab's session (`claim`: the standalone
 * chat page claims none); polling after websocket. */
export async function openSocket({ claim = tabSession } = {}) {
  // Socket.IO asks for `auth` at every connection attempt, reconnections included.
  return io({
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    auth: (cb) => {
      tokenForConnect().then((token) => cb(token ? { token, ...claim() } : claim()));
    },
    reconnectionDelay: 500,
    reconnectionDelayMax: 4000,
  });
}

/**
 * Keep a socket joined to `slug`. `onStatus(status)` gets 'connecting', 'connected',
 * 'reconnecting' or 'offline'; `onJoined(ack)` every successful join (fresh, or recovered with
 * `ack.events`); `onEvent(event)` every stage event; `onPresence(p)` every presence update.
 */
export class StageConnection {
  constructor(socket, slug, { nickname, onStatus, onJoined, onEvent, onPresence, onError, onClosed, joinWith = {} }) {
    Object.assign(this, { socket, slug, nickname, onJoined, onEvent, onPresence, onError, onClosed, joinWith });
    this.epoch = null;
    this.seq = 0;
    this.status = 'connecting';
    // What the indicator says: the socket's status, or 'offline' while the browser says so.
    this.onStatus = (status) => {
      this.status = status;
      onStatus(navigator.onLine === false && status !== 'closed' ? 'offline' : status);
    };
    socket.on('connect', () => this.join());
    socket.on('disconnect', (reason) => {
      if (reason === 'io client disconnect') return this.onStatus('offline');
      this.onStatus('reconnecting');
      // The hub dropped this socket on purpose (Socket.IO then stops retrying): come back once;
      // if it refuses the connection, connect_error says why.
      if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 1000);
    });
    socket.io.on('reconnect_attempt', () => this.onStatus('reconnecting'));
    socket.io.on('reconnect_failed', () => this.onStatus('offline'));
    socket.on('connect_error', (err) => {
      if (!socket.active) {
        this.onStatus('offline');
        this.onError?.(err.message);
      } else this.onStatus('reconnecting');
    });
    socket.on('event', (event) => this.event(event));
    socket.on('presence', (p) => this.onPresence(p));
    socket.on('epoch', (data) => {
      if (data && typeof data.seq === 'number') Object.assign(this, { epoch: data.epoch, seq: data.seq });
    });
    socket.on('stageClosed', (data) => this.closed(data?.message));
    window.addEventListener('online', () => {
      if (!socket.connected) socket.connect();
      this.onStatus(this.status); // the socket may have lived through it: say so again
    });
    window.addEventListener('offline', () => onStatus('offline'));
    this.onStatus('connecting');
    if (socket.connected) this.join();
  }

  event(event) {
    if (event === null || typeof event !== 'object') return;
    if (typeof event.seq === 'number') this.seq = event.seq;
    this.onEvent(event);
  }

  closed(message) {
    this.onStatus('closed');
    this.onClosed?.(typeof message === 'string' && message ? message : 'This stage has closed.');
  }

  async join() {
    const data = { ...this.joinWith, stage: this.slug };
    if (this.nickname) data.nickname = this.nickname;
    if (this.epoch !== null) data.since = { epoch: this.epoch, seq: this.seq };
    clearTimeout(this.retry);
    const ack = await call(this.socket, 'join', data);
    if (!ack.ok) {
      const code = ack.error?.code;
      if (code === 'forbidden' || code === 'not_found') return this.closed(ack.error.message);
      // Anything else passes (the hub is busy or its database is down): try again, backing off.
      this.onStatus('reconnecting');
      this.onError?.(ack.error?.message ?? 'could not join');
      this.joinDelay = Math.min((this.joinDelay ?? 500) * 2, 15000);
      this.retry = setTimeout(() => this.socket.connected && this.join(), this.joinDelay);
      return;
    }
    this.joinDelay = null;
    keepSession(ack);
    this.epoch = ack.epoch;
    this.seq = ack.seq;
    this.onJoined(ack);
    for (const event of ack.events ?? []) this.event(event);
    this.onStatus('connected');
  }

  /** Publish one event; resolves with the hub's ack. The change is shown when its echo arrives. */
  publish(topic, payload) {
    return call(this.socket, 'publish', { topic, payload });
  }

  presence(data) {
    return call(this.socket, 'presence', data);
  }
}
