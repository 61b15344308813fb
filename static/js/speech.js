// Avatar voices through meSpeak (eSpeak compiled to JavaScript, as the original UpStage used):
// the same voice in every browser, unlike speechSynthesis. The engine runs in a Web Worker
// (/vendor/mespeak-worker.js: 5 MB, 0.7 MB gzipped, see hub/vendor_bundle.py) started the first
// time a line is spoken; it loads each voice the first time it is used. A line is made into a
// WAV there, then decoded and played here through Web Audio at the given volume. The stage
// (stage/voice.js) and the studio's "Hear it" both speak through here.

/** meSpeak's voice ids (an avatar's `voice.voice`) and eSpeak's variants (`voice.variant`). */
export const VOICES = Object.freeze([
  'en/en-us', 'en/en', 'en/en-n', 'en/en-rp', 'en/en-sc', 'en/en-wm', 'ca', 'cs', 'de', 'el', 'eo', 'es', 'es-la',
  'fi', 'fr', 'hu', 'it', 'kn', 'la', 'lv', 'nl', 'pl', 'pt', 'pt-pt', 'ro', 'sk', 'sv', 'tr', 'zh', 'zh-yue',
]);
export const VARIANTS = Object.freeze([
  'f1', 'f2', 'f3', 'f4', 'f5', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'croak', 'klatt', 'klatt2', 'klatt3', 'whisper', 'whisperf',
]);
const DEFAULT_VOICE = 'en/en-us';
const MAX_AMPLITUDE = 200; // eSpeak's loudest; a shout (×5) stops here
const MAX_TEXT = 1000; // characters of one line given to the engine (a chat message is shorter)

let worker = null; // the engine, in a Web Worker: a line takes ~0.2 s to make, off the main thread
const pending = new Map(); // request id -> {resolve, reject}
let lastId = 0;
let context = null;

function engine() {
  if (worker) return worker;
  worker = new Worker('/vendor/mespeak-worker.js');
  worker.onmessage = ({ data }) => {
    const request = pending.get(data.id);
    pending.delete(data.id);
    if (data.error) request?.reject(new Error(data.error));
    else request?.resolve(data.wav);
  };
  worker.onerror = (event) => { // it did not load, or broke: fail what waits, start afresh next time
    event.preventDefault();
    for (const request of pending.values()) request.reject(new Error('the speech engine failed'));
    pending.clear();
    worker.terminate();
    worker = null;
  };
  return worker;
}

/** A WAV (ArrayBuffer) of `text` spoken with meSpeak `options`, made by the worker. */
function synthesize(text, options) {
  return new Promise((resolve, reject) => {
    const id = ++lastId;
    pending.set(id, { resolve, reject });
    engine().postMessage({ id, text, options });
  });
}

/** A stored voice id as meSpeak names it ('en-us' and 'en' are English ones), or the default. */
function voiceId(name) {
  if (VOICES.includes(name)) return name;
  return VOICES.includes(`en/${name}`) ? `en/${name}` : DEFAULT_VOICE;
}

const within = (value, fallback, low, high) => (Number.isFinite(value) ? Math.min(Math.max(value, low), high) : fallback);

/**
 * meSpeak's options for a stored voice {voice, variant, pitch 0-100, speed 0-350, amplitude}
 * and a line's behaviour: unknown voices fall back to en/en-us, unknown variants to none;
 * pitch is eSpeak's 0-99, speed its 80-450 words a minute; a shout is 5 times as loud.
 */
export function speechOptions(voice, behavior = 'speak') {
  const v = voice !== null && typeof voice === 'object' ? voice : {};
  const options = {
    voice: voiceId(v.voice),
    pitch: within(v.pitch, 50, 0, 99),
    speed: within(v.speed, 175, 80, 450),
    amplitude: within(v.amplitude, 100, 0, MAX_AMPLITUDE),
  };
  if (VARIANTS.includes(v.variant)) options.variant = v.variant;
  if (behavior === 'shout') options.amplitude = Math.min(options.amplitude * 5, MAX_AMPLITUDE);
  return options;
}

/** Play a WAV (ArrayBuffer) through Web Audio at `volume` (0-1); resolves with its AudioBuffer. */
async function play(wav, volume) {
  context ??= new AudioContext();
  if (context.state === 'suspended') context.resume().catch(() => {});
  const buffer = await context.decodeAudioData(wav);
  const gain = context.createGain();
  gain.gain.value = within(volume, 1, 0, 1);
  gain.connect(context.destination);
  const source = context.createBufferSource();
  source.buffer = buffer;
  source.connect(gain);
  source.start();
  return buffer;
}

/**
 * Speak `text` in `voice` (a stored voice object); resolves with what was spoken:
 * {text, options (meSpeak's), bytes (of the WAV), samples (of the decoded audio)}.
 */
export async function say(text, voice, { behavior = 'speak', volume = 1 } = {}) {
  const options = speechOptions(voice, behavior);
  const line = String(text).slice(0, MAX_TEXT);
  const wav = await synthesize(line, options);
  const bytes = wav.byteLength;
  const buffer = await play(wav, volume);
  const spoken = { text: line, options, bytes, samples: buffer.length };
  document.dispatchEvent(new CustomEvent('upstage:spoken', { detail: spoken })); // for tests and tools
  return spoken;
}
