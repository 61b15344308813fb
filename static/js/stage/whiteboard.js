// The shared whiteboard: a canvas over the stage that re-draws the state's stroke commands, and,
// for performers with the pen on, turns pointer strokes into one `draw newLine` on pen lift.
// Coordinates are divided by the stage height, as the original client sends them
// (`{type: draw|erase, size, color, x, y, lines: [{x, y, fromX, fromY}]}`).
import { h } from '../dom.js';

export class Whiteboard {
  constructor(view) {
    this.view = view;
    this.canvas = h('canvas', { class: 'whiteboard', 'aria-hidden': 'true' });
    view.overlay.append(this.canvas);
    this.commands = [];
    this.pen = null; // {color, size, erase, publish} while drawing is on
    this.stroke = null;
    view.stage.addEventListener('stageresize', () => this.resize());
    this.canvas.addEventListener('pointerdown', (e) => this.down(e));
    this.canvas.addEventListener('pointermove', (e) => this.move(e));
    this.canvas.addEventListener('pointerup', (e) => this.up(e));
    this.canvas.addEventListener('pointercancel', (e) => this.up(e));
    this.resize();
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.view.width * ratio);
    this.canvas.height = Math.round(this.view.height * ratio);
    this.draw(this.commands);
  }

  /** Turn the pen on (`{color, size, erase, publish(command)}`) or off (null). */
  setPen(pen) {
    this.pen = pen;
    this.canvas.classList.toggle('drawing', Boolean(pen));
  }

  /** Redraw every command (after a change of state or size). */
  draw(commands) {
    this.commands = commands;
    const ctx = this.canvas.getContext('2d');
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const command of commands) this.stroke_(ctx, command);
    if (this.stroke) this.stroke_(ctx, this.stroke);
  }

  stroke_(ctx, command) {
    const scale = this.canvas.height; // normalised by the stage height
    ctx.save();
    ctx.globalCompositeOperation = command.type === 'erase' ? 'destination-out' : 'source-over';
    ctx.strokeStyle = typeof command.color === 'string' ? command.color : '#000000'; // the canvas ignores what it cannot parse
    ctx.lineWidth = Math.max(1, (Number(command.size) || 0.005) * scale);
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    for (const line of Array.isArray(command.lines) ? command.lines : []) {
      if (line === null || typeof line !== 'object') continue; // the hub passes any command object through
      ctx.moveTo(line.fromX * scale, line.fromY * scale);
      ctx.lineTo(line.x * scale, line.y * scale);
    }
    ctx.stroke();
    ctx.restore();
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) / r.height, y: (e.clientY - r.top) / r.height };
  }

  down(e) {
    if (!this.pen) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    const p = this.point(e);
    const { color, size, erase } = this.pen;
    this.stroke = { type: erase ? 'erase' : 'draw', size, color, x: p.x, y: p.y, lines: [] };
    this.last = p;
  }

  move(e) {
    if (!this.stroke) return;
    const p = this.point(e);
    this.stroke.lines.push({ x: p.x, y: p.y, fromX: this.last.x, fromY: this.last.y });
    this.last = p;
    this.draw(this.commands);
  }

  up() {
    const stroke = this.stroke;
    this.stroke = null;
    if (!stroke || !this.pen) return;
    if (!stroke.lines.length) stroke.lines.push({ x: stroke.x, y: stroke.y, fromX: stroke.x, fromY: stroke.y });
    this.pen.publish(stroke);
    this.draw(this.commands);
  }
}
