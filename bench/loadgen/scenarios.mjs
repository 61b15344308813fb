// The four scenarios of issue 4, each run the same way against the hub or Mosquitto:
// (a) fanout: one performer to N audience, rate stepped up; (b) chat: many performers chatting;
// (c) joinstorm: N audience joining within a few seconds while events flow; (d) reconnect: all
// audience drop at once and come back with `since` (hub) or a clean session (Mosquitto).

import { Harness, boardMove, chatLine, round } from './harness.mjs';
import { now, siteRssKb, sleep } from './stats.mjs';

const SETTLE_MS = 1000; // after connecting: presence (0.25 s) settles, memory is sampled
const IDLE_CPU = 20; // % : the server has caught up with the connections once under this for 0.5 s
const IDLE_WAIT_MS = 20_000; // but the ramp starts anyway after this long
const CATCH_UP_MS = 15_000; // storms: how long a backlogged server gets to deliver the last event to everyone
const GAP_MS = 300; // between rate steps
const SUSTAIN_GAP_MS = 1000; // between sustained steps: the server settles
// The generator, not the server, is the limit when the server has CPU to spare (under SERVER_BUSY)
// while the generator is pegged (GEN_SATURATED, % of its core) or its timers run late (GEN_LAGGING_MS
// at p99: deliveries wait that long to be read, so latencies include its delay). A busy generator
// that the server keeps busier is fine: its reads batch up and it keeps pace.
const SERVER_BUSY = 90;
const GEN_SATURATED = 95;
const GEN_LAGGING_MS = 50;

/**
 * Open `n` subscribers, then let the server catch up (its CPU under IDLE_CPU, bounded by
 * IDLE_WAIT_MS) so that what follows measures fan-out, not the connection backlog. Returns the
 * connect figures, the memory per idle connection, the server CPU 1 s after the last connect,
 * and how long it took to go idle.
 */
async function connectIdle(h, n) {
  const rssBefore = siteRssKb(h.cfg.serverPids);
  const connect = await h.subscribersUp(n, { concurrency: h.cfg.concurrency });
  const settled = now();
  h.meter.start();
  await sleep(SETTLE_MS);
  const afterConnect = h.meter.read().server_cpu;
  let busy = afterConnect;
  while (busy !== null && busy >= IDLE_CPU && now() - settled < IDLE_WAIT_MS) {
    await sleep(500);
    busy = h.meter.read().server_cpu;
  }
  const rssAfter = siteRssKb(h.cfg.serverPids);
  const perConn = rssBefore === null || connect.opened === 0 ? null : round((rssAfter - rssBefore) / connect.opened);
  return {
    connect,
    rss: { before_kb: rssBefore, after_kb: rssAfter, per_conn_kb: perConn },
    idle_server_cpu: afterConnect,
    settle_seconds: round((now() - settled) / 1000),
  };
}

/** Why the ramp must stop after this step, or null to go on. */
function stopReason(step, cfg, elapsedS) {
  const serverSpare = step.server_cpu !== null && step.server_cpu < SERVER_BUSY;
  if (serverSpare && step.gen_cpu >= GEN_SATURATED) return 'generator saturated';
  if (serverSpare && step.gen_loop_p99_ms >= GEN_LAGGING_MS) return 'generator lagging';
  if (step.loss > 0) return 'loss';
  if (step.latency.p99 === null || step.latency.p99 > cfg.p99Cap) return `p99 over ${cfg.p99Cap} ms`;
  if (step.achieved < 0.9 * step.rate) return 'publisher could not hold the rate';
  if (elapsedS > cfg.budget) return 'time budget';
  return null;
}

/** One performer up and `cfg.n` idle audience connected. */
async function onePerformerAndAudience(cfg) {
  const h = new Harness(cfg);
  await h.publishersUp(1);
  const idle = await connectIdle(h, cfg.n);
  return { h, idle, n: idle.connect.opened };
}

/** One step of board moves at `rate` for `cfg.stepSeconds` to `n` audience, drained: its result. */
async function movesStep(h, cfg, phase, rate, n) {
  h.meter.start();
  const sending = await h.send({ rate, seconds: cfg.stepSeconds, topic: 'board', build: boardMove, phase });
  const cpu = h.meter.read();
  const expected = sending.sent * n;
  await h.drain(phase, expected, cfg.drainSeconds * 1000);
  return h.phaseResult(phase, sending, cpu, expected);
}

/** (a) One performer sends board moves to N audience at each rate until loss or overload. */
export async function fanout(cfg) {
  const { h, idle, n } = await onePerformerAndAudience(cfg);
  const steps = [];
  for (const rate of cfg.rates) {
    const phase = h.phase(`rate ${rate}`);
    const step = await movesStep(h, cfg, phase, rate, n);
    const { p99 } = step.latency;
    step.pass = step.loss === 0 && p99 !== null && p99 <= cfg.p99Limit && step.achieved >= 0.9 * rate;
    steps.push(step);
    step.stop = stopReason(step, cfg, (now() - h.started) / 1000);
    if (step.stop) break;
    await sleep(GAP_MS);
  }
  await h.acked(cfg.drainSeconds * 1000);
  return { ...idle, n, steps, integrity: h.integrity() };
}

/**
 * Sustained fan-out: one performer sends board moves to N audience at each rate for `stepSeconds`
 * (8 s or more), every rate whatever happened at the one before. Besides the whole step's latency,
 * each step reports it over its steady part (events sent `warmupSeconds` after the step began) and
 * per second of sending, so a standing queue that a 3-second step hides shows as a plateau.
 */
export async function sustain(cfg) {
  const { h, idle, n } = await onePerformerAndAudience(cfg);
  const steps = [];
  for (const rate of cfg.rates) {
    const phase = h.phase(`sustained ${rate}`, { warmupSeconds: cfg.warmupSeconds });
    const step = await movesStep(h, cfg, phase, rate, n);
    step.warmup_seconds = cfg.warmupSeconds;
    step.steady = phase.steady.summary();
    step.per_second = Array.from(phase.perSecond, (hist) => (hist ? hist.summary() : null));
    steps.push(step);
    await h.acked(cfg.drainSeconds * 1000);
    await sleep(SUSTAIN_GAP_MS);
  }
  return { ...idle, n, steps, integrity: h.integrity() };
}

/** (b) `publishers` performers each chat at `chatRate` messages/s to N audience. */
export async function chat(cfg) {
  const h = new Harness(cfg);
  await h.publishersUp(cfg.publishers);
  const idle = await connectIdle(h, cfg.n);
  const n = idle.connect.opened;
  const phase = h.phase('chat');
  h.meter.start();
  const rate = cfg.publishers * cfg.chatRate;
  const sending = await h.send({ rate, seconds: cfg.stepSeconds, topic: 'chat', build: chatLine, phase });
  const cpu = h.meter.read();
  await h.drain(phase, sending.sent * n, cfg.drainSeconds * 1000);
  await h.acked(cfg.drainSeconds * 1000);
  const result = h.phaseResult(phase, sending, cpu, sending.sent * n);
  return { ...idle, n, publishers: cfg.publishers, chat: result, integrity: h.integrity() };
}

/** Publish at `rate` while `during` runs (and `tail` seconds after); returns the send figures. */
async function publishWhile(h, rate, phase, during, tailSeconds) {
  let running = true;
  const sender = (async () => {
    const out = [];
    while (running) out.push(await h.send({ rate, seconds: 0.5, topic: 'board', build: boardMove, phase }));
    return out;
  })();
  try {
    await during();
    await sleep(tailSeconds * 1000);
  } finally {
    running = false;
  }
  const chunks = await sender;
  const sent = chunks.reduce((sum, c) => sum + c.sent, 0);
  const seconds = chunks.reduce((sum, c) => sum + c.seconds, 0);
  const behind = Math.max(...chunks.map((c) => c.behind_ms));
  return { rate, sent, seconds: round(seconds), achieved: round(sent / seconds), behind_ms: behind };
}

/** Wait until every live subscriber holds the last event published (or `ms` pass). */
async function caughtUp(h, ms) {
  await h.acked(ms);
  const end = now() + ms;
  const lastSeq = Math.max(...h.publishers.map((p) => p.acks.lastSeq));
  const last = (c) => (h.cfg.system === 'hub' ? c.seq >= lastSeq : (c.order.next.get(0) ?? 0) >= h.publishers[0].sent);
  while (now() < end && !h.subscribers.every((c) => c.lost || last(c))) await sleep(10);
  await sleep(200); // stragglers and duplicates, if any, would arrive now
}

/** (c) N audience join, evenly spread over `stormSeconds`, while a performer publishes at `eventRate`. */
export async function joinstorm(cfg) {
  const h = new Harness(cfg);
  await h.publishersUp(1);
  const phase = h.phase('join storm');
  h.meter.start();
  let connect;
  const sending = await publishWhile(h, cfg.eventRate, phase, async () => {
    await sleep(500);
    connect = await h.subscribersUp(cfg.n, { paceSeconds: cfg.stormSeconds, fromStart: false });
  }, 0.5);
  const cpu = h.meter.read();
  await caughtUp(h, cfg.drainSeconds * 1000 + CATCH_UP_MS);
  phase.open = false;
  const events = h.phaseResult(phase, sending, cpu, phase.received);
  return { n: cfg.n, storm_seconds: cfg.stormSeconds, connect, events, integrity: h.integrity() };
}

/** (d) N audience connected; all drop at once; they come back, spread over `stormSeconds`. */
export async function reconnect(cfg) {
  const h = new Harness(cfg);
  await h.publishersUp(1);
  const idle = await connectIdle(h, cfg.n);
  const phase = h.phase('reconnect storm');
  const clients = [...h.subscribers];
  let back;
  let downMs = 0;
  h.meter.start();
  const sending = await publishWhile(h, cfg.eventRate, phase, async () => {
    await sleep(1000);
    const dropped = now();
    for (const c of clients) c.drop();
    await sleep(cfg.dropSeconds * 1000);
    back = await h.open(clients, { paceSeconds: cfg.stormSeconds });
    downMs = now() - dropped;
  }, 1);
  const cpu = h.meter.read();
  await caughtUp(h, cfg.drainSeconds * 1000 + CATCH_UP_MS);
  phase.open = false;
  const events = h.phaseResult(phase, sending, cpu, phase.received);
  return {
    n: idle.connect.opened,
    drop_seconds: cfg.dropSeconds,
    storm_seconds: cfg.stormSeconds,
    down_seconds: round(downMs / 1000),
    reconnect: back,
    events,
    integrity: h.integrity(),
  };
}

export const SCENARIOS = { fanout, sustain, chat, joinstorm, reconnect };
