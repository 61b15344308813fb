// Tiny DOM helpers shared by the pages: build elements, show errors next to fields.
// `h` is the only way the pages build markup: children are text nodes (never HTML), inline
// handlers cannot be set from strings, and a `src` or `href` that is not http(s) or a path of
// this site (`javascript:`, `data:`...) is dropped, so user data cannot become script.
import { safeUrl } from './safe.js';

const URL_ATTRIBUTES = new Set(['src', 'href', 'action', 'formaction', 'poster']);

/** h('button', {class: 'x', onclick, style: {left: '10%'}}, 'text', child...) -> element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) {
      if (typeof value === 'function') el.addEventListener(key.slice(2), value);
    } else if (URL_ATTRIBUTES.has(key)) {
      if (safeUrl(value)) el.setAttribute(key, value);
    } else if (key === 'dataset') Object.assign(el.dataset, value);
    // {property: value}, set one property at a time through the CSSOM: the pages'
    // Content-Security-Policy refuses style attributes, and a value cannot add a declaration.
    else if (key === 'style') Object.assign(el.style, value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Show `message` in the form's error slot for `field` (or the form-wide one); '' clears it. */
export function fieldError(form, field, message) {
  const slot = form.querySelector(`[data-error-for="${field ?? 'form'}"]`) ?? form.querySelector('[data-error-for="form"]');
  if (slot) {
    slot.textContent = message;
    slot.hidden = !message;
  }
  const input = field ? form.elements[field] : null;
  if (input) input.setAttribute('aria-invalid', message ? 'true' : 'false');
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll('[data-error-for]')) {
    slot.textContent = '';
    slot.hidden = true;
  }
  for (const input of form.querySelectorAll('[aria-invalid]')) input.setAttribute('aria-invalid', 'false');
}
