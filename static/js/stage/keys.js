// Keyboard shortcuts keep off while someone types: shared by the toolbox's audio keys and the
// replay page's shortcuts.

/** Whether a key press goes to a text field, a list or an editable element (not a shortcut). */
export function typing(event) {
  const el = event.target;
  if (!(el instanceof Element)) return false;
  if (el.isContentEditable || el.matches('textarea, select')) return true;
  return el.matches('input') && !['range', 'checkbox', 'radio', 'button', 'submit', 'color'].includes(el.type);
}
