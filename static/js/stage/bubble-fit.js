// Speech bubbles stay inside the stage box (issue 17): a bubble over an avatar at an edge is
// shifted sideways (or put below it, at the top) until the whole of it shows, instead of being cut off.

/**
 * Shift `bubble` by the least that brings it inside `stage` (elements); one that would rise above
 * the stage goes below its avatar instead of over its face. Measured, so call it once shown.
 */
export function fitBubble(bubble, stage) {
  bubble.style.setProperty('--dx', '0px');
  bubble.style.setProperty('--dy', '0px');
  bubble.classList.remove('below');
  const area = stage.getBoundingClientRect();
  let box = bubble.getBoundingClientRect();
  if (!area.width || !box.width) return;
  if (box.top < area.top) {
    bubble.classList.add('below');
    box = bubble.getBoundingClientRect();
  }
  const shift = (low, high, start, end) => Math.max(low - start, Math.min(0, high - end));
  bubble.style.setProperty('--dx', `${shift(area.left, area.right, box.left, box.right)}px`);
  bubble.style.setProperty('--dy', `${shift(area.top, area.bottom, box.top, box.bottom)}px`);
}

/** Refit the bubble of an object element (after it moved, or the stage was resized). */
export function refitBubble(el, stage) {
  const bubble = el.querySelector('.bubble');
  if (bubble) fitBubble(bubble, stage);
}
