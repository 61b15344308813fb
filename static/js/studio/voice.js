// An avatar's voice {voice, variant, pitch 0-100, speed 0-350, amplitude 0-100} (spec §2.1), with a
// "Hear it" button that speaks a line exactly as the stage will: through meSpeak (../speech.js).
import { VARIANTS, VOICES, say } from '../speech.js';
import { field, h, select } from './common.js';

const DEFAULT = { voice: '', variant: '', pitch: 50, speed: 175, amplitude: 100 };

/** [value, label] options: none first, then `known`, and a stored value the engine does not know. */
function choices(none, known, current) {
  const extra = current && !known.includes(current) ? [[current, `${current} (unknown: the default is used)`]] : [];
  return [['', none], ...known.map((v) => [v, v]), ...extra];
}

function range(name, value, max) {
  return h('input', { type: 'range', name, min: 0, max, step: 1, value });
}

/** Fieldset for a voice; `read()` gives the voice object back. */
export function voiceFields(voice) {
  const v = { ...DEFAULT, ...(voice ?? {}) };
  const sample = h('input', { name: 'sample', value: 'Hello, I am on stage.', 'aria-label': 'Line to hear' });
  const status = h('span', { class: 'hint', role: 'status' });
  const hear = () => {
    status.textContent = '';
    say(sample.value, { ...read(), voice: read().voice || VOICES[0] }).catch((err) => { status.textContent = `Cannot speak: ${err.message}`; });
  };
  const fieldset = h(
    'fieldset',
    { class: 'voice' },
    h('legend', {}, 'Voice'),
    field('Voice', select('voice', choices('none (silent on stage)', VOICES, v.voice), v.voice)),
    field('Variant', select('variant', choices('none', VARIANTS, v.variant), v.variant)),
    field('Pitch (0–100)', range('pitch', v.pitch, 100)),
    field('Speed (0–350)', range('speed', v.speed, 350)),
    field('Volume (0–100)', range('amplitude', v.amplitude, 100)),
    h('div', { class: 'hear' }, sample, h('button', { type: 'button', class: 'secondary', onclick: hear }, '▶ Hear it'), status),
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
