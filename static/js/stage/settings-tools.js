// The toolbox's "Chat & reactions" group (performers only): the stage settings performers change
// during a show, each a `background` publish the hub keeps in `settings` (so every screen and a
// late joiner follow it): chat shown to the audience, reactions on, dark chat, chat left or right,
// the audience may chat; and, for the owner and editors only, whether players may clear the chat.
// The controls show the state as the echo brings it, never a local guess.
import { h } from '../dom.js';

// setting -> [label, payload type, payload field]; checkboxes
const SWITCHES = [
  ['chatVisibility', 'Chat shown to the audience', 'setChatVisibility', 'visible'],
  ['reactionVisibility', 'Reactions on', 'setReactionVisibility', 'visible'],
  ['audienceChat', 'Audience may chat', 'setAudienceChat', 'enabled'],
  ['chatDarkMode', 'Dark chat', 'setDarkModeChat', 'enabled'],
  ['playersMayClearChat', 'Players may clear the chat', 'setPlayersMayClearChat', 'enabled'],
];
const OWNERS_ONLY = new Set(['playersMayClearChat']); // the hub refuses it from players

export class SettingsTools {
  constructor(toolbox) {
    this.page = toolbox.page;
    this.error = h('p', { class: 'error', role: 'alert', hidden: true });
    const mayDecide = toolbox.role === 'owner' || toolbox.role === 'editor';
    this.boxes = new Map(SWITCHES.filter(([name]) => mayDecide || !OWNERS_ONLY.has(name)).map(([name, label, type, field]) => {
      const box = h('input', { type: 'checkbox', name });
      box.addEventListener('change', () => this.send({ type, [field]: box.checked }));
      return [name, { box, label }];
    }));
    this.side = h('select', { name: 'chatPosition', 'aria-label': 'Chat side' }, h('option', { value: 'left' }, 'Chat on the left'), h('option', { value: 'right' }, 'Chat on the right'));
    this.side.addEventListener('change', () => this.send({ type: 'setChatPosition', position: this.side.value }));
    this.panel = h('section', { class: 'tool-group stage-settings', 'aria-label': 'Chat & reactions' }, h('h3', {}, 'Chat & reactions'),
      h('div', { class: 'row' }, [...this.boxes.values()].map(({ box, label }) => h('label', { class: 'inline' }, box, label)), this.side),
      this.error);
    this.update();
  }

  async send(payload) {
    const ack = await this.page.publish('background', payload);
    this.error.hidden = ack.ok;
    this.error.textContent = ack.ok ? '' : ack.error?.message ?? 'not sent';
    if (!ack.ok) this.update(); // back to what the stage says
  }

  /** Show the stage's settings (after a join or any background event). */
  update(event) {
    if (event && event.topic !== 'background') return;
    const settings = this.page.state?.settings ?? {};
    for (const [name, { box }] of this.boxes) box.checked = name === 'playersMayClearChat' || name === 'chatDarkMode' ? settings[name] === true : settings[name] !== false;
    this.side.value = settings.chatPosition === 'left' ? 'left' : 'right';
  }
}
