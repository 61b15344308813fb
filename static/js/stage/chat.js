// The chat panel and the reactions bar. Public chat for everyone with a nickname; a private
// "Players" tab and a clear button for performers; Enter sends. Messages follow the original
// client: ":text" thinks, "!text" shouts, a performer's "-Name text" speaks as Name, and a
// performer holding an avatar also makes it speak. Reactions are big thumb-sized buttons whose
// emoji fly over the stage on every screen. Per-message controls, the unread badge, @mentions,
// chat colours and the download are in chat-tools.js; the emoji popover in emoji-picker.js.
import { h } from '../dom.js';
import { randomId, tabSession } from './connection.js';
import { Unread, colorPicker, downloadChat, mentions, messageItem } from './chat-tools.js';
import { emojiPicker } from './emoji-picker.js';

export const REACTIONS = ['❤️', '🤣', '🙌', '👏'];
const SAY = 'Say something…';
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
  constructor(root, { role, nickname, publish, speak, flyOver, stage = decodeURIComponent(location.pathname.split('/')[2] ?? '') }) {
    this.role = role;
    this.performer = role !== 'audience';
    this.publish = publish;
    this.speak = speak;
    this.flyOver = flyOver;
    this.tab = 'public';
    this.chat = { messages: [], privateMessages: [] };
    this.stage = stage;
    this.unread = new Unread(stage);
    this.color = this.performer ? colorPicker() : null;
    this.log = h('ol', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Chat messages' });
    this.nick = h('input', { name: 'nickname', value: nickname, maxlength: 40, autocomplete: 'nickname' });
    this.input = h('input', { name: 'message', maxlength: 4000, autocomplete: 'off', placeholder: SAY, enterkeyhint: 'send' });
    this.sendButton = h('button', { type: 'submit' }, 'Send');
    this.notice = h('p', { class: 'chat-notice', role: 'status', hidden: true });
    this.error = h('p', { class: 'error', role: 'alert', hidden: true });
    const form = h('form', { class: 'chat-form', onsubmit: (e) => { e.preventDefault(); this.send(); } },
      h('label', { class: 'nick' }, 'Nickname', this.nick),
      h('label', { class: 'say' }, h('span', { class: 'visually-hidden' }, 'Chat message'), this.input),
      this.sendButton);
    this.nick.addEventListener('change', () => this.onNickname?.(this.nick.value.trim()));
    this.tabs = this.performer ? this.tabBar() : null;
    // players clear only where the owner allows it (settings.playersMayClearChat; the hub checks)
    this.clearButton = this.performer
      ? h('button', { type: 'button', class: 'secondary clear', hidden: role === 'player', onclick: () => this.clear() }, 'Clear chat') : null;
    const actions = this.performer ? h('div', { class: 'chat-actions' }, this.clearButton,
      h('button', { type: 'button', class: 'secondary download', onclick: () => downloadChat(this.chat, this.stage) }, 'Download chat'), this.color.element) : null;
    const picker = emojiPicker((emoji) => this.react(emoji));
    this.reactions = h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
      REACTIONS.map((emoji) => h('button', { type: 'button', class: 'reaction', 'aria-label': `React ${emoji}`, onclick: () => this.react(emoji) }, emoji)), picker.toggle);
    const onStagePage = /^\/stage\/[^/]+\/?$/.test(location.pathname);
    const popOut = onStagePage ? h('a', { class: 'chat-window-link', href: `/stage/${encodeURIComponent(stage)}/chat`, target: '_blank', rel: 'noopener' }, 'Chat in its own window ↗') : null;
    this.panel = h('section', { class: 'chat', 'aria-label': 'Chat' }, this.tabs, this.log, this.notice, this.error, form, actions, popOut);
    root.append(this.panel, this.reactions, picker.popover);
  }

  tabBar() {
    const tab = (name, ...label) => h('button', { type: 'button', role: 'tab', class: 'tab', dataset: { tab: name }, 'aria-selected': String(this.tab === name), onclick: () => this.select(name) }, ...label);
    this.badge = h('span', { class: 'badge', hidden: true });
    return h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Chat' }, tab('public', 'Chat'), tab('private', 'Players', this.badge));
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
    if (this.color?.chosen) payload.color = this.color.chosen;
    this.input.value = '';
    const ack = await this.publish('chat', payload);
    this.showError(ack);
    if (ack.ok && !isPrivate && this.performer) await this.speak?.(payload);
  }

  async clear() {
    this.showError(await this.publish('chat', this.tab === 'private' ? { clearPlayerChat: true } : { clear: true }));
  }

  react(emoji) {
    return this.publish('reaction', emoji).then((ack) => this.showError(ack));
  }

  showError(ack) {
    this.error.hidden = ack.ok;
    this.error.textContent = ack.ok ? '' : ack.error?.message ?? 'not sent';
  }

  /** Show the chat of the state and apply the stage's chat and reaction settings. */
  render(chat, settings = {}) {
    this.chat = chat;
    this.settings = settings;
    const me = { session: tabSession().session, nickname: this.nick.value.trim() };
    this.notifyPrivate(chat.privateMessages ?? [], me);
    const list = this.tab === 'private' ? chat.privateMessages ?? [] : chat.messages;
    const moderate = this.performer ? (control) => this.publish('chat', control).then((ack) => this.showError(ack)) : null;
    this.log.replaceChildren(...list.map((m) => messageItem(m, { me, moderate })));
    this.log.scrollTop = this.log.scrollHeight;
    this.panel.hidden = settings.chatVisibility === false && !this.performer;
    this.panel.classList.toggle('dark', settings.chatDarkMode === true);
    this.reactions.hidden = settings.reactionVisibility === false;
    if (this.clearButton) this.clearButton.hidden = this.role === 'player' && settings.playersMayClearChat !== true;
    const closed = settings.audienceChat === false && !this.performer;
    this.input.disabled = this.sendButton.disabled = closed;
    this.input.placeholder = closed ? 'The audience chat is off' : SAY;
    const hiddenNote = this.performer && settings.chatVisibility === false ? 'The chat is hidden from the audience.' : '';
    const closedNote = settings.audienceChat === false ? (this.performer ? 'The audience chat is off.' : 'The chat is closed to the audience for now.') : '';
    this.notice.textContent = [hiddenNote, closedNote].filter(Boolean).join(' ');
    this.notice.hidden = !this.notice.textContent;
  }

  /** The Players tab's unread badge; a new private message that @mentions me opens the tab. */
  notifyPrivate(list, me) {
    if (!this.tabs) return;
    if (this.tab !== 'private') {
      const unread = this.unread.of(list, me.session);
      if (unread.some((m) => mentions(m.message, me.nickname))) return this.select('private');
      this.badge.textContent = String(unread.length);
      this.badge.hidden = unread.length === 0;
      this.badge.setAttribute('aria-label', `${unread.length} unread`);
    } else {
      this.unread.saw(list);
      this.badge.hidden = true;
    }
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
