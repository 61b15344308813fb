// Speech bubbles stay inside the stage box (issue 17): a bubble over an avatar at an edge is
// shifted sideways (or down, at the top) until the whole of it shows, instead of being cut off.

/** Shift `bubble` by the least that brings it inside `stage` (elements); measured, so call it once shown. */
export function fitBubble(bubble, stage) {
  bubble.style.setProperty('--dx', '0px');
  bubble.style.setProperty('--dy', '0px');
  const area = stage.getBoundingClientRect();
  const box = bubble.getBoundingClientRect();
  if (!area.width || !box.width) return;
  const shift = (low, high, start, end) => Math.max(low - start, Math.min(0, high - end));
  bubble.style.setProperty('--dx', `${shift(area.left, area.right, box.left, box.right)}px`);
  bubble.style.setProperty('--dy', `${shift(area.top, area.bottom, box.top, box.bottom)}px`);
}

/** Refit the bubble of an object element (after it moved, or the stage was resized). */
export function refitBubble(el, stage) {
  const bubble = el.querySelector('.bubble');
  if (bubble) fitBubble(bubble, stage);
}
