// Costumes and the lightbulb in the performers' toolbox (issue 17). "Place backstage" makes the
// next placements visible to performers only (`backstage: true`); the selected backstage object
// gets "💡 Show to audience" (one publish: the hub sends the whole object to the audience), a
// public one "Hide backstage". A selected prop can be worn by an avatar on the board ("Wear on",
// one moveTo with `wornBy` and its pose) and taken off; the wearer's moves carry it on every
// screen (the reducer, costumes.js), so its moves are never sent.
import { h } from '../dom.js';
import { isBackstage } from './costumes.js';
import { sameId } from './state.js';
import { button } from './toolbox.js';

/** A costume's pose on `avatar`: kept where it is when it overlaps it, else over its head. */
function poseOn(obj, avatar) {
  const [x, y, w] = [obj.x ?? 0, obj.y ?? 0, obj.w ?? 0.1];
  const cx = x + w / 2;
  const cy = y + (obj.h ?? 0.1) / 2;
  const [ax, ay, aw, ah] = [avatar.x ?? 0, avatar.y ?? 0, avatar.w ?? 0.1, avatar.h ?? 0.1];
  if (cx >= ax && cx <= ax + aw && cy >= ay && cy <= ay + ah) return {};
  return { x: ax + aw / 2 - w / 2, y: ay };
}

export class BoardTools {
  /** `toolbox` is the Toolbox: its `board(type, object)` publishes, its page holds the state. */
  constructor(toolbox) {
    this.toolbox = toolbox;
    this.backstage = false;
    this.toggle = button('Place backstage', () => this.setBackstage(!this.backstage), {
      class: 'secondary place-backstage', 'aria-pressed': 'false',
      title: 'New objects are seen by performers only, until you show them with the lightbulb',
    });
    this.panel = h('section', { class: 'tool-group lightbulb-tools', 'aria-label': 'Backstage' },
      h('h3', {}, 'Backstage'), h('div', { class: 'row' }, this.toggle));
  }

  setBackstage(on) {
    this.backstage = on;
    this.toggle.setAttribute('aria-pressed', String(on));
  }

  /** What a new placement adds: `backstage: true` while "Place backstage" is on. */
  placing() {
    return this.backstage ? { backstage: true } : {};
  }

  get objects() {
    return this.toolbox.page.state.board.objects;
  }

  /** The costumes worn by `obj` (on the board now). */
  costumesOf(obj) {
    return this.objects.filter((o) => sameId(o.wornBy, obj.id));
  }

  /** Show or hide an object and its costumes: the wearer first, so no costume floats alone. */
  async setShown(obj, shown) {
    const worn = this.costumesOf(obj).filter((c) => isBackstage(c) === shown);
    if (shown) await this.toolbox.board('placeObjectOnStage', { id: obj.id, backstage: false });
    else await this.toolbox.board('moveTo', { id: obj.id, backstage: true });
    for (const costume of worn) {
      if (shown) await this.toolbox.board('placeObjectOnStage', { id: costume.id, backstage: false });
      else await this.toolbox.board('moveTo', { id: costume.id, backstage: true });
    }
  }

  /** The selected object's lightbulb and costume controls. */
  selected(obj) {
    const hidden = isBackstage(obj);
    const bulb = hidden
      ? button('💡 Show to audience', () => this.setShown(obj, true), { class: 'lightbulb', title: 'Show this object to the audience, as it is now' })
      : button('Hide backstage', () => this.setShown(obj, false), { class: 'secondary hide-backstage' });
    return h('div', { class: 'row board-tools' }, hidden ? h('span', { class: 'backstage-note' }, 'Backstage: performers only') : '',
      bulb, obj.type === 'avatar' ? '' : this.costume(obj));
  }

  /** "Wear on <avatar>" for a prop, or "Take off" once worn. */
  costume(obj) {
    const wearer = this.objects.find((o) => sameId(o.id, obj.wornBy));
    if (wearer) {
      return button(`Take off (worn by ${wearer.name ?? 'an avatar'})`, () => this.toolbox.board('moveTo', { ...obj, wornBy: null }), { class: 'secondary take-off' });
    }
    // only avatars on the same side of the curtain: a costume follows only those (costumes.js)
    const avatars = this.objects.filter((o) => o.type === 'avatar' && isBackstage(o) === isBackstage(obj));
    if (!avatars.length) return '';
    const pick = h('select', { 'aria-label': 'Avatar to wear it' },
      avatars.map((a) => h('option', { value: String(a.id) }, String(a.name ?? a.id))));
    return h('span', { class: 'wear' }, pick, button('Wear', () => {
      const avatar = avatars.find((a) => String(a.id) === pick.value);
      if (avatar) this.toolbox.board('moveTo', { ...obj, ...poseOn(obj, avatar), wornBy: avatar.id });
    }, { class: 'secondary wear-on' }));
  }
}
