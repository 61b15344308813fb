// The chat panel and the reactions bar. Public chat for everyone with a nickname; a private
// "Players" tab and a clear button for performers; Enter sends. Messages follow the original
// client: ":text" thinks, "!text" shouts, a performer's "-Name text" speaks as Name, and a
// performer holding an avatar also makes it speak. Reactions are big thumb-sized buttons whose
// emoji fly over the stage on every screen.
import { h } from '../dom.js';
import { oneOf } from '../safe.js';
import { randomId } from './connection.js';
import { BEHAVIORS } from './state.js';

export const REACTIONS = ['❤️', '🤣', '🙌', '👏'];
const REACTION_MS = 5000;

/** A typed line as a chat payload: behaviour from its first character, masquerade for performers. */
export function chatPayload(text, { nickname, performer, isPrivate = false }) {
  let message = text.trim();
  let behavior = 'speak';
  let user = nickname;
  let isPlayer = performer;
  const masquerade = performer && !isPrivate ? message.match(/^-(\S+)\s+(.+)$/s) : null;
  if (masquerade) {
    [, user, message] = masquerade;
    isPlayer = false;
  }
  if (message.startsWith(':')) {
    behavior = 'think';
    message = message.slice(1).trim();
  } else if (message.startsWith('!')) {
    behavior = 'shout';
    message = message.slice(1).trim().toUpperCase();
  }
  return { id: randomId(), user, message, behavior, isPlayer, isPrivate, at: Date.now() };
}

export class ChatPanel {
  /** `publish(topic, payload)` sends; `speak(payload)` makes a held avatar speak (or nothing). */
  constructor(root, { role, nickname, publish, speak, flyOver }) {
    this.role = role;
    this.performer = role !== 'audience';
    this.publish = publish;
    this.speak = speak;
    this.flyOver = flyOver;
    this.tab = 'public';
    this.chat = { messages: [], privateMessages: [] };
    this.log = h('ol', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Chat messages' });
    this.nick = h('input', { name: 'nickname', value: nickname, maxlength: 40, autocomplete: 'nickname' });
    this.input = h('input', { name: 'message', maxlength: 4000, autocomplete: 'off', placeholder: 'Say something…', enterkeyhint: 'send' });
    this.error = h('p', { class: 'error', role: 'alert', hidden: true });
    const form = h('form', { class: 'chat-form', onsubmit: (e) => { e.preventDefault(); this.send(); } },
      h('label', { class: 'nick' }, 'Nickname', this.nick),
      h('label', { class: 'say' }, h('span', { class: 'visually-hidden' }, 'Chat message'), this.input),
      h('button', { type: 'submit' }, 'Send'));
    this.nick.addEventListener('change', () => this.onNickname?.(this.nick.value.trim()));
    this.tabs = this.performer ? this.tabBar() : null;
    this.clearButton = role === 'owner' || role === 'editor'
      ? h('button', { type: 'button', class: 'secondary clear', onclick: () => this.clear() }, 'Clear chat') : null;
    this.reactions = h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
      REACTIONS.map((emoji) => h('button', { type: 'button', class: 'reaction', 'aria-label': `React ${emoji}`, onclick: () => this.publish('reaction', emoji) }, emoji)));
    this.panel = h('section', { class: 'chat', 'aria-label': 'Chat' }, this.tabs, this.log, this.error, form, this.clearButton);
    root.append(this.panel, this.reactions);
  }

  tabBar() {
    const tab = (name, label) => h('button', { type: 'button', role: 'tab', class: 'tab', dataset: { tab: name }, 'aria-selected': String(this.tab === name), onclick: () => this.select(name) }, label);
    return h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Chat' }, tab('public', 'Chat'), tab('private', 'Players'));
  }

  select(name) {
    this.tab = name;
    for (const b of this.tabs.querySelectorAll('[role=tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
    if (this.clearButton) this.clearButton.textContent = name === 'private' ? 'Clear player chat' : 'Clear chat';
    this.render(this.chat, this.settings);
  }

  async send() {
    const text = this.input.value;
    if (!text.trim()) return;
    const isPrivate = this.tab === 'private';
    const payload = chatPayload(text, { nickname: this.nick.value.trim() || 'Guest', performer: this.performer, isPrivate });
    this.input.value = '';
    const ack = await this.publish('chat', payload);
    this.showError(ack);
    if (ack.ok && !isPrivate && this.performer) await this.speak?.(payload);
  }

  async clear() {
    this.showError(await this.publish('chat', this.tab === 'private' ? { clearPlayerChat: true } : { clear: true }));
  }

  showError(ack) {
    this.error.hidden = ack.ok;
    this.error.textContent = ack.ok ? '' : ack.error?.message ?? 'not sent';
  }

  /** Show the chat of the state and apply the stage's chat and reaction settings. */
  render(chat, settings = {}) {
    this.chat = chat;
    this.settings = settings;
    const list = this.tab === 'private' ? chat.privateMessages ?? [] : chat.messages;
    this.log.replaceChildren(...list.map((m) => h('li', { class: [m.isPlayer === true ? 'player' : 'audience', m.highlighted === true ? 'highlighted' : '', oneOf(m.behavior, BEHAVIORS, '')].join(' ') },
      h('b', { class: 'nick' }, `${String(m.user ?? 'Anonymous')}: `), h('span', {}, String(m.message ?? '')))));
    this.log.scrollTop = this.log.scrollHeight;
    this.panel.hidden = settings.chatVisibility === false && !this.performer;
    this.panel.classList.toggle('dark', settings.chatDarkMode === true);
    this.reactions.hidden = settings.reactionVisibility === false;
  }

  /** An emoji flying up over the stage at a random x for 5 s. */
  reaction(emoji) {
    if (typeof emoji !== 'string') return;
    const el = h('span', { class: 'flying', 'aria-hidden': 'true' }, emoji);
    el.style.left = `${5 + Math.random() * 85}%`;
    el.style.animationDuration = `${REACTION_MS}ms`;
    this.flyOver.append(el);
    setTimeout(() => el.remove(), REACTION_MS);
  }
}
