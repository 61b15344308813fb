// Measurement primitives for the load generator: latency histograms, per-client order tracking,
// and CPU/memory sampling of itself and of the server under test (from /proc), so that every
// figure comes from one place and the generator can prove it was not the bottleneck.

import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

/** Wall clock in ms (float), comparable across the publisher and subscribers of this process. */
export const now = () => performance.timeOrigin + performance.now();

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const LOOP_RESOLUTION_MS = 2; // event-loop delay sampling (the samples include it; it is subtracted)
const BUCKET_MS = 0.05; // histogram resolution
const BUCKETS = 200_000; // 0..10 s at 0.05 ms; slower deliveries land in the last bucket (max is exact)

/** Latency histogram with fixed memory: exact count and max, quantiles to 0.05 ms. */
export class Histogram {
  constructor() {
    this.counts = new Uint32Array(BUCKETS);
    this.count = 0;
    this.max = 0;
    this.min = Infinity;
  }

  add(ms) {
    const i = Math.min(BUCKETS - 1, Math.max(0, Math.floor(ms / BUCKET_MS)));
    this.counts[i] += 1;
    this.count += 1;
    if (ms > this.max) this.max = ms;
    if (ms < this.min) this.min = ms;
  }

  quantile(q) {
    if (this.count === 0) return null;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i += 1) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min((i + 1) * BUCKET_MS, this.max);
    }
    return this.max;
  }

  summary() {
    const r = (v) => (v === null ? null : Math.round(v * 100) / 100);
    return {
      count: this.count,
      p50: r(this.quantile(0.5)),
      p99: r(this.quantile(0.99)),
      max: r(this.count ? this.max : null),
      min: r(this.count ? this.min : null),
    };
  }
}

/**
 * Exactly-once check for one client: positions (hub `seq`, or the publisher's counter for MQTT)
 * must arrive as consecutive integers per stream. Counts gaps (missing) and duplicates.
 */
export class OrderTracker {
  constructor() {
    this.next = new Map(); // stream -> next expected position
    this.missing = 0;
    this.duplicates = 0;
    this.received = 0;
  }

  /** Start a stream at `position` (e.g. the join ack's seq + 1); later arrivals are checked against it. */
  expect(stream, position) {
    this.next.set(stream, position);
  }

  see(stream, position) {
    this.received += 1;
    const expected = this.next.get(stream);
    if (expected === undefined || position === expected) {
      this.next.set(stream, position + 1);
    } else if (position > expected) {
      this.missing += position - expected;
      this.next.set(stream, position + 1);
    } else {
      this.duplicates += 1;
    }
  }

  /** Count as missing whatever did not arrive up to each stream's last position `last(stream)`. */
  finish(last) {
    for (const [stream, expected] of this.next) {
      const final = last(stream);
      if (final !== undefined && final >= expected) this.missing += final - expected + 1;
    }
  }
}

function procTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
}

/** Busy and total jiffies per core from /proc/stat (busy = all but idle and iowait). */
function coreTicks() {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((line) => /^cpu\d/.test(line))
    .map((line) => {
      const v = line.trim().split(/\s+/).slice(1).map(Number);
      const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
      return { busy: total - v[3] - v[4], total };
    });
}

/** The server's resident memory in KiB (VmRSS), or null when no pid was given. */
export function serverRssKb(pid) {
  if (!pid) return null;
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : null;
}

/** The summed VmRSS of `pids` (a site's hub processes), in kB; null when there is none. */
export function siteRssKb(pids) {
  const each = pids.map(serverRssKb);
  return each.length && each.every((kb) => kb !== null) ? each.reduce((a, b) => a + b, 0) : null;
}

/** CPU use over an interval: the server's (from /proc/<pid>/stat) and this process's own, in % of one core. */
export class CpuMeter {
  /**
   * @param {number|number[]} serverPids the server's pid, or a site's hub processes (CPU summed)
   * @param {number} clockTicks /proc's ticks per second
   * @param {number} redisPid sampled too (as redis_cpu) when not 0
   */
  constructor(serverPids, clockTicks, redisPid = 0) {
    this.pids = (Array.isArray(serverPids) ? serverPids : [serverPids]).filter((p) => p > 0);
    this.redisPid = redisPid;
    this.hz = clockTicks || 100;
    this.loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loop.enable();
    this.start();
  }

  start() {
    this.t0 = performance.now();
    this.self0 = process.cpuUsage();
    this.servers0 = this.pids.map(procTicks);
    this.redis0 = this.redisPid ? procTicks(this.redisPid) : 0;
    this.cores0 = coreTicks();
    this.loop.reset();
  }

  /**
   * CPU since the last start(), then restarts: server_cpu and gen_cpu (% of one core), cores_busy
   * (% per core, everything on it: kernel network work too), gen_loop_p99_ms (generator lag).
   */
  read() {
    const seconds = (performance.now() - this.t0) / 1000;
    const self = process.cpuUsage(this.self0);
    const pct = (v) => Math.round(v * 10) / 10;
    const share = (ticks) => pct((100 * ticks) / this.hz / seconds);
    const each = this.pids.map((pid, i) => procTicks(pid) - this.servers0[i]);
    const out = {
      seconds: pct(seconds),
      server_cpu: each.length ? share(each.reduce((a, b) => a + b, 0)) : null,
      gen_cpu: pct(((self.user + self.system) / 1e6 / seconds) * 100),
      gen_sys_cpu: pct((self.system / 1e6 / seconds) * 100), // of gen_cpu: in the kernel (socket reads)
      cores_busy: coreTicks().map((c, i) => {
        const was = this.cores0[i];
        return pct((100 * (c.busy - was.busy)) / Math.max(1, c.total - was.total));
      }),
      gen_loop_p99_ms: pct(Math.max(0, this.loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS)), // how late its timers ran
    };
    if (each.length > 1) out.server_cpu_each = each.map(share);
    if (this.redisPid) out.redis_cpu = share(procTicks(this.redisPid) - this.redis0);
    this.start();
    return out;
  }
}
