// An avatar's voice {voice, variant, pitch 0-100, speed 0-350, amplitude 0-100} (spec §2.1), with a
// "Hear it" button that speaks a line through the browser's own speechSynthesis: no network.
import { field, h } from './common.js';

const DEFAULT = { voice: '', variant: '', pitch: 50, speed: 175, amplitude: 100 };

function voiceNames() {
  return window.speechSynthesis?.getVoices().map((v) => v.name) ?? [];
}

function range(name, value, max) {
  return h('input', { type: 'range', name, min: 0, max, step: 1, value });
}

/** Fieldset for a voice; `read()` gives the voice object back. */
export function voiceFields(voice) {
  const v = { ...DEFAULT, ...(voice ?? {}) };
  const list = h('datalist', { id: 'voice-names' });
  const fillNames = () => list.replaceChildren(...voiceNames().map((n) => h('option', { value: n })));
  fillNames();
  window.speechSynthesis?.addEventListener?.('voiceschanged', fillNames);
  const sample = h('input', { name: 'sample', value: 'Hello, I am on stage.', 'aria-label': 'Line to hear' });
  const fieldset = h(
    'fieldset',
    { class: 'voice' },
    h('legend', {}, 'Voice'),
    field('Voice', h('input', { name: 'voice', value: v.voice, list: 'voice-names', placeholder: 'browser default' })),
    list,
    field('Variant', h('input', { name: 'variant', value: v.variant, placeholder: 'e.g. m3, f2' })),
    field('Pitch (0–100)', range('pitch', v.pitch, 100)),
    field('Speed (0–350)', range('speed', v.speed, 350)),
    field('Volume (0–100)', range('amplitude', v.amplitude, 100)),
    h('div', { class: 'hear' }, sample, h('button', { type: 'button', class: 'secondary', onclick: () => speak(sample.value, read()) }, '▶ Hear it')),
  );
  const read = () => {
    const el = fieldset.elements;
    return {
      voice: el.voice.value.trim(),
      variant: el.variant.value.trim(),
      pitch: Number(el.pitch.value),
      speed: Number(el.speed.value),
      amplitude: Number(el.amplitude.value),
    };
  };
  return { fieldset, read };
}

/** Speak `text` with a voice object, mapping UpStage's ranges onto the Web Speech ones. */
export function speak(text, voice) {
  const synth = window.speechSynthesis;
  if (!synth) return false;
  const utterance = new SpeechSynthesisUtterance(text);
  const match = synth.getVoices().find((v) => v.name === voice.voice);
  if (match) utterance.voice = match;
  utterance.pitch = Math.min(2, (voice.pitch ?? 50) / 50);
  utterance.rate = Math.min(10, Math.max(0.1, (voice.speed ?? 175) / 175));
  utterance.volume = Math.min(1, (voice.amplitude ?? 100) / 100);
  synth.cancel();
  synth.speak(utterance);
  return true;
}
