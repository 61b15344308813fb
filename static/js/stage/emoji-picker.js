// The reactions bar's "more" button: a small built-in set of emoji in a popover (no CDN, no
// emoji library), each sent as a `reaction` like the four default buttons. The hub takes any
// string of 1-32 characters; these are all single emoji.
import { h } from '../dom.js';

export const MORE_REACTIONS = [
  '😀', '😂', '😍', '🥰', '😮', '😢', '😭', '😱', '🤔', '🙄', '😴', '🤯',
  '👍', '👎', '👋', '🙏', '💪', '🤝', '✌️', '🤘', '🫶', '👀', '💃', '🕺',
  '🔥', '✨', '🌟', '🎉', '🎭', '🎶', '🌹', '💐', '🍿', '☕', '🌈', '⚡',
  '💯', '💔', '💜', '💙', '💚', '🧡', '🐱', '🐶', '🦋', '🌙', '☀️', '🚀',
];

/** The "more reactions" button and its popover; `react(emoji)` sends one. Escape or a tap outside closes it. */
export function emojiPicker(react) {
  const popover = h('div', { class: 'emoji-picker', role: 'dialog', 'aria-label': 'More reactions', hidden: true },
    MORE_REACTIONS.map((emoji) => h('button', { type: 'button', class: 'emoji', 'aria-label': `React ${emoji}`, onclick: () => {
      react(emoji);
      close();
    } }, emoji)));
  const toggle = h('button', { type: 'button', class: 'reaction more', 'aria-label': 'More reactions', 'aria-haspopup': 'dialog', 'aria-expanded': 'false',
    onclick: () => (popover.hidden ? open() : close()) }, '+');
  const outside = (e) => { if (!popover.contains(e.target) && e.target !== toggle) close(); };
  const escape = (e) => { if (e.key === 'Escape') { close(); toggle.focus(); } };
  function open() {
    popover.hidden = false;
    toggle.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', outside);
    document.addEventListener('keydown', escape);
    popover.querySelector('button')?.focus();
  }
  function close() {
    popover.hidden = true;
    toggle.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside);
    document.removeEventListener('keydown', escape);
  }
  return { toggle, popover, close };
}
