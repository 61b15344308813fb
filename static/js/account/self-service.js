// /signup, /forgot and /reset: what someone does for their account without being logged in
// (hub/accounts_http.py). The reset token comes in the link's fragment (#token=...), so it never
// reaches a server log or a Referer header; it is dropped from the address bar once read.
import { ApiError, gql } from '../api.js';
import { mountNav } from '../nav.js';
import { h } from '../dom.js';
import { field, formFooter, saving } from '../studio/common.js';

/** POST JSON to /api/...; the answer's body, or an ApiError naming the refused field. */
export async function postJson(path, body) {
  let response;
  try {
    response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  } catch {
    throw new ApiError('The hub cannot be reached. Check your connection and try again.', 'network');
  }
  const answer = await response.json().catch(() => null);
  if (!answer) throw new ApiError(`The hub answered ${response.status}.`, 'unavailable');
  if (!answer.ok) throw new ApiError(answer.error?.message ?? 'Refused.', answer.error?.code ?? 'error', answer.error?.field ?? null);
  return answer;
}

const input = (name, attrs = {}) => h('input', { name, required: true, ...attrs });
const passwordInput = (name = 'password') =>
  input(name, { type: 'password', autocomplete: 'new-password', minlength: 8, maxlength: 1024 });
const PASSWORD_HINT = 'At least 8 characters, 4 of them different; not your username.';

/** A form that posts its fields and, once accepted, is replaced by the hub's message. */
function page(heading, intro, form, send) {
  const done = h('p', { class: 'done', role: 'status', hidden: true });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const answer = await saving(form, () => send(form.elements), '');
    if (!answer) return;
    done.textContent = answer.message;
    done.hidden = false;
    form.hidden = true;
  });
  return h('section', { class: 'account-page' }, h('h1', {}, heading), intro ? h('p', { class: 'muted' }, intro) : null, form, done);
}

function signup() {
  const form = h(
    'form',
    { class: 'signup', 'aria-label': 'Sign up' },
    field('Username', input('username', { autocomplete: 'username', pattern: '[A-Za-z0-9_.\\-]{2,40}' }), { hint: '2-40 letters, digits, ".", "_" or "-".' }),
    field('Email', input('email', { type: 'email', autocomplete: 'email', maxlength: 254 })),
    field('Password', passwordInput(), { hint: PASSWORD_HINT }),
    formFooter('Sign up'),
  );
  const section = page('Sign up', 'An admin activates new accounts; you hear by mail when yours is ready.', form, (el) =>
    postJson('/api/signup', { username: el.username.value.trim(), email: el.email.value.trim(), password: el.password.value }),
  );
  gql('{ site { selfSignup } }').then(({ site }) => {
    if (site.selfSignup) return;
    form.hidden = true;
    section.append(h('p', { class: 'notice', role: 'status' }, 'Sign-up is closed on this site: ask an admin for an account.'));
  }, () => {});
  return section;
}

function forgot() {
  const form = h(
    'form',
    { class: 'forgot', 'aria-label': 'Forgot password' },
    field('Username or email', input('login', { autocomplete: 'username', maxlength: 254 })),
    formFooter('Mail me a link'),
  );
  return page('Forgot your password?', 'We mail a link to choose a new one to the address of your account.', form, (el) =>
    postJson('/api/password/forgot', { login: el.login.value.trim() }),
  );
}

function reset() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  if (token) history.replaceState(null, '', location.pathname);
  const form = h(
    'form',
    { class: 'reset', 'aria-label': 'Choose a new password' },
    h('input', { type: 'hidden', name: 'token', value: token }),
    field('New password', passwordInput(), { hint: PASSWORD_HINT }),
    formFooter('Set password'),
  );
  const section = page('Choose a new password', 'Every other session of your account ends when it is set.', form, (el) =>
    postJson('/api/password/reset', { token: el.token.value, password: el.password.value }),
  );
  if (!token) section.append(h('p', { class: 'error', role: 'alert' }, 'This page needs the link from the mail. ', h('a', { href: '/forgot' }, 'Ask for a new one')));
  return section;
}

const PAGES = { signup, forgot, reset };
const main = document.getElementById('main');
mountNav(document.querySelector('body > header'));
main.removeAttribute('aria-busy');
main.append(PAGES[main.dataset.page]());
