// A lean MQTT 3.1.1 client over WebSocket (subprotocol `mqtt`, binary frames), QoS 0 only: the
// original UpStage's transport, spoken to Mosquitto with the same interface as the hub client
// (sio.mjs) so every scenario runs unchanged against both.

import WebSocket from 'ws';
import { OrderTracker, now } from './stats.mjs';
import { WS_OPTIONS, markOf } from './sio.mjs';

const OPEN_TIMEOUT_MS = 30_000;
const KEEPALIVE_S = 60;
const CONNECT = 0x10;
const PUBLISH = 0x30;
const SUBSCRIBE = 0x82;
const PINGREQ = Buffer.from([0xc0, 0x00]);
const TYPE = { CONNACK: 2, PUBLISH: 3, SUBACK: 9, PINGRESP: 13 };

let clientIds = 0;

function varint(n) {
  const bytes = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

function str(s) {
  const body = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([len, body]);
}

/** One MQTT control packet: fixed header byte, remaining length, body. */
export function packet(first, ...parts) {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([first]), varint(body.length), body]);
}

export const connectPacket = (clientId) =>
  packet(CONNECT, str('MQTT'), Buffer.from([4, 0x02, 0, KEEPALIVE_S]), str(clientId)); // 3.1.1, clean session

export const subscribePacket = (id, topic) =>
  packet(SUBSCRIBE, Buffer.from([id >> 8, id & 255]), str(topic), Buffer.from([0])); // QoS 0

export const publishPacket = (topic, payload) => packet(PUBLISH, str(topic), Buffer.from(payload, 'utf8'));

export class MqttClient {
  /**
   * @param {object} o url (ws://127.0.0.1:port), stage (topics are `upstage/<stage>/<topic>`),
   *   subscribe (a topic, or null for a publisher), onDelivery(client, mark, replayed).
   */
  constructor(o) {
    this.url = o.url;
    this.stage = o.stage;
    this.subscription = o.subscribe ? this.topic(o.subscribe) : null;
    this.onDelivery = o.onDelivery || (() => {});
    this.order = new OrderTracker();
    this.id = `bench-${process.pid}-${clientIds++}`;
    this.acks = { ok: 0, refused: 0, lastSeq: -1, errors: {} };
    this.opens = 0;
    this.unrecovered = 0;
    this.replayed = 0;
    this.lost = false;
    this.rest = null;
    this.ws = null;
  }

  topic(name) {
    return `upstage/${this.stage}/${name}`;
  }

  /** CONNECT (clean session) then SUBSCRIBE at QoS 0; resolves {ms} on CONNACK/SUBACK. */
  open() {
    const started = now();
    const reconnect = this.opens > 0;
    this.opens += 1;
    this.rest = null;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, 'mqtt', WS_OPTIONS);
      this.ws = ws;
      this.closing = false;
      let settled = false;
      const done = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          ws.terminate();
          reject(new Error(`mqtt open: ${err}`));
        } else {
          if (reconnect) this.unrecovered += 1; // a clean session never gets what it missed
          const ping = () => ws.readyState === WebSocket.OPEN && ws.send(PINGREQ);
          this.pinger = setInterval(ping, (KEEPALIVE_S * 1000) / 2);
          resolve({ ms: now() - started, recovered: false });
        }
      };
      const timer = setTimeout(() => done('timeout'), OPEN_TIMEOUT_MS);
      this._ready = done;
      ws.on('open', () => ws.send(connectPacket(this.id)));
      ws.on('message', (data) => this._data(data));
      ws.on('error', (err) => done(err.message));
      ws.on('close', () => {
        clearInterval(this.pinger);
        if (ws === this.ws && !this.closing) this.lost = true;
        done('closed during handshake');
      });
    });
  }

  _data(chunk) {
    let buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    let off = 0;
    while (buf.length - off >= 2) {
      let len = 0;
      let mul = 1;
      let i = off + 1;
      let byte;
      do {
        if (i >= buf.length) break;
        byte = buf[i++];
        len += (byte & 127) * mul;
        mul *= 128;
      } while (byte & 128);
      if (byte & 128 || i + len > buf.length) break; // incomplete: wait for more
      this._packet(buf[off] >> 4, buf, i, i + len);
      off = i + len;
    }
    if (off < buf.length) this.rest = Buffer.from(buf.subarray(off));
  }

  _packet(type, buf, start, end) {
    if (type === TYPE.PUBLISH) {
      const topicLen = buf.readUInt16BE(start);
      const mark = markOf(JSON.parse(buf.toString('utf8', start + 2 + topicLen, end)));
      this.order.see(mark.p || 0, mark.n);
      this.onDelivery(this, mark, false);
    } else if (type === TYPE.CONNACK) {
      if (buf[start + 1] !== 0) this._ready(`CONNACK return code ${buf[start + 1]}`);
      else if (this.subscription) this.ws.send(subscribePacket(1, this.subscription));
      else this._ready(null);
    } else if (type === TYPE.SUBACK) {
      if (buf[end - 1] === 0x80) this._ready('SUBACK refused');
      else this._ready(null);
    }
  }

  /** PUBLISH at QoS 0 (no ack exists); counted as ok when written. */
  publish(topic, payload) {
    this.ws.send(publishPacket(this.topic(topic), JSON.stringify(payload)));
    this.acks.ok += 1;
  }

  get unacked() {
    return 0;
  }

  drop() {
    this.closing = true;
    clearInterval(this.pinger);
    this.ws.terminate();
  }

  close() {
    this.closing = true;
    clearInterval(this.pinger);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(Buffer.from([0xe0, 0x00])); // DISCONNECT
    this.ws.close();
  }
}
