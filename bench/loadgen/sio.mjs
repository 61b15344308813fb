// A lean hub client: Socket.IO v5 / Engine.IO v4 framing over a raw WebSocket (no
// socket.io-client), so the generator spends its CPU on receiving, not on a client library.
// Wire contract: docs/protocol.md. One WebSocket message is one Engine.IO packet.

import WebSocket from 'ws';
import { OrderTracker, now } from './stats.mjs';

// Browsers and the official client ask for permessage-deflate; the bench does not (see README).
export const WS_OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: 30_000 };
const OPEN_TIMEOUT_MS = 30_000;

/** The bench marks a payload carries: board moves in `payload.object`, chat in the payload itself. */
export const markOf = (payload) => (payload && payload.object) || payload;

export class HubClient {
  /**
   * @param {object} o url (ws://.../socket.io/?EIO=4&transport=websocket), stage (slug), token
   *   (performer's access token, or none for audience), onDelivery(client, mark, replayed).
   */
  constructor(o) {
    this.url = o.url;
    this.stage = o.stage;
    this.token = o.token || null;
    this.onDelivery = o.onDelivery || (() => {});
    this.order = new OrderTracker();
    this.session = null;
    this.epoch = null;
    this.seq = null; // the last stage position this client accounts for (ack or event)
    this.ackId = 0;
    this.pending = new Map();
    this.acks = { ok: 0, refused: 0, lastSeq: -1, errors: {} };
    this.presences = 0;
    this.opens = 0;
    this.unrecovered = 0; // reconnects whose join ack carried state instead of the missed events
    this.replayed = 0;
    this.lost = false; // the connection closed without our asking
    this.ws = null;
  }

  /** Connect and join (with `since` when reconnecting); resolves {ms, recovered} on the join ack. */
  open() {
    const since = this.epoch !== null ? { epoch: this.epoch, seq: this.seq } : null;
    const started = now();
    this.opens += 1;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, WS_OPTIONS);
      this.ws = ws;
      let settled = false;
      const fail = (why) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(`hub open: ${why}`));
      };
      const timer = setTimeout(() => fail('timeout'), OPEN_TIMEOUT_MS);
      this._joined = (ack) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!ack || !ack.ok) {
          ws.terminate();
          reject(new Error(`hub join refused: ${JSON.stringify(ack)}`));
          return;
        }
        resolve({ ms: now() - started, recovered: this._accept(ack, since) });
      };
      this._refused = (why) => fail(`connect refused: ${why}`);
      ws.on('message', (data) => this._message(data));
      ws.on('error', (err) => fail(err.message));
      ws.on('close', () => {
        if (ws === this.ws && !this.closing) this.lost = true;
        fail('closed during handshake');
      });
      this.closing = false;
    });
  }

  /** Take the join ack: position, session, and either the missed events or a fresh start. */
  _accept(ack, since) {
    this.session = ack.session;
    this.epoch = ack.epoch;
    if (ack.recovered) {
      for (const event of ack.events) this._event(event, true);
    } else {
      if (since !== null) this.unrecovered += 1;
      this.order.expect(0, ack.seq + 1);
    }
    this.seq = ack.seq;
    return Boolean(ack.recovered);
  }

  _event(event, replayed) {
    this.seq = event.seq;
    this.order.see(0, event.seq);
    if (replayed) this.replayed += 1;
    this.onDelivery(this, markOf(event.payload), replayed);
  }

  _message(data) {
    const text = data.toString();
    const kind = text.charCodeAt(0);
    if (kind === 52 /* 4 message */) {
      const sub = text.charCodeAt(1);
      if (sub === 50 /* 2 event */) {
        const [name, body] = JSON.parse(text.slice(2));
        if (name === 'event') this._event(body, false);
        else if (name === 'presence') this.presences += 1;
      } else if (sub === 51 /* 3 ack */) {
        const bracket = text.indexOf('[');
        const callback = this.pending.get(Number(text.slice(2, bracket)));
        if (callback) callback(JSON.parse(text.slice(bracket))[0]);
      } else if (sub === 48 /* 0 connected */) {
        const since = this.epoch !== null ? { epoch: this.epoch, seq: this.seq } : undefined;
        this._call('join', { stage: this.stage, since }, (ack) => this._joined(ack));
      } else if (sub === 52 /* 4 connect_error */) {
        this._refused(text.slice(2));
      }
    } else if (kind === 50 /* 2 ping */) {
      this.ws.send('3');
    } else if (kind === 48 /* 0 open */) {
      const auth = {};
      if (this.token) auth.token = this.token;
      if (this.session) auth.session = this.session;
      this.ws.send(Object.keys(auth).length ? `40${JSON.stringify(auth)}` : '40');
    }
  }

  _call(name, data, callback) {
    const id = this.ackId++;
    this.pending.set(id, (ack) => {
      this.pending.delete(id);
      callback(ack);
    });
    this.ws.send(`42${id}${JSON.stringify([name, data])}`);
  }

  /** Publish without waiting; the ack is counted (ok, refused by code, last seq). */
  publish(topic, payload) {
    this._call('publish', { topic, payload }, (ack) => {
      if (ack && ack.ok) {
        this.acks.ok += 1;
        if (ack.seq > this.acks.lastSeq) this.acks.lastSeq = ack.seq;
      } else {
        this.acks.refused += 1;
        const code = (ack && ack.error && ack.error.code) || 'unknown';
        this.acks.errors[code] = (this.acks.errors[code] || 0) + 1;
      }
    });
  }

  /** Publishes sent but not yet acked. */
  get unacked() {
    return this.pending.size;
  }

  /** Vanish without a goodbye, as a dropped network does. */
  drop() {
    this.closing = true;
    this.ws.terminate();
  }

  close() {
    this.closing = true;
    this.ws.close();
  }
}
