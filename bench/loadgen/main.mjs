// Load generator entry point: runs one scenario against the hub or Mosquitto and prints one JSON
// result line on stdout (progress and errors go to stderr). Driven by bench/fanout.py; usable
// alone, e.g.:
//   node bench/loadgen/main.mjs --system mqtt --url ws://127.0.0.1:9001 --scenario fanout --n 100
// A watchdog ends the process after --deadline seconds whatever happens.

import { parseArgs } from 'node:util';
import { SCENARIOS } from './scenarios.mjs';

const OPTIONS = {
  system: { type: 'string' }, // hub | mqtt
  url: { type: 'string' }, // hub: ws://host:port/socket.io/?EIO=4&transport=websocket; mqtt: ws://host:port
  // several comma-separated URLs (one site's hub processes): publishers on the first, audience round-robin
  scenario: { type: 'string', default: 'fanout' }, // fanout | sustain | chat | joinstorm | reconnect
  stage: { type: 'string', default: 'fanout' }, // hub stage slug; MQTT topics are upstage/<stage>/<topic>
  token: { type: 'string', default: '' }, // the performer's access token (hub)
  n: { type: 'string', default: '100' }, // audience connections
  rates: { type: 'string', default: '10,20,50,100,200' }, // fanout: events/s per step
  'step-seconds': { type: 'string', default: '3' }, // fanout, sustain: seconds per rate step; chat: duration
  'drain-seconds': { type: 'string', default: '2' }, // wait for stragglers after sending stops
  'warmup-seconds': { type: 'string', default: '1' }, // sustain: the steady part starts this long into a step
  'p99-limit': { type: 'string', default: '100' }, // ms: a step passes at or below it, with no loss
  'p99-cap': { type: 'string', default: '1000' }, // ms: the ramp stops above it
  concurrency: { type: 'string', default: '100' }, // handshakes in flight while connecting
  publishers: { type: 'string', default: '20' }, // chat
  'chat-rate': { type: 'string', default: '2' }, // chat: messages/s per publisher
  'event-rate': { type: 'string', default: '10' }, // joinstorm, reconnect: events/s while the storm runs
  'storm-seconds': { type: 'string', default: '5' }, // joinstorm, reconnect: spread of the (re)connects
  'drop-seconds': { type: 'string', default: '1' }, // reconnect: how long everyone stays away
  'server-pid': { type: 'string', default: '0' }, // sampled for CPU and RSS from /proc; comma-separated: CPU summed
  'redis-pid': { type: 'string', default: '0' }, // sampled for CPU as redis_cpu (scale-out runs)
  'clk-tck': { type: 'string', default: '100' },
  budget: { type: 'string', default: '600' }, // fanout: no new rate step after this many seconds
  deadline: { type: 'string', default: '900' }, // hard stop of the whole process
};

function config(values) {
  const num = (name) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v)) throw new Error(`--${name} must be a number, got ${values[name]}`);
    return v;
  };
  if (!['hub', 'mqtt'].includes(values.system)) throw new Error('--system must be hub or mqtt');
  if (!values.url) throw new Error('--url is required');
  const urls = values.url.split(',').filter(Boolean);
  const serverPids = values['server-pid'].split(',').map(Number);
  if (serverPids.some((p) => !Number.isInteger(p) || p < 0)) throw new Error('--server-pid takes pids, comma-separated');
  if (!SCENARIOS[values.scenario]) throw new Error(`--scenario must be one of ${Object.keys(SCENARIOS)}`);
  const rates = values.rates.split(',').map(Number);
  if (!rates.length || rates.some((r) => !(r > 0))) throw new Error('--rates must be positive numbers');
  return {
    system: values.system,
    url: urls[0],
    urls,
    scenario: values.scenario,
    stage: values.stage,
    topic: values.scenario === 'chat' ? 'chat' : 'board',
    token: values.token,
    n: num('n'),
    rates,
    stepSeconds: num('step-seconds'),
    drainSeconds: num('drain-seconds'),
    warmupSeconds: num('warmup-seconds'),
    p99Limit: num('p99-limit'),
    p99Cap: num('p99-cap'),
    concurrency: num('concurrency'),
    publishers: num('publishers'),
    chatRate: num('chat-rate'),
    eventRate: num('event-rate'),
    stormSeconds: num('storm-seconds'),
    dropSeconds: num('drop-seconds'),
    serverPid: serverPids[0],
    serverPids: serverPids.filter((p) => p > 0),
    redisPid: num('redis-pid'),
    clkTck: num('clk-tck'),
    budget: num('budget'),
    deadline: num('deadline'),
  };
}

function emit(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(result.ok ? 0 : 1));
}

async function main() {
  let cfg;
  try {
    cfg = config(parseArgs({ options: OPTIONS, strict: true }).values);
  } catch (err) {
    emit({ ok: false, error: `usage: ${err.message}` });
    return;
  }
  const expired = () => emit({ ok: false, error: `deadline of ${cfg.deadline} s passed` });
  const watchdog = setTimeout(expired, cfg.deadline * 1000);
  const started = performance.now();
  try {
    const result = await SCENARIOS[cfg.scenario](cfg);
    clearTimeout(watchdog);
    const { token, ...shown } = cfg;
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    emit({ ok: true, system: cfg.system, scenario: cfg.scenario, config: shown, seconds, ...result });
  } catch (err) {
    clearTimeout(watchdog);
    process.stderr.write(`${err.stack || err}\n`);
    emit({ ok: false, error: String(err.message || err) });
  }
}

main();
