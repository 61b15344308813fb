// The performers' toolbox, loaded only for owner/editor/player (the audience's page never has it
// in its DOM): the stage's media from GraphQL (drag an avatar or prop onto the stage, or press
// its button), the selected object's actions (hold and speak, front/back, flip, opacity, frames,
// delete), text objects (add, change the words), backdrop and colour, curtain, whiteboard pen,
// audio (audio-tools.js), video clips (the Video group and the selected clip's controls, in
// video-tools.js), scenes, and "view as audience". Every change is a publish; the page shows it
// when the echo comes back.
import { gql } from '../api.js';
import { h } from '../dom.js';
import { call, randomId } from './connection.js';
import { textOf } from './render.js';
import { Selection } from './selection.js';
import { aspectOf, videoControls, videoFields, videoThumb } from './video-tools.js';
import { StreamTools } from './stream_tools.js';
import { SettingsTools } from './settings-tools.js';
import { BoardTools } from './board-tools.js';
import { AudioTools } from './audio-tools.js';
import { RecordTools } from './record-tools.js';
import { LookTools, frameControls } from './frame-tools.js';

const MEDIA_QUERY = `query($slug: String!) { stage(slug: $slug) { media { id name type url mime frames voice link } } }`;
const PLACED = ['Avatars', 'Props', 'Video']; // groups whose items are placed on the board (dragged or pressed)
const imageThumb = (m) => h('img', { src: m.url, alt: '' });
export const absolute = (url) => new URL(url, location.href).href;
export const button = (label, onclick, attrs = {}) => h('button', { type: 'button', class: 'secondary', onclick, ...attrs }, label);
const group = (title, ...children) => h('section', { class: 'tool-group', 'aria-label': title }, h('h3', {}, title), ...children);
// A text object's `content` is HTML (spec §2.1): typed words go in escaped, so they stay words.
const asHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Stage media (GraphQL) grouped by type; an empty list (and a message) when it cannot be read. */
async function loadMedia(slug) {
  try {
    const data = await gql(MEDIA_QUERY, { slug });
    return { media: data.stage?.media ?? [], error: null };
  } catch (err) {
    return { media: [], error: err.message };
  }
}

export class Toolbox {
  constructor(root, { slug, role, conn, page }) {
    Object.assign(this, { slug, role, conn, page });
    this.media = [];
    this.held = null;
    this.speed = 1000;
    this.selection = new Selection(page.view, { onChange: (obj) => this.showSelected(obj), commit: (obj) => this.board('moveTo', obj) });
    this.selected = h('div', { class: 'selected-tools' });
    this.mediaRoot = h('div', { class: 'media' }, h('p', { class: 'muted' }, 'Loading media…'));
    this.sceneList = h('ul', { class: 'scenes' });
    this.boardTools = new BoardTools(this); // costumes and the lightbulb
    this.panel = h('aside', { class: 'toolbox', 'aria-label': 'Toolbox' },
      h('h2', {}, 'Toolbox'), group('Selected', this.selected), this.boardTools.panel, this.mediaRoot,
      this.textTools(), this.backdropTools(), this.drawTools(), this.sceneTools());
    this.streams = new StreamTools(this);
    this.audioTools = new AudioTools(this);
    this.recorder = new RecordTools(this);
    this.panel.append(this.streams.panel);
    this.settingsTools = new SettingsTools(this);
    this.panel.append(this.settingsTools.panel);
    this.look = new LookTools(page, group); // backdrop opacity and speed, bubble and curtain animations
    this.panel.insertBefore(this.look.panel, this.streams.panel);
    root.append(this.panel);
    this.showSelected(null);
    this.dropTarget(page.view.stage);
    this.refresh();
  }

  async refresh() {
    const { media, error } = await loadMedia(this.slug);
    this.media = media;
    const byType = (type) => media.filter((m) => m.type === type);
    this.mediaRoot.replaceChildren(
      error ? h('p', { class: 'error', role: 'alert' }, `Media could not be loaded: ${error}`) : '',
      this.mediaGroup('Avatars', byType('avatar'), (m) => this.place(m)),
      this.mediaGroup('Props', byType('prop'), (m) => this.place(m)),
      this.mediaGroup('Video', byType('video'), (m) => this.place(m), videoThumb),
      this.mediaGroup('Backdrops', byType('backdrop'), (m) => this.backdrop(m)),
      this.mediaGroup('Curtains', byType('curtain'), (m) => this.curtain(m)),
      this.audioTools.group(byType('audio')),
    );
    this.loadScenes();
  }

  mediaGroup(title, items, use, thumb = imageThumb) {
    const draggable = PLACED.includes(title);
    return group(title, h('ul', { class: 'media-list' }, items.map((m) => h('li', {},
      h('button', {
        type: 'button', class: 'media-item', draggable: draggable ? 'true' : null, dataset: { mediaId: m.id },
        title: draggable ? `Drag ${m.name} onto the stage, or press to place it` : m.name, onclick: () => use(m),
        ondragstart: (e) => { e.dataTransfer.setData('application/x-upstage-media', String(m.id)); e.dataTransfer.effectAllowed = 'copy'; },
      }, thumb(m), h('span', {}, m.name))))));
  }

  dropTarget(stage) {
    stage.addEventListener('dragover', (e) => {
      if (e.dataTransfer.types.includes('application/x-upstage-media')) e.preventDefault();
    });
    stage.addEventListener('drop', (e) => {
      const id = e.dataTransfer.getData('application/x-upstage-media');
      const media = this.media.find((m) => String(m.id) === id);
      if (!media) return;
      e.preventDefault();
      this.place(media, this.page.view.toStage(e.clientX, e.clientY));
    });
  }

  board(type, object) {
    return this.page.publish('board', { type, object });
  }

  /** Put an avatar, prop or video clip on the stage centred on `at` (stage units), sized from its image or video. */
  place(media, at = { x: 0.5, y: 0.5 / this.page.view.ratio }) {
    const thumb = this.mediaRoot.querySelector(`[data-media-id="${media.id}"] :is(img, video)`);
    const aspect = aspectOf(thumb);
    const w = media.type === 'video' ? 0.3 : 0.15;
    const frames = (media.frames ?? []).map(absolute);
    const obj = {
      id: randomId(16), type: media.type, name: media.name, assetId: media.id, src: absolute(media.url),
      frames, multi: frames.length > 1, autoplayFrames: 0, x: at.x - w / 2, y: at.y - (w * aspect) / 2, w, h: w * aspect,
      rotate: 0, opacity: 1, scaleX: 1, scaleY: 1, moveSpeed: this.speed, volume: 100,
      voice: media.voice ?? null, link: media.link ?? null, displayName: this.page.nickname(),
      ...(media.type === 'video' ? videoFields(thumb) : {}), ...this.boardTools.placing(),
    };
    return this.board('placeObjectOnStage', obj);
  }

  backdrop(media) {
    const background = { id: media.id, name: media.name, type: 'backdrop', src: absolute(media.url), frames: (media.frames ?? []).map(absolute), opacity: 1, speed: 0, at: Date.now() };
    return this.page.publish('background', { type: 'changeBackground', background });
  }

  curtain(media) {
    return this.page.publish('background', { type: 'drawCurtain', curtain: { id: media.id, src: absolute(media.url), at: Date.now() } });
  }

  /** The actions on the selected object, rebuilt whenever the selection changes. */
  showSelected(obj) {
    if (!obj) {
      this.selected.replaceChildren(h('p', { class: 'muted' }, 'Click an object on the stage to select it.'));
      return;
    }
    const act = (type, extra = {}) => this.board(type, { ...obj, ...extra });
    const avatar = obj.type === 'avatar';
    const held = avatar && this.held === String(obj.id);
    const opacity = h('input', { type: 'range', min: 0, max: 1, step: 0.05, value: obj.opacity ?? 1, 'aria-label': 'Opacity' });
    opacity.addEventListener('change', () => act('moveTo', { opacity: Number(opacity.value) }));
    this.selected.replaceChildren(
      h('p', { class: 'selected-name' }, `${obj.name ?? obj.type} selected`),
      h('div', { class: 'row' },
        avatar ? button(held ? 'Release' : 'Hold to speak', () => this.hold(held ? null : obj.id), { 'aria-pressed': String(held) }) : '',
        button('To front', () => act('bringToFront')), button('To back', () => act('sendToBack')),
        button('Flip', () => act('moveTo', { scaleX: -(obj.scaleX ?? 1) })),
        button('Delete', () => { if (held) this.hold(null); act('destroy'); }, { class: 'danger' })),
      this.boardTools.selected(obj),
      h('label', {}, 'Opacity', opacity),
      frameControls(obj, act, () => this.page.view.clock()),
      obj.type === 'text' ? this.textEditor(obj, act) : '',
      obj.type === 'video' ? videoControls(obj, {
        publish: (o) => this.board('moveTo', o), now: () => this.page.view.clock(), element: this.page.view.elements.get(String(obj.id))?.body,
      }) : '',
    );
  }

  /** "Add text": a text object with the typed words, in the pen's colour, mid-stage. */
  textTools() {
    const words = h('input', { name: 'text', maxlength: 500, placeholder: 'Words to show', 'aria-label': 'Text to add' });
    const size = h('select', { 'aria-label': 'Text size' }, [[24, 'Small'], [40, 'Medium'], [72, 'Large']].map(([v, l]) => h('option', { value: v, selected: v === 40 }, l)));
    const color = h('input', { type: 'color', value: '#000000', 'aria-label': 'Text colour' });
    const form = h('form', { class: 'row add-text', onsubmit: (e) => {
      e.preventDefault();
      const text = words.value.trim();
      if (!text) return;
      const w = Math.min(0.6, 0.05 + text.length * Number(size.value) * 0.0006);
      this.board('placeObjectOnStage', {
        id: randomId(16), type: 'text', name: text.slice(0, 40), content: asHtml(text), fontSize: `${size.value}px`, color: color.value,
        fontFamily: '', x: 0.5 - w / 2, y: 0.2, w, h: Number(size.value) / 500, rotate: 0, opacity: 1, scaleX: 1, scaleY: 1, moveSpeed: this.speed,
        displayName: this.page.nickname(), ...this.boardTools.placing(),
      });
      words.value = '';
    } }, words, size, color, h('button', { type: 'submit' }, 'Add text'));
    return group('Text', form);
  }

  /** Change the words of the selected text object (one moveTo, as the original). */
  textEditor(obj, act) {
    const words = h('input', { name: 'text', maxlength: 500, value: textOf(obj.content ?? obj.name ?? ''), 'aria-label': 'Words of the selected text' });
    return h('form', { class: 'row', onsubmit: (e) => {
      e.preventDefault();
      const text = words.value.trim();
      if (text) act('moveTo', { name: text.slice(0, 40), content: asHtml(text) });
    } }, words, h('button', { type: 'submit', class: 'secondary' }, 'Change text'));
  }

  /** Hold an avatar (presence avatarId): chat from this tab then also speaks through it. */
  async hold(id) {
    const ack = await this.conn.presence({ avatarId: id === null ? null : String(id) });
    if (ack.ok) this.held = id === null ? null : String(id);
    this.showSelected(this.selection.object);
  }

  /** The avatar this tab holds as the roster says (another player may have taken it). */
  setHeld(id) {
    if (id === this.held) return;
    this.held = id;
    this.showSelected(this.selection.object);
  }

  /** Called by the chat for each public message: the held avatar speaks it. */
  speak(payload) {
    const avatar = this.held === null ? null : this.page.view.elements.get(this.held)?.obj;
    if (avatar) return this.page.publish('board', { type: 'speak', avatar, speak: payload });
    return null;
  }

  backdropTools() {
    const color = h('input', { type: 'color', value: '#30ac45', 'aria-label': 'Backdrop colour' });
    color.addEventListener('change', () => this.page.publish('background', { type: 'setBackdropColor', color: color.value }));
    const speed = h('select', { 'aria-label': 'Move speed' }, [[0, 'Instant'], [500, '0.5 s'], [1000, '1 s'], [2000, '2 s'], [4000, '4 s']]
      .map(([v, label]) => h('option', { value: v, selected: v === this.speed }, label)));
    speed.addEventListener('change', () => { this.speed = Number(speed.value); });
    return group('Stage',
      h('div', { class: 'row' }, h('label', {}, 'Backdrop colour', color), h('label', {}, 'Move speed', speed)),
      h('div', { class: 'row' },
        button('Open curtain', () => this.page.publish('background', { type: 'drawCurtain', curtain: null })),
        button('Blank scene', () => this.page.publish('background', { type: 'blankScene' })),
        button('View as audience', () => this.page.viewAsAudience(true), { class: 'view-as-audience' })));
  }

  drawTools() {
    const color = h('input', { type: 'color', value: '#000000', 'aria-label': 'Pen colour' });
    const size = h('select', { 'aria-label': 'Pen size' }, [[0.005, 'Thin'], [0.012, 'Medium'], [0.03, 'Thick']].map(([v, l]) => h('option', { value: v }, l)));
    const erase = h('input', { type: 'checkbox', 'aria-label': 'Eraser' });
    const pen = button('Draw', () => {
      const on = pen.getAttribute('aria-pressed') !== 'true';
      pen.setAttribute('aria-pressed', String(on));
      this.page.whiteboard.setPen(on ? {
        get color() { return color.value; }, get size() { return Number(size.value); }, get erase() { return erase.checked; },
        publish: (command) => this.page.publish('draw', { type: 'newLine', command }),
      } : null);
    }, { 'aria-pressed': 'false', class: 'secondary pen' });
    const commands = () => this.page.state.whiteboard.commands;
    return group('Whiteboard', h('div', { class: 'row' }, pen, color, size, h('label', { class: 'inline' }, erase, 'Eraser')),
      h('div', { class: 'row' },
        button('Undo', () => commands().length && this.page.publish('draw', { type: 'undo', index: commands().length - 1 })),
        button('Clear drawing', () => this.page.publish('draw', { type: 'clear' }))));
  }

  sceneTools() {
    const name = h('input', { name: 'scene', maxlength: 100, placeholder: 'Scene name', 'aria-label': 'Scene name' });
    this.sceneError = h('p', { class: 'error', role: 'alert', hidden: true });
    const form = h('form', { class: 'row', onsubmit: async (e) => {
      e.preventDefault();
      const ack = await call(this.conn.socket, 'saveScene', { name: name.value });
      this.sceneError.hidden = ack.ok;
      this.sceneError.textContent = ack.ok ? '' : ack.error.message;
      if (ack.ok) name.value = '';
    } }, name, h('button', { type: 'submit' }, 'Save scene'));
    return group('Scenes', form, this.sceneError, this.sceneList);
  }

  /** The stage's saved scenes (socket `scenes`), each with a button to switch to it. */
  async loadScenes() {
    const ack = await call(this.conn.socket, 'scenes', {});
    const scenes = ack.ok ? ack.scenes.filter((s) => s.active !== false) : [];
    this.sceneList.replaceChildren(...scenes.map((s) => h('li', {}, h('span', {}, s.name),
      button('Switch', () => this.page.publish('background', { type: 'switchScene', scene: s.id }), { 'aria-label': `Switch to scene ${s.name}` }))));
  }

  /** Stop the parts that listen outside the panel (keys, timers, the stage bar's record button):
   * the page dropped the toolbox (logged out, or the role changed). */
  destroy() {
    this.audioTools.destroy();
    this.recorder.destroy();
  }

  /** Keep the tools in step with the state after each render. */
  update(event) {
    this.selection.sync();
    if (event?.topic === 'background' && event.payload?.type === 'loadScenes') this.loadScenes();
    this.streams.update(event);
    this.settingsTools.update(event);
    this.audioTools.update();
    if (event?.topic === 'background') this.look.update();
    // rebuilt on board changes, except while the performer is typing in it (the text's words)
    const typing = this.selected.contains(document.activeElement) && document.activeElement.matches('input:not([type])');
    if (event?.topic === 'board' && !typing) this.showSelected(this.selection.object);
  }
}
