// Soak load for the hub (driven by bench/soak.py): P performers publish chat and board moves at
// a steady rate to N audience for a while, and the audience churns the whole time: leave and
// join again on the same connection, drop the connection without a goodbye, close it cleanly,
// and go away for good (replaced by a newcomer with a fresh session). Every return is a join
// with `since` (and the session's resume secret), so every client must end with every event
// exactly once. A share of the audience ("watchers") never churns: each must have received
// every acked publish.
//
// Progress goes to stdout as JSON lines {"mark": name, "at": epoch ms}; after "connected" and
// "settled" the load holds still for --hold seconds so the driver can sample the hub at rest.
// The last line is {"result": {...}}. Wire contract: docs/protocol.md.

import { parseArgs } from 'node:util';
import { boardMove, chatLine, waitFor } from './harness.mjs';
import { HubClient } from './sio.mjs';
import { now, sleep } from './stats.mjs';

const OPTIONS = {
  url: { type: 'string' },
  stage: { type: 'string', default: 'soak' },
  token: { type: 'string', default: '' }, // the performers' access token
  audience: { type: 'string', default: '1000' },
  performers: { type: 'string', default: '5' },
  seconds: { type: 'string', default: '300' }, // how long publishing and churn run
  'move-rate': { type: 'string', default: '2' }, // board moves/s per performer
  'chat-rate': { type: 'string', default: '0.2' }, // chat lines/s per performer
  churn: { type: 'string', default: '' }, // churn operations/s (default: audience / 50)
  watchers: { type: 'string', default: '0.2' }, // share of the audience that never churns
  'performer-churn': { type: 'string', default: '30' }, // s between a performer's drop-and-return (0: never)
  hold: { type: 'string', default: '5' }, // s to hold still at "connected" and "settled"
  concurrency: { type: 'string', default: '50' }, // handshakes in flight while connecting
  seed: { type: 'string', default: '1' },
  deadline: { type: 'string', default: '3600' },
};

const OPEN_ATTEMPTS = 5;
const CATCH_UP_MS = 30_000;

/** A hub client that resumes its session (session + resume secret) when it reconnects. */
class SoakClient extends HubClient {
  constructor(o) {
    super(o);
    this.resume = null;
    this.joins = 0; // join acks, fresh or recovered
    this.recovered = 0;
    this.sessions = new Set();
    this.epochs = new Set();
    this.lostAcks = 0; // publishes whose connection went before their ack
    this.unexpected = 0; // connections the hub closed
    this.onLost = null;
    this.busy = false; // in a churn operation
    this.gone = false; // left for good (replaced)
    this.firstSeq = null;
    this.lastOp = 'open';
    this.faults = []; // the first few out-of-order arrivals, for the report
    const see = this.order.see.bind(this.order);
    this.order.see = (stream, position) => {
      const expected = this.order.next.get(stream);
      if (expected !== undefined && position !== expected && this.faults.length < 3) {
        this.faults.push({ expected, got: position, op: this.lastOp, inAck: this.inAck });
      }
      see(stream, position);
    };
  }

  _accept(ack, since) {
    this.resume = ack.resume;
    this.joins += 1;
    this.sessions.add(ack.session);
    this.epochs.add(ack.epoch);
    if (this.firstSeq === null) this.firstSeq = ack.seq;
    if (ack.recovered) this.recovered += 1;
    this.inAck = true;
    try {
      return super._accept(ack, since);
    } finally {
      this.inAck = false;
    }
  }

  _message(data) {
    if (data.length && data[0] === 48 /* '0': Engine.IO open */) {
      const auth = {};
      if (this.token) auth.token = this.token;
      if (this.session && this.resume) Object.assign(auth, { session: this.session, resume: this.resume });
      this.ws.send(Object.keys(auth).length ? `40${JSON.stringify(auth)}` : '40');
      return;
    }
    super._message(data);
  }

  async open() {
    this.lostAcks += this.pending.size; // what the last connection never answered
    this.pending.clear();
    const res = await super.open();
    const ws = this.ws;
    ws.on('close', () => {
      if (ws === this.ws && !this.closing) {
        this.unexpected += 1;
        if (this.onLost) this.onLost(this);
      }
    });
    return res;
  }

  /** `leave`, then `join` with `since` on the same connection. */
  async rejoin(pauseMs) {
    await new Promise((resolve) => this._call('leave', {}, resolve));
    await sleep(pauseMs);
    const since = { epoch: this.epoch, seq: this.seq };
    // The ack is taken in its callback: events after it may arrive in the same read, and are
    // handled before a promise's continuation would run.
    const ack = await new Promise((resolve) =>
      this._call('join', { stage: this.stage, since }, (answer) => {
        if (answer && answer.ok) this._accept(answer, since);
        resolve(answer);
      }),
    );
    if (!ack || !ack.ok) throw new Error(`rejoin refused: ${JSON.stringify(ack)}`);
  }

  /** The Socket.IO goodbye, then the WebSocket's close. */
  goodbye() {
    this.closing = true;
    if (this.ws.readyState === 1) this.ws.send('41');
    this.ws.close();
  }
}

function config(values) {
  const num = (name) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number >= 0, got ${values[name]}`);
    return v;
  };
  if (!values.url) throw new Error('--url is required');
  const audience = num('audience');
  return {
    url: values.url,
    stage: values.stage,
    token: values.token,
    audience,
    performers: Math.max(1, num('performers')),
    seconds: num('seconds'),
    moveRate: num('move-rate'),
    chatRate: num('chat-rate'),
    churn: values.churn === '' ? audience / 50 : num('churn'),
    watchers: Math.min(1, num('watchers')),
    performerChurn: num('performer-churn'),
    hold: num('hold'),
    concurrency: Math.max(1, num('concurrency')),
    seed: num('seed'),
    deadline: num('deadline'),
  };
}

/** A small deterministic PRNG (mulberry32), so a run's churn can be repeated. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const mark = (name, extra = {}) => process.stdout.write(`${JSON.stringify({ mark: name, at: now(), ...extra })}\n`);

/** Open a client, retrying a few times (a refused or timed-out handshake is counted, not fatal). */
async function openRetrying(client, stats) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await client.open();
    } catch (err) {
      stats.openErrors += 1;
      if (stats.errorSamples.length < 5) stats.errorSamples.push(String(err.message || err));
      if (attempt >= OPEN_ATTEMPTS) throw err;
      await sleep(200 * attempt);
    }
  }
}

async function inBatches(items, concurrency, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

async function soak(cfg) {
  const rand = random(cfg.seed);
  const stats = { openErrors: 0, errorSamples: [], ops: { rejoin: 0, drop: 0, close: 0, replace: 0 }, opErrors: 0 };
  const make = (token) => new SoakClient({ url: cfg.url, stage: cfg.stage, token });
  const lost = (client) => {
    // The hub closed it (a slow consumer dropped, say): come back as a client would.
    if (client.gone || client.busy) return;
    client.busy = true;
    openRetrying(client, stats).catch(() => {}).finally(() => { client.busy = false; });
  };

  const performers = Array.from({ length: cfg.performers }, () => make(cfg.token));
  for (const [p, client] of performers.entries()) {
    client.onLost = lost;
    await openRetrying(client, stats);
    client.sent = 0;
    client.acked = new Set();
    client.p = p;
    await new Promise((resolve) => client._call('presence', { avatarId: `avatar-${p}` }, resolve));
  }
  mark('performers');

  const audience = Array.from({ length: cfg.audience }, () => make(null));
  await inBatches(audience, cfg.concurrency, (c) => openRetrying(c, stats));
  for (const c of audience) c.onLost = lost;
  const watcherCount = Math.round(cfg.audience * cfg.watchers);
  const watchers = audience.slice(0, watcherCount);
  const churners = audience.slice(watcherCount);
  const retired = []; // clients replaced by newcomers: checked up to where they left
  mark('connected', { audience: audience.length, watchers: watchers.length });
  await sleep(cfg.hold * 1000);

  // Publishing: every performer at its own pace, stamping payloads (see harness.mjs).
  let publishing = true;
  const publish = (client, rate, topic, build) => (async () => {
    if (rate <= 0) return;
    const gap = 1000 / rate;
    let due = now() + rand() * gap;
    while (publishing) {
      if (due > now()) await sleep(due - now());
      due += gap;
      if (!publishing) break;
      if (client.busy || !client.ws || client.ws.readyState !== 1) continue;
      const n = client.sent++;
      const p = client.p;
      const id = client._call('publish', { topic, payload: build({ t: now(), s: 1, n, p }) }, (ack) => {
        if (ack && ack.ok) {
          client.acks.ok += 1;
          client.acked.add(ack.seq);
          if (ack.seq > client.acks.lastSeq) client.acks.lastSeq = ack.seq;
        } else {
          client.acks.refused += 1;
          const code = (ack && ack.error && ack.error.code) || 'unknown';
          client.acks.errors[code] = (client.acks.errors[code] || 0) + 1;
        }
      });
      void id;
    }
  })();
  mark('churn');
  const started = now();
  const publishers = performers.flatMap((c) => [
    publish(c, cfg.moveRate, 'board', boardMove),
    publish(c, cfg.chatRate, 'chat', chatLine),
  ]);

  // Churn: `churn` operations a second on random idle churners.
  const pending = new Set();
  const operate = async (client, op) => {
    client.busy = true;
    client.lastOp = op;
    try {
      if (op === 'rejoin') {
        await client.rejoin(rand() * 1000);
      } else if (op === 'drop' || op === 'close') {
        if (op === 'drop') client.drop();
        else client.goodbye();
        await sleep(500 + rand() * 2500);
        await openRetrying(client, stats);
      } else {
        client.goodbye();
        client.gone = true;
        retired.push(client);
        const newcomer = make(null);
        newcomer.onLost = lost;
        churners[churners.indexOf(client)] = newcomer;
        newcomer.busy = true;
        await sleep(rand() * 2000);
        try {
          await openRetrying(newcomer, stats);
        } finally {
          newcomer.busy = false;
        }
      }
      stats.ops[op] += 1;
    } catch (err) {
      stats.opErrors += 1;
      if (stats.errorSamples.length < 5) stats.errorSamples.push(`${op}: ${err.message || err}`);
    } finally {
      client.busy = false;
    }
  };
  const churning = (async () => {
    if (cfg.churn <= 0 || !churners.length) {
      await sleep(cfg.seconds * 1000);
      return;
    }
    const gap = 1000 / cfg.churn;
    let due = now();
    const maxInFlight = Math.max(1, Math.floor(churners.length / 4));
    while (now() - started < cfg.seconds * 1000) {
      if (due > now()) await sleep(due - now());
      due += gap;
      if (pending.size >= maxInFlight) continue;
      const client = churners[Math.floor(rand() * churners.length)];
      if (client.busy || client.gone) continue;
      const r = rand();
      const op = r < 0.3 ? 'rejoin' : r < 0.6 ? 'drop' : r < 0.8 ? 'close' : 'replace';
      const task = operate(client, op);
      pending.add(task);
      task.finally(() => pending.delete(task));
    }
  })();
  const performerChurn = (async () => {
    if (cfg.performerChurn <= 0) return;
    let p = 0;
    while (now() - started + cfg.performerChurn * 1000 < cfg.seconds * 1000) {
      await sleep(cfg.performerChurn * 1000);
      const client = performers[p++ % performers.length];
      client.busy = true;
      try {
        client.drop();
        await sleep(1000);
        await openRetrying(client, stats);
        stats.ops.performer = (stats.ops.performer || 0) + 1;
      } catch (err) {
        stats.opErrors += 1;
      } finally {
        client.busy = false;
      }
    }
  })();
  await Promise.all([churning, performerChurn]);
  await Promise.all([...pending]);
  publishing = false;
  await Promise.all(publishers);
  const churnSeconds = (now() - started) / 1000;
  mark('churn-end');

  // Everyone back and caught up with the last acked publish.
  const everyone = () => [...performers, ...watchers, ...churners];
  await waitFor(() => everyone().every((c) => !c.busy), CATCH_UP_MS);
  await waitFor(() => performers.every((c) => c.pending.size === 0), CATCH_UP_MS);
  const lastSeq = Math.max(...performers.map((c) => c.acks.lastSeq));
  const caughtUp = await waitFor(() => everyone().every((c) => c.seq >= lastSeq), CATCH_UP_MS);
  await sleep(500); // late duplicates, if any, would arrive now
  mark('settled', { last_seq: lastSeq });
  await sleep(cfg.hold * 1000);

  // The exactly-once check.
  const acked = new Set(performers.flatMap((c) => [...c.acked]));
  const check = (clients, finish) => {
    let missing = 0;
    let duplicates = 0;
    let gapped = 0;
    for (const c of clients) {
      if (finish) c.order.finish(() => lastSeq);
      missing += c.order.missing;
      duplicates += c.order.duplicates;
      if (c.order.missing || c.order.duplicates) gapped += 1;
    }
    const samples = clients.filter((c) => c.faults.length).slice(0, 5).map((c) => c.faults);
    return { clients: clients.length, missing, duplicates, clients_with_faults: gapped, fault_samples: samples };
  };
  const ackedBeforeWatchers = [...acked].filter((seq) => watchers.some((w) => w.firstSeq >= seq)).length;
  const sum = (clients, key) => clients.reduce((s, c) => s + c[key], 0);
  const all = [...everyone(), ...retired];
  const result = {
    config: { ...cfg, token: undefined },
    churn_seconds: Math.round(churnSeconds * 10) / 10,
    published: {
      sent: performers.reduce((s, c) => s + c.sent, 0),
      acked: acked.size,
      refused: performers.reduce((s, c) => s + c.acks.refused, 0),
      errors: Object.assign({}, ...performers.map((c) => c.acks.errors)),
      lost_acks: sum(performers, 'lostAcks'),
      last_seq: lastSeq,
    },
    ops: stats.ops,
    op_errors: stats.opErrors,
    open_errors: stats.openErrors,
    error_samples: stats.errorSamples,
    caught_up: caughtUp,
    watchers: { ...check(watchers, true), acked_before_join: ackedBeforeWatchers },
    churners: check(churners, true),
    performers: check(performers, true),
    retired: check(retired, false),
    joins: sum(all, 'joins'),
    recovered: sum(all, 'recovered'),
    unrecovered: sum(all, 'unrecovered'),
    unexpected_closes: sum(all, 'unexpected'),
    sessions: new Set(all.flatMap((c) => [...c.sessions])).size,
    sessions_kept: all.every((c) => c.sessions.size <= 1),
    epochs: [...new Set(all.flatMap((c) => [...c.epochs]))],
  };
  for (const c of everyone()) c.goodbye();
  mark('closed');
  return result;
}

async function main() {
  let cfg;
  try {
    cfg = config(parseArgs({ options: OPTIONS, strict: true }).values);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ result: { ok: false, error: `usage: ${err.message}` } })}\n`);
    process.exit(2);
  }
  const watchdog = setTimeout(() => {
    process.stdout.write(`${JSON.stringify({ result: { ok: false, error: `deadline of ${cfg.deadline} s` } })}\n`);
    process.exit(1);
  }, cfg.deadline * 1000);
  try {
    const result = await soak(cfg);
    clearTimeout(watchdog);
    process.stdout.write(`${JSON.stringify({ result: { ok: true, ...result } })}\n`, () => process.exit(0));
  } catch (err) {
    process.stderr.write(`${err.stack || err}\n`);
    process.stdout.write(`${JSON.stringify({ result: { ok: false, error: String(err.message || err) } })}\n`, () =>
      process.exit(1),
    );
  }
}

main();
