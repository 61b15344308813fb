// The record button in the stage bar (performers; imported by toolbox.js). Owners and editors
// start a recording (asked for its name, and whether to clear the stage first: socket
// `startRecording`) and stop it (`saveRecording`); every performer sees "Recording <name>" with
// the time since it started while one is open. Which
// recording is open comes from the socket call `performances` (the one with `recording: true`),
// asked when the toolbox loads (a late join or a reload) and again when the stage hears a
// recording start (`background recordingSnapshot`) or end (`background recordingSaved`), whoever
// started or saved it (another tab, the CLI, GraphQL). The hub refuses players both calls.
import { h } from '../dom.js';
import { call } from './connection.js';

const TICK_MS = 1000;
const HINTS = ['recordingSnapshot', 'recordingSaved'];
const MANAGERS = ['owner', 'editor'];

/** "m:ss", or "h:mm:ss" past an hour. */
export function elapsedText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [hours, minutes, seconds] = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  const mm = hours ? String(minutes).padStart(2, '0') : String(minutes);
  return `${hours ? `${hours}:` : ''}${mm}:${String(seconds).padStart(2, '0')}`;
}

export class RecordTools {
  constructor(toolbox, root = document.querySelector('.stage-bar')) {
    this.toolbox = toolbox;
    this.socket = toolbox.conn.socket;
    this.clock = () => toolbox.page.view.clock();
    this.manager = MANAGERS.includes(toolbox.role);
    this.recording = null; // {id, name, startedAt} of the open recording
    this.label = h('span', { class: 'recording-text' });
    this.badge = h('span', { class: 'recording-badge', role: 'status', hidden: true }, this.label);
    this.error = h('span', { class: 'record-error error', role: 'alert' });
    this.root = h('span', { class: 'record-tools' }, this.badge);
    if (this.manager) this.managerControls();
    this.root.append(this.error);
    root?.append(this.root);
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.refresh();
  }

  /** Owners and editors: Record (then a name and Start), and Stop while recording. */
  managerControls() {
    this.name = h('input', { name: 'recording', maxlength: 200, placeholder: 'Recording name', 'aria-label': 'Recording name', required: true });
    this.blank = h('input', { type: 'checkbox', 'aria-label': 'Clear the stage first' });
    this.form = h('form', { class: 'record-form', hidden: true, onsubmit: (e) => { e.preventDefault(); this.start(); } },
      this.name, h('label', { class: 'inline' }, this.blank, 'Clear the stage first'), h('button', { type: 'submit' }, 'Start recording'),
      h('button', { type: 'button', class: 'secondary', onclick: () => { this.form.hidden = true; this.show(); } }, 'Cancel'));
    this.recordButton = h('button', { type: 'button', class: 'record-start', onclick: () => this.ask() }, '● Record');
    this.stopButton = h('button', { type: 'button', class: 'record-stop', hidden: true, onclick: () => this.stop() }, '■ Stop recording');
    this.root.append(this.recordButton, this.form, this.stopButton);
  }

  ask() {
    this.error.textContent = '';
    this.form.hidden = false;
    this.recordButton.hidden = true;
    this.name.value ||= `Recording ${new Date().toLocaleString()}`;
    this.name.select();
    this.name.focus();
  }

  async start() {
    const ack = await call(this.socket, 'startRecording', { name: this.name.value.trim(), blank: this.blank.checked });
    this.error.textContent = ack.ok ? '' : ack.error.message;
    if (!ack.ok) return;
    this.form.hidden = true;
    this.name.value = '';
    this.blank.checked = false;
    this.set(ack.performance);
  }

  async stop() {
    if (!this.recording) return;
    this.stopButton.disabled = true;
    const ack = await call(this.socket, 'saveRecording', { id: this.recording.id });
    this.stopButton.disabled = false;
    this.error.textContent = ack.ok ? '' : ack.error.message;
    if (ack.ok) this.set(null);
  }

  /** Ask the hub which recording is open on the stage (none when the list cannot be read). */
  async refresh() {
    const ack = await call(this.socket, 'performances', {});
    this.set(ack.ok ? ack.performances.find((p) => p.recording === true) ?? null : null);
  }

  set(performance) {
    this.recording = performance ? { id: performance.id, name: performance.name, startedAt: performance.startedAt } : null;
    this.show();
  }

  show() {
    const on = this.recording !== null;
    this.badge.hidden = !on;
    document.body.classList.toggle('recording', on);
    if (this.manager) {
      this.stopButton.hidden = !on;
      this.recordButton.hidden = on || !this.form.hidden;
      if (on) this.form.hidden = true;
    }
    this.tick();
  }

  tick() {
    if (this.recording) this.label.textContent = `Recording ${this.recording.name} · ${elapsedText(this.clock() - this.recording.startedAt)}`;
  }

  /** A recording started or ended on the stage (by anyone): ask again. */
  update(event) {
    if (event?.topic === 'background' && HINTS.includes(event.payload?.type)) this.refresh();
  }

  destroy() {
    clearInterval(this.ticker);
    this.root.remove();
    document.body.classList.remove('recording');
  }
}
