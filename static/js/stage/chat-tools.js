// What the chat panel (chat.js) shows besides the messages themselves: one message's line (its
// colour, star, @mention mark and, for performers, the remove and highlight buttons), the unread
// count of the private "Players" tab, the performer's chat colour, and the chat as a .txt download.
// Kept apart so chat.js stays the panel's wiring. Icons are drawn by the stylesheet, so a line's
// text stays the message alone (copied, or read by a test).
import { h } from '../dom.js';
import { oneOf, safeColor } from '../safe.js';
import { BEHAVIORS } from './state.js';

const COLOR_KEY = 'upstage.chatColor';
const SEEN_KEY = 'upstage.chat.seen.';
const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `text` mentions `@nickname` (any case, ending at a non-word character). */
export function mentions(text, nickname) {
  if (typeof text !== 'string' || typeof nickname !== 'string' || !nickname.trim()) return false;
  return new RegExp(`(^|[^\\w@])@${escapeRegExp(nickname.trim())}(?![\\w])`, 'iu').test(text);
}

/**
 * One message as a list item. `me` is { session, nickname }; performers get a star (highlight)
 * and a remove button publishing `chat {highlight: id}` / `{remove: id}` through `moderate`.
 */
export function messageItem(m, { me, moderate }) {
  const mine = typeof m.session === 'string' && m.session === me.session;
  const mention = !mine && mentions(m.message, me.nickname);
  const classes = [m.isPlayer === true ? 'player' : 'audience', m.highlighted === true ? 'highlighted' : '',
    oneOf(m.behavior, BEHAVIORS, ''), mention ? 'mention' : ''];
  const color = safeColor(m.color);
  const text = h('span', { class: 'text', style: color ? { color } : {} }, String(m.message ?? ''));
  const hasId = typeof m.id === 'string' || Number.isInteger(m.id);
  const controls = moderate && hasId ? h('span', { class: 'moderate' },
    h('button', { type: 'button', class: 'icon star', 'aria-pressed': String(m.highlighted === true),
      'aria-label': m.highlighted === true ? 'Remove the highlight' : 'Highlight message', title: 'Highlight', onclick: () => moderate({ highlight: m.id }) }),
    h('button', { type: 'button', class: 'icon remove', 'aria-label': 'Remove message', title: 'Remove', onclick: () => moderate({ remove: m.id }) })) : null;
  return h('li', { class: classes.filter(Boolean).join(' '), dataset: hasId ? { id: String(m.id) } : {} },
    m.highlighted === true ? h('span', { class: 'starred', role: 'img', 'aria-label': 'Highlighted' }) : null,
    h('b', { class: 'nick', style: color ? { color } : {} }, `${String(m.user ?? 'Anonymous')}: `), text, controls);
}

/**
 * The private tab's unread messages: those newer (hub `at`) than the last one this browser saw
 * on the tab for this stage, not sent by this tab. The last seen time is kept in localStorage,
 * as the original did, so a reload does not show them as new again.
 */
export class Unread {
  constructor(stage) {
    this.key = SEEN_KEY + stage;
    this.seen = Number(localStorage.getItem(this.key)) || 0;
  }

  /** The unread messages of `list` for `session`. */
  of(list, session) {
    return list.filter((m) => Number.isFinite(m.at) && m.at > this.seen && m.session !== session);
  }

  /** Everything in `list` has been seen. */
  saw(list) {
    const newest = Math.max(this.seen, ...list.map((m) => (Number.isFinite(m.at) ? m.at : 0)));
    if (newest === this.seen) return;
    this.seen = newest;
    localStorage.setItem(this.key, String(newest));
  }
}

/** The performer's chat colour picker: its value is sent with each message once chosen. */
export function colorPicker() {
  const stored = safeColor(localStorage.getItem(COLOR_KEY));
  const input = h('input', { type: 'color', value: /^#[0-9a-f]{6}$/i.test(stored) ? stored : '#000000', 'aria-label': 'Chat colour', title: 'Your chat colour' });
  const picker = { chosen: stored || null, input };
  const reset = h('button', { type: 'button', class: 'icon', 'aria-label': 'Reset to the default colour', title: 'Default colour', hidden: !stored, onclick: () => {
    picker.chosen = null;
    localStorage.removeItem(COLOR_KEY);
    reset.hidden = true;
  } }, '↺');
  input.addEventListener('change', () => {
    picker.chosen = safeColor(input.value) || null;
    if (picker.chosen) localStorage.setItem(COLOR_KEY, picker.chosen);
    reset.hidden = !picker.chosen;
  });
  picker.element = h('span', { class: 'chat-color' }, input, reset);
  return picker;
}

const stamp = (at) => (Number.isFinite(at) ? new Date(at).toISOString().replace('T', ' ').slice(0, 19) : '');

/** The chat as text: a line `time  name: message` each, the public chat then the private one. */
export function chatText(chat, stageName) {
  const line = (m) => `[${stamp(m.at)}] ${m.highlighted === true ? '★ ' : ''}${String(m.user ?? 'Anonymous')}: ${String(m.message ?? '')}`;
  const parts = [`Chat of ${stageName}, ${stamp(Date.now())} UTC`, '', '== Chat ==', ...chat.messages.map(line)];
  if (Array.isArray(chat.privateMessages)) parts.push('', '== Players (private) ==', ...chat.privateMessages.map(line));
  return `${parts.join('\n')}\n`;
}

/** Save the chat as `<stage>-chat-<date>.txt` (a Blob download: nothing leaves the browser). */
export function downloadChat(chat, slug) {
  const blob = new Blob([chatText(chat, slug)], { type: 'text/plain;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const link = h('a', { download: `${slug}-chat-${new Date().toISOString().slice(0, 10)}.txt` });
  link.href = url; // our own Blob URL, which h() would drop (it takes http(s) only)
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
