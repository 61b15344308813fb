// What the studio, backstage and admin pages share: the page frame (header, login gate), form
// fields with an error slot each, saving a form without losing what was typed, a confirmation
// dialog, and a few formatters. Every server call goes through api.js's `gql`.
import { ApiError, currentUser, gql, onAuthChange } from '../api.js';
import { mountNav } from '../nav.js';
import { clearErrors, fieldError, h } from '../dom.js';

export { gql, h };

/**
 * Mount the header and call `render(main, user)` whenever someone is logged in; otherwise ask
 * them to log in (the header holds the form). `check(user)` may return a message that turns
 * the user away instead (e.g. not an admin).
 */
export function startPage({ title, render, check = () => null }) {
  mountNav(document.querySelector('body > header'));
  const main = document.getElementById('main');
  const show = (user) => {
    main.replaceChildren();
    main.removeAttribute('aria-busy');
    if (!user) {
      main.append(notice(`${title}: please log in`, 'Log in with the form at the top of the page to use this page.'));
      return;
    }
    const refusal = check(user);
    if (refusal) {
      main.append(notice(refusal, h('a', { href: '/' }, 'Back to the foyer')));
      return;
    }
    render(main, user);
  };
  let shown = currentUser()?.id ?? null;
  show(currentUser());
  onAuthChange((user) => {
    if ((user?.id ?? null) !== shown) {
      shown = user?.id ?? null;
      show(user);
    }
  });
}

function notice(heading, body) {
  return h('section', { class: 'notice', role: 'status' }, h('h1', {}, heading), h('p', {}, body));
}

/** A labelled control with its own error slot; `name` is also the control's name. */
export function field(label, control, { hint = null, wide = false } = {}) {
  const name = control.getAttribute('name');
  return h(
    'label',
    { class: wide ? 'field wide' : 'field' },
    h('span', { class: 'label' }, label),
    control,
    hint ? h('small', { class: 'hint' }, hint) : null,
    h('span', { class: 'error', role: 'alert', 'data-error-for': name, hidden: true }),
  );
}

/** The form-wide error slot and a submit button, for the end of a form. */
export function formFooter(label, ...extra) {
  return h(
    'div',
    { class: 'form-footer' },
    h('button', { type: 'submit' }, label),
    ...extra,
    h('span', { class: 'saved muted', role: 'status' }),
    h('span', { class: 'error', role: 'alert', 'data-error-for': 'form', hidden: true }),
  );
}

/**
 * Run `save()` for a form: clears old errors, disables its submit button meanwhile, shows the
 * server's error next to the field named by `extensions.field` (or at the form's foot). The
 * inputs are never reset on failure. Returns save()'s result, or undefined when it failed.
 */
export async function saving(form, save, done = 'Saved.') {
  clearErrors(form);
  const button = form.querySelector('button[type=submit]');
  const note = form.querySelector('.saved');
  if (note) note.textContent = '';
  if (button) button.disabled = true;
  try {
    const result = await save();
    if (note) note.textContent = done;
    return result;
  } catch (err) {
    showError(form, err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function showError(form, err) {
  const field = err instanceof ApiError && err.field && form.elements[err.field] ? err.field : null;
  fieldError(form, field, err.message || String(err));
  if (field) form.elements[field].focus?.();
}

/** Ask before something that cannot be undone; resolves true when confirmed. */
export function confirmDialog(heading, body, confirmLabel = 'Delete') {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-label': heading },
      h('h2', {}, heading),
      body instanceof Node ? body : h('p', {}, body),
      h(
        'form',
        { method: 'dialog', class: 'actions' },
        h('button', { type: 'submit', value: 'cancel', class: 'secondary' }, 'Cancel'),
        h('button', { type: 'submit', value: 'ok', class: 'danger' }, confirmLabel),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A modal panel holding `content`; returns the dialog (call .close() to dismiss it). */
export function panel(heading, content, onClose = () => {}) {
  const dialog = h(
    'dialog',
    { class: 'panel', 'aria-label': heading },
    h('div', { class: 'panel-head' }, h('h2', {}, heading), h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Close')),
    content,
  );
  dialog.addEventListener('close', () => {
    dialog.remove();
    onClose();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatDate(ms) {
  return ms ? new Date(ms).toLocaleString() : '';
}

/** <select name> with [value, label] options and one selected. */
export function select(name, options, selected) {
  return h(
    'select',
    { name },
    options.map(([value, label]) => h('option', { value, selected: String(value) === String(selected ?? '') }, label)),
  );
}

/** Move item `i` of `list` by `delta` (in place); returns whether it moved. */
export function move(list, i, delta) {
  const j = i + delta;
  if (j < 0 || j >= list.length) return false;
  [list[i], list[j]] = [list[j], list[i]];
  return true;
}

/** Up / down / remove buttons for row `i` of an ordered list (tablet-friendly, no dragging needed). */
export function orderButtons(label, list, i, rerender, { remove = false } = {}) {
  const step = (delta) => () => move(list, i, delta) && rerender();
  return h(
    'span',
    { class: 'order' },
    h('button', { type: 'button', class: 'secondary', 'aria-label': `Move ${label} up`, disabled: i === 0, onclick: step(-1) }, '↑'),
    h('button', { type: 'button', class: 'secondary', 'aria-label': `Move ${label} down`, disabled: i === list.length - 1, onclick: step(1) }, '↓'),
    remove
      ? h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${label}`, onclick: () => (list.splice(i, 1), rerender()) }, '✕')
      : null,
  );
}

export const MEDIA_TYPES = ['avatar', 'prop', 'backdrop', 'audio', 'curtain', 'video'];
export const COPYRIGHT = [
  [0, 'Free to use'],
  [1, 'Use with acknowledgement'],
  [2, 'Ask permission'],
  [3, 'Not shared'],
];
