// Official socket.io-client sockets driven by a test (tests/nodeclient.py) over JSON lines.
//
// stdin, one command per line:
//   {"cmd": "open", "name", "url", "options"?, "token"?, "auth"?, "stage"?, "nickname"?}
//       io(url, options) with an `auth` callback. Without "auth" the callback gives what a real
//       client gives: the token (when one is set) and the session and resume secret of its last
//       join ack. With "stage", the socket joins it on every `connect`, with `since` (the epoch
//       and seq of its last ack or event) once it has joined, as the web client does.
//   {"cmd": "call", "name", "ref", "event", "data"?, "timeout"?}
//       emit with an ack; with the socket's `retries` option through socket.io-client's retry
//       queue (its `ackTimeout`), else with `socket.timeout(timeout)`.
//   {"cmd": "close", "name"}, {"cmd": "exit"}
// In "data", {"$buffer": base64} becomes a Buffer and {"$slice": [string, start, end]} is the
// JavaScript String.prototype.slice of the string (UTF-16 units: it can cut an emoji in half).
//
// stdout, one report per line, {"report", "name", ...}: connect (with its transport), joined
// (the join ack), event, epoch, connect_error, disconnect (with the reason), reconnect_attempt,
// upgrade, ack (for a call's ref, with `sent`: how many times its packet went out), closed.
// Nothing here reconnects by hand: reconnection is socket.io-client's own.

import { createInterface } from 'node:readline';
import { io } from 'socket.io-client';

const clients = new Map();

function report(name, kind, fields = {}) {
  process.stdout.write(JSON.stringify({ report: kind, name, ...fields }) + '\n');
}

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value === null || typeof value !== 'object') return value;
  if ('$buffer' in value) return Buffer.from(value.$buffer, 'base64');
  if ('$slice' in value) return String(value.$slice[0]).slice(value.$slice[1], value.$slice[2]);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, revive(item)]));
}

/** What this client proves itself with on every (re)connect, like static/js/stage/connection.js. */
function authOf(client) {
  const auth = {};
  if (client.token !== undefined) auth.token = client.token;
  if (client.session && client.resume) Object.assign(auth, { session: client.session, resume: client.resume });
  return auth;
}

function open({ name, url, options = {}, token, auth, stage, nickname }) {
  const client = { token, stage, nickname, session: null, resume: null, epoch: null, seq: 0, sent: new Map() };
  client.retries = Boolean(options.retries);
  // forceNew: every named client is a connection of its own (io() would share one per URL).
  const socket = io(url, { forceNew: true, ...options, auth: (cb) => cb(auth ?? authOf(client)) });
  client.socket = socket;
  clients.set(name, client);
  socket.onAnyOutgoing((event, data) => {
    if (data !== null && typeof data === 'object') client.sent.set(data, (client.sent.get(data) ?? 0) + 1);
  });
  socket.on('connect', () => {
    report(name, 'connect', { transport: socket.io.engine.transport.name });
    if (client.stage !== undefined) join(name, client);
  });
  socket.on('connect_error', (err) => report(name, 'connect_error', { message: err.message, active: socket.active }));
  socket.on('disconnect', (reason) => report(name, 'disconnect', { reason, active: socket.active }));
  socket.on('event', (event) => {
    if (client.epoch !== null && typeof event?.seq === 'number') client.seq = event.seq;
    report(name, 'event', { event });
  });
  socket.on('epoch', (data) => {
    Object.assign(client, { epoch: data.epoch, seq: data.seq });
    report(name, 'epoch', { data });
  });
  socket.io.on('reconnect_attempt', (attempt) => report(name, 'reconnect_attempt', { attempt }));
  socket.io.on('open', () => socket.io.engine.on('upgrade', (t) => report(name, 'upgrade', { transport: t.name })));
}

function join(name, client) {
  const data = { stage: client.stage };
  if (client.nickname !== undefined) data.nickname = client.nickname;
  if (client.epoch !== null) data.since = { epoch: client.epoch, seq: client.seq };
  send(client, 'join', data, 10000, (error, ack) => {
    if (ack?.ok) {
      Object.assign(client, { session: ack.session, resume: ack.resume, epoch: ack.epoch, seq: ack.seq });
      for (const event of ack.events ?? []) client.seq = event.seq;
    }
    report(name, 'joined', { since: data.since ?? null, ack: ack ?? null, error });
  });
}

/** Emit with an ack: `done(errorMessage, ack)`. */
function send(client, event, data, timeout, done) {
  const callback = (err, ack) => done(err ? err.message : null, ack);
  if (client.retries) client.socket.emit(event, data, callback);
  else client.socket.timeout(timeout).emit(event, data, callback);
}

function call({ name, ref, event, data = {}, timeout = 10000 }) {
  const client = clients.get(name);
  const revived = revive(data);
  send(client, event, revived, timeout, (error, ack) => {
    report(name, 'ack', { ref, ack: ack ?? null, error, sent: client.sent.get(revived) ?? 0 });
  });
}

function close({ name }) {
  clients.get(name)?.socket.disconnect();
  report(name, 'closed');
}

const commands = { open, call, close, exit: () => process.exit(0) };
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const command = JSON.parse(line);
  try {
    commands[command.cmd](command);
  } catch (err) {
    report(command.name ?? null, 'failed', { cmd: command.cmd, message: String(err?.stack ?? err) });
  }
});
lines.on('close', () => process.exit(0));
