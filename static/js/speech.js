// Avatar voices through meSpeak (eSpeak compiled to JavaScript, as the original UpStage used):
// the same voice in every browser, unlike speechSynthesis. The engine (5 MB, 1 MB gzipped, from
// /vendor/, see hub/vendor_bundle.py) is loaded the first time a line is spoken, and each voice
// the first time it is used. A line is made into a WAV, decoded and played through Web Audio at
// the given volume. The stage (stage/voice.js) and the studio's "Hear it" both speak through here.

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

let engine = null; // promise of window.meSpeak with its config loaded
const voicesLoaded = new Map(); // voice id -> promise
let context = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load ${url} (${response.status})`);
  return response.json();
}

/** The engine, loaded once (a failed load is tried again next time). */
function loadEngine() {
  engine ??= Promise.all([loadScript('/vendor/mespeak.js'), fetchJson('/vendor/mespeak-config.json')]).then(([, config]) => {
    window.meSpeak.loadConfig(config);
    return window.meSpeak;
  });
  engine.catch(() => { engine = null; });
  return engine;
}

function loadVoice(meSpeak, id) {
  if (!voicesLoaded.has(id)) {
    const file = `/vendor/mespeak-voice-${id.split('/').pop()}.json`;
    const loading = fetchJson(file).then((data) => meSpeak.loadVoice(data));
    loading.catch(() => voicesLoaded.delete(id));
    voicesLoaded.set(id, loading);
  }
  return voicesLoaded.get(id);
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
  const meSpeak = await loadEngine();
  const options = speechOptions(voice, behavior);
  await loadVoice(meSpeak, options.voice);
  const line = String(text).slice(0, MAX_TEXT);
  const wav = meSpeak.speak(line, { ...options, rawdata: 'arraybuffer' });
  if (!wav) throw new Error('meSpeak made no sound');
  const bytes = wav.byteLength;
  const buffer = await play(wav, volume);
  const spoken = { text: line, options, bytes, samples: buffer.length };
  document.dispatchEvent(new CustomEvent('upstage:spoken', { detail: spoken })); // for tests and tools
  return spoken;
}
