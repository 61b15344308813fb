// The toolbox's "Streams" group (performers only; docs/streaming.md): the stage's live streams
// (state.streams) to place as tiles, and the performer's stream keys: make one (label, expiry),
// whose publish address and secret are shown this once with a copy button, list them, revoke.
import { h } from '../dom.js';
import { call, randomId } from './connection.js';
import { button } from './toolbox.js';
import { KEY_EXPIRIES, mySession, withHost } from './stream.js';

const when = (seconds) => new Date(seconds * 1000).toLocaleString();

function copyRow(label, value) {
  const field = h('input', { readonly: true, value, 'aria-label': label, class: 'stream-secret' });
  const copy = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    field.select();
    try { await navigator.clipboard.writeText(value); copy.textContent = 'Copied'; } catch { document.execCommand?.('copy'); }
  } }, 'Copy');
  return h('label', {}, label, h('div', { class: 'row' }, field, copy));
}

export class StreamTools {
  constructor(toolbox) {
    this.toolbox = toolbox;
    this.live = h('ul', { class: 'live-streams' });
    this.keys = h('ul', { class: 'stream-keys' });
    this.created = h('div', { class: 'stream-created', 'aria-live': 'polite' });
    this.error = h('p', { class: 'error', role: 'alert', hidden: true });
    const label = h('input', { name: 'label', maxlength: 100, placeholder: 'Label (e.g. camera 1)', 'aria-label': 'Stream key label' });
    const ttl = h('select', { 'aria-label': 'Stream key expiry' }, KEY_EXPIRIES.map(([v, l]) => h('option', { value: v, selected: v === 24 * 3600 }, l)));
    const form = h('form', { class: 'row', onsubmit: async (e) => {
      e.preventDefault();
      const ack = await this.call('createStreamKey', { label: label.value.trim() || undefined, ttl: Number(ttl.value) });
      if (!ack.ok) return;
      label.value = '';
      this.showCreated(ack);
      this.loadKeys();
    } }, label, ttl, h('button', { type: 'submit' }, 'New stream key'));
    this.panel = h('section', { class: 'tool-group', 'aria-label': 'Streams' }, h('h3', {}, 'Streams'),
      h('p', { class: 'muted' }, 'Live on this stage:'), this.live,
      h('h4', {}, 'Stream keys'), form, this.error, this.created, this.keys);
    this.renderLive();
    this.loadKeys();
  }

  async call(name, data) {
    const ack = await call(this.toolbox.conn.socket, name, data);
    this.error.hidden = ack.ok;
    this.error.textContent = ack.ok ? '' : ack.error?.message ?? 'failed';
    return ack;
  }

  /** The new key's publish address (OBS: server + stream key), shown once. */
  showCreated(ack) {
    this.created.replaceChildren(
      h('p', {}, `Key "${ack.key.label || ack.key.name}": copy it now, it is not shown again.`),
      copyRow('Publish URL (ffmpeg)', withHost(ack.publishUrl)),
      copyRow('Server (OBS)', withHost(ack.server)),
      copyRow('Stream key (OBS)', ack.streamKey),
      button('Done', () => this.created.replaceChildren()));
  }

  async loadKeys() {
    const ack = await this.call('streamKeys', {});
    const keys = ack.ok ? ack.keys : [];
    const now = Date.now() / 1000;
    this.keys.replaceChildren(...keys.map((k) => h('li', { dataset: { keyId: k.id } },
      h('span', {}, `${k.label || k.name} (${k.name})`),
      h('span', { class: 'muted' }, k.revoked ? 'revoked' : k.expiresAt <= now ? 'expired' : `until ${when(k.expiresAt)}`),
      k.revoked || k.expiresAt <= now ? '' : button('Revoke', async () => { if ((await this.call('revokeStreamKey', { id: k.id })).ok) this.loadKeys(); }, { 'aria-label': `Revoke stream key ${k.label || k.name}` }))));
  }

  /** The stage's live streams, each with a button to place it as a tile. */
  renderLive() {
    const streams = Object.entries(this.toolbox.page.state.streams ?? {}).filter(([, s]) => s.live);
    this.live.replaceChildren(...(streams.length ? streams.map(([name, s]) => h('li', {},
      h('span', {}, `${name}${s.performer ? ` (${s.performer})` : ''}`),
      button('Place', () => this.place(name), { 'aria-label': `Place stream ${name}` }))) : [h('li', { class: 'muted' }, 'No stream is live.')]));
  }

  /** A 16:9 tile of stream `name`, mid-stage; this tab is its host (it hears its viewers' health). */
  place(name) {
    const view = this.toolbox.page.view;
    const w = 0.32;
    const hgt = w * 9 / 16;
    return this.toolbox.board('placeObjectOnStage', {
      id: randomId(16), type: 'stream', name, hostId: mySession(), x: 0.5 - w / 2, y: 0.5 / view.ratio - hgt / 2, w, h: hgt,
      rotate: 0, opacity: 1, scaleX: 1, scaleY: 1, moveSpeed: this.toolbox.speed, displayName: this.toolbox.page.nickname(),
    });
  }

  update(event) {
    if (event?.topic === 'stream') this.renderLive();
  }
}
