// The stage form's "Animations" fieldset: how speech bubbles appear and how the curtain closes
// and opens, and how fast (the stage config's `animations`, as the original's). These are the
// stage's defaults; performers change them live from the toolbox (docs/studio.md).
import { BUBBLE_ANIMATIONS, CURTAIN_ANIMATIONS, animationsOf } from '../stage/stage-animations.js';
import { field, h, select } from './common.js';

const speedInput = (name, value) => h('input', { name, type: 'number', min: 0, max: 10000, step: 100, value });

/** `{fieldset, read}` for the stage's `animations` (`read()` gives the object to save). */
export function animationFields(saved) {
  const a = animationsOf(saved ?? {}, null);
  const fieldset = h(
    'fieldset',
    { class: 'animations' },
    h('legend', {}, 'Animations'),
    h(
      'div',
      { class: 'row' },
      field('Speech bubbles', select('bubbleAnimation', BUBBLE_ANIMATIONS.map((k) => [k, k]), a.bubble)),
      field('Bubble speed (ms)', speedInput('bubbleSpeed', a.bubbleSpeed)),
      field('Curtain', select('curtainAnimation', CURTAIN_ANIMATIONS.map((k) => [k, k]), a.curtain)),
      field('Curtain speed (ms)', speedInput('curtainSpeed', a.curtainSpeed)),
    ),
  );
  const read = () => {
    const el = fieldset.elements;
    return { bubble: el.bubbleAnimation.value, curtain: el.curtainAnimation.value, bubbleSpeed: Number(el.bubbleSpeed.value), curtainSpeed: Number(el.curtainSpeed.value) };
  };
  return { fieldset, read };
}
