// Performers' direct manipulation of board objects: click an object to select it, drag it to
// move, drag the corner handle to resize, the top handle to rotate. While the gesture lasts only
// this screen changes; ONE `moveTo` with the whole object goes out when the pointer is lifted,
// and every other screen animates to it over the object's moveSpeed (as the original client).
import { h } from '../dom.js';

/** The direction (degrees, screen-wise) from a pose's centre to a point, both in stage units. */
const angle = (p, pose) => (Math.atan2(p.y - (pose.y + pose.h / 2), p.x - (pose.x + pose.w / 2)) * 180) / Math.PI;

export class Selection {
  /** `view` is the StageView; `onChange(obj | null)` is told what is selected; `commit(obj)` publishes. */
  constructor(view, { onChange, commit }) {
    this.view = view;
    this.onChange = onChange;
    this.commit = commit;
    this.id = null;
    this.frame = h('div', { class: 'selection', hidden: true },
      h('span', { class: 'handle rotate', title: 'Rotate', dataset: { gesture: 'rotate' } }),
      h('span', { class: 'handle resize', title: 'Resize', dataset: { gesture: 'resize' } }));
    view.layer.append(this.frame);
    view.layer.addEventListener('pointerdown', (e) => this.down(e));
    view.layer.addEventListener('pointermove', (e) => this.move(e));
    view.layer.addEventListener('pointerup', (e) => this.up(e));
    view.layer.addEventListener('pointercancel', () => this.cancel());
    view.stage.addEventListener('keydown', (e) => e.key === 'Escape' && this.select(null));
  }

  /** The selected object as the state has it now, or null. */
  get object() {
    return this.id === null ? null : this.view.elements.get(this.id)?.obj ?? null;
  }

  select(id) {
    this.id = id === null ? null : String(id);
    this.sync();
    this.onChange(this.object);
  }

  /** Keep the frame on the selected object after every render; drop it when the object is gone. */
  sync() {
    const entry = this.id === null ? null : this.view.elements.get(this.id);
    if (this.id !== null && !entry) {
      this.id = null;
      this.onChange(null);
    }
    for (const e of this.view.elements.values()) e.el.classList.toggle('selected', e === entry);
    this.frame.hidden = !entry;
    if (entry && !this.gesture) entry.el.append(this.frame);
  }

  down(e) {
    const el = e.target.closest('.obj');
    if (!el) {
      if (e.target === this.view.layer) this.select(null);
      return;
    }
    e.preventDefault();
    if (el.dataset.id !== this.id) this.select(el.dataset.id);
    const obj = this.object;
    if (!obj) return;
    const kind = e.target.dataset.gesture ?? 'move';
    const start = this.view.toStage(e.clientX, e.clientY);
    const pose = { x: obj.x ?? 0, y: obj.y ?? 0, w: obj.w ?? 0.1, h: obj.h ?? 0.1, rotate: obj.rotate ?? 0 };
    // a turn is measured from where the handle was grabbed (it sits above the object, or below it on a touch screen)
    const turn = kind === 'rotate' ? angle(start, pose) - pose.rotate : 0;
    this.gesture = { kind, start, pose, turn, now: { ...pose }, el, moved: false };
    this.view.layer.setPointerCapture(e.pointerId);
  }

  move(e) {
    const g = this.gesture;
    if (!g) return;
    const p = this.view.toStage(e.clientX, e.clientY);
    const dx = p.x - g.start.x;
    const dy = p.y - g.start.y;
    const { pose } = g;
    if (g.kind === 'move') g.now = { ...pose, x: pose.x + dx, y: pose.y + dy };
    else if (g.kind === 'resize') {
      const scale = Math.max(0.1, (pose.w + dx) / pose.w);
      g.now = { ...pose, w: pose.w * scale, h: pose.h * scale };
    } else g.now = { ...pose, rotate: (Math.round(angle(p, pose) - g.turn) + 720) % 360 };
    g.moved = g.moved || Math.abs(dx) + Math.abs(dy) > 0.002;
    this.preview(g.el, g.now);
  }

  /** Show a pose on this screen only, without animation. */
  preview(el, pose) {
    const k = this.view.ratio;
    Object.assign(el.style, {
      transitionDuration: '0ms', left: `${pose.x * 100}%`, top: `${pose.y * k * 100}%`,
      width: `${pose.w * 100}%`, height: `${pose.h * k * 100}%`, transform: `rotate(${pose.rotate}deg)`,
    });
  }

  up() {
    const g = this.gesture;
    this.gesture = null;
    const obj = this.object;
    if (!g || !g.moved || !obj) return;
    this.commit({ ...obj, ...g.now });
  }

  cancel() {
    const g = this.gesture;
    this.gesture = null;
    if (g) this.preview(g.el, g.pose);
  }
}
