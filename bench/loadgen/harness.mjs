// The scenario toolkit shared by every scenario: clients of either system, bounded or paced
// connection opening, paced publishing with timestamped payloads, per-phase delivery accounting
// and the end-of-run exactly-once check. Scenarios (scenarios.mjs) only compose these.

import { HubClient } from './sio.mjs';
import { MqttClient } from './mqtt.mjs';
import { CpuMeter, Histogram, now, sleep } from './stats.mjs';

const POLL_MS = 10;

/** A board `moveTo` of ~150 bytes of JSON, carrying the bench marks in `object`. */
export const boardMove = (mark) => ({
  type: 'moveTo',
  object: {
    id: `avatar-${mark.p}`,
    x: 100 + (mark.n % 500),
    y: 80 + (mark.n % 300),
    w: 120,
    h: 160,
    rotation: 0,
    opacity: 1,
    ...mark,
  },
});

/** A public chat line, carrying the bench marks in the payload. */
export const chatLine = (mark) => ({
  message: `line ${mark.n} from performer ${mark.p}: the lights go down`,
  behavior: 'speak',
  ...mark,
});

/** Poll `cond` until it holds or `ms` pass; true when it held. */
export async function waitFor(cond, ms) {
  const end = now() + ms;
  while (!cond()) {
    if (now() >= end) return false;
    await sleep(POLL_MS);
  }
  return true;
}

export class Harness {
  /**
   * @param {object} cfg system (hub|mqtt), url, urls, stage, token, serverPids, redisPid, clkTck (see
   *   main.mjs). With several `urls` (one site's hub processes) publishers use the first and
   *   subscribers take them round-robin; each phase then counts deliveries per URL (`received_by_url`).
   */
  constructor(cfg) {
    this.cfg = cfg;
    this.urls = cfg.urls || [cfg.url];
    this.opened = 0; // subscribers created so far: the next one's URL
    this.meter = new CpuMeter(cfg.serverPids ?? [cfg.serverPid], cfg.clkTck, cfg.redisPid);
    this.phases = [null]; // phase ids start at 1; a payload's `s` names its phase
    this.subscribers = [];
    this.publishers = [];
    this.started = now();
  }

  client(publisher) {
    const { system, stage, token } = this.cfg;
    const at = publisher ? 0 : this.opened++ % this.urls.length;
    const url = this.urls[at];
    const onDelivery = publisher ? undefined : (client, mark, replayed) => this._delivered(mark, replayed, at);
    if (system === 'hub') return new HubClient({ url, stage, token: publisher ? token : null, onDelivery });
    return new MqttClient({ url, stage, subscribe: publisher ? null : this.cfg.topic, onDelivery });
  }

  _delivered(mark, replayed, at) {
    const phase = this.phases[mark.s];
    if (!phase) return;
    if (replayed) phase.replayed += 1;
    else if (!phase.open) phase.late += 1;
    else {
      const ms = now() - mark.t;
      phase.received += 1;
      phase.byUrl[at] += 1;
      phase.latency.add(ms);
      if (phase.steady && mark.t >= phase.steadyFrom) phase.steady.add(ms);
      if (phase.perSecond) {
        const second = Math.max(0, Math.floor((mark.t - phase.began) / 1000));
        (phase.perSecond[second] ||= new Histogram()).add(ms);
      }
    }
  }

  /** Open `count` publishers (hub: performers with the token, joined; MQTT: connected, not subscribed). */
  async publishersUp(count) {
    for (let p = 0; p < count; p += 1) {
      const client = this.client(true);
      await client.open();
      client.sent = 0;
      this.publishers.push(client);
    }
  }

  /**
   * Open `n` subscribers: with at most `concurrency` handshakes in flight, or, with `paceSeconds`,
   * each started at its slot of an even spread. `fromStart`: MQTT clients expect every publisher's
   * first message (the hub's join ack gives its own start). Returns connect timings.
   */
  async subscribersUp(n, { concurrency = 100, paceSeconds = 0, fromStart = true } = {}) {
    const clients = Array.from({ length: n }, () => this.client(false));
    if (fromStart && this.cfg.system === 'mqtt') {
      for (const c of clients) this.publishers.forEach((_, p) => c.order.expect(p, 0));
    }
    const result = await this.open(clients, { concurrency, paceSeconds });
    this.subscribers.push(...clients.filter((c) => c.ready));
    return result;
  }

  /** (Re)open `clients`; returns {n, opened, errors, seconds, per_s, latency, recovered}. */
  async open(clients, { concurrency = 100, paceSeconds = 0 }) {
    const latency = new Histogram();
    const errors = [];
    let recovered = 0;
    const started = now();
    const one = async (client) => {
      client.ready = false;
      try {
        const res = await client.open();
        latency.add(res.ms);
        if (res.recovered) recovered += 1;
        client.ready = true;
      } catch (err) {
        if (errors.length < 5) errors.push(String(err.message || err));
        errors.count = (errors.count || 0) + 1;
      }
    };
    if (paceSeconds > 0) {
      const gap = (paceSeconds * 1000) / clients.length;
      const all = [];
      for (let i = 0; i < clients.length; i += 1) {
        const due = started + i * gap;
        if (due > now()) await sleep(due - now());
        all.push(one(clients[i]));
      }
      await Promise.all(all);
    } else {
      let next = 0;
      const worker = async () => {
        while (next < clients.length) await one(clients[next++]);
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, worker));
    }
    const seconds = (now() - started) / 1000;
    const opened = clients.filter((c) => c.ready).length;
    return {
      n: clients.length,
      opened,
      errors: errors.count || 0,
      error_samples: errors,
      seconds: round(seconds),
      per_s: round(opened / seconds),
      latency: latency.summary(),
      recovered,
    };
  }

  /**
   * A new phase; deliveries are counted against the phase their payload names. With `warmupSeconds`
   * (sustained steps), events sent that long after the phase began also go to `steady`, and every
   * second's events to `perSecond` (by send time), so a standing queue shows as a plateau.
   */
  phase(label, { warmupSeconds = null } = {}) {
    const phase = { id: this.phases.length, label, open: true, received: 0, late: 0, replayed: 0 };
    phase.byUrl = this.urls.map(() => 0);
    phase.latency = new Histogram();
    if (warmupSeconds !== null) {
      phase.began = now();
      phase.steadyFrom = phase.began + warmupSeconds * 1000;
      phase.steady = new Histogram();
      phase.perSecond = [];
    }
    this.phases.push(phase);
    return phase;
  }

  /**
   * Publish at `rate` events/s in total for `seconds`, round-robin over the publishers (each at
   * rate / publishers), stamping every payload with its send time. Returns {rate, sent, seconds,
   * achieved, behind_ms}: `behind_ms` is how late the publisher fell behind its schedule at worst.
   */
  async send({ rate, seconds, topic, build, phase }) {
    const total = Math.max(1, Math.round(rate * seconds));
    const pubs = this.publishers;
    const started = now();
    let sent = 0;
    let behind = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((now() - started) / 1000) * rate) + 1);
      if (due - sent > 1) behind = Math.max(behind, now() - (started + ((sent + 1) / rate) * 1000));
      for (; sent < due; sent += 1) {
        const pub = pubs[sent % pubs.length];
        const p = sent % pubs.length;
        pub.publish(topic, build({ t: now(), s: phase.id, n: pub.sent++, p }));
      }
      const wait = started + (sent / rate) * 1000 - now();
      if (wait > 0) await sleep(wait);
      else await sleep(0);
    }
    const elapsed = Math.max((now() - started) / 1000, 1e-3);
    return { rate, sent, seconds: round(elapsed), achieved: round(sent / elapsed), behind_ms: round(behind) };
  }

  /** Wait until the phase has `expected` deliveries (or `ms` pass), then close it. */
  async drain(phase, expected, ms) {
    await waitFor(() => phase.received >= expected, ms);
    phase.open = false;
  }

  /** Wait until the hub acked every publish (no-op for MQTT), up to `ms`. */
  async acked(ms) {
    return waitFor(() => this.publishers.every((p) => p.unacked === 0), ms);
  }

  alive() {
    return this.subscribers.filter((c) => !c.lost).length;
  }

  /** Per-phase figures: deliveries, loss against `expected`, latency, CPU. */
  phaseResult(phase, sending, cpu, expected) {
    return {
      ...sending,
      expected,
      received: phase.received,
      loss: Math.max(0, expected - phase.received - phase.replayed),
      late: phase.late,
      deliveries_per_s: round(phase.received / sending.seconds),
      ...(this.urls.length > 1 ? { received_by_url: phase.byUrl } : {}),
      latency: phase.latency.summary(),
      ...cpu,
    };
  }

  /** The exactly-once check across the whole run: every subscriber's gaps and duplicates. */
  integrity() {
    const lastSeq = Math.max(...this.publishers.map((p) => p.acks.lastSeq));
    const last = (stream) => (this.cfg.system === 'hub' ? lastSeq : this.publishers[stream]?.sent - 1);
    let missing = 0;
    let duplicates = 0;
    let gapped = 0;
    let doubled = 0;
    for (const c of this.subscribers) {
      c.order.finish(last);
      missing += c.order.missing;
      duplicates += c.order.duplicates;
      if (c.order.missing) gapped += 1;
      if (c.order.duplicates) doubled += 1;
    }
    const refused = this.publishers.reduce((sum, p) => sum + p.acks.refused, 0);
    const errors = Object.assign({}, ...this.publishers.map((p) => p.acks.errors));
    return {
      subscribers: this.subscribers.length,
      lost_connections: this.subscribers.length - this.alive(),
      missing,
      duplicates,
      clients_with_gaps: gapped,
      clients_with_duplicates: doubled,
      clients_complete: this.subscribers.filter((c) => !c.order.missing && !c.order.duplicates).length,
      unrecovered: this.subscribers.reduce((sum, c) => sum + c.unrecovered, 0),
      replayed: this.subscribers.reduce((sum, c) => sum + c.replayed, 0),
      publishes_refused: refused,
      publish_errors: errors,
      presence_messages: this.subscribers.reduce((sum, c) => sum + (c.presences || 0), 0),
    };
  }
}

export function round(v) {
  return v === null || v === undefined ? v : Math.round(v * 100) / 100;
}
