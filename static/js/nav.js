// The header every page shares: links between foyer, backstage, studio and admin, and login/logout.
import { currentUser, login, logout, onAuthChange } from './api.js';
import { clearErrors, fieldError, h } from './dom.js';

function links(user) {
  const items = [['/', 'Foyer']];
  if (user) items.push(['/backstage', 'Backstage'], ['/studio', 'Studio']);
  if (user?.role === 'admin') items.push(['/admin', 'Admin']);
  return items.map(([href, label]) =>
    h('a', { href, 'aria-current': location.pathname === href ? 'page' : null }, label),
  );
}

function loginForm() {
  const form = h(
    'form',
    { class: 'login', 'aria-label': 'Log in' },
    h('label', {}, 'Username ', h('input', { name: 'username', autocomplete: 'username', required: true })),
    h('label', {}, 'Password ', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit' }, 'Log in'),
    h('a', { class: 'forgot', href: '/forgot' }, 'Forgot password?'),
    h('a', { class: 'signup', href: '/signup' }, 'Sign up'),
    h('span', { class: 'error', role: 'alert', 'data-error-for': 'form', hidden: true }),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    try {
      await login(form.elements.username.value.trim(), form.elements.password.value);
    } catch (err) {
      fieldError(form, null, err.message);
    }
  });
  return form;
}

/** On a phone the form folds behind a "Log in" button so the stage keeps the screen. */
function loginArea() {
  const form = loginForm();
  const toggle = h('button', { type: 'button', class: 'login-toggle secondary', 'aria-expanded': 'false' }, 'Log in');
  toggle.addEventListener('click', () => {
    const open = form.classList.toggle('open');
    toggle.setAttribute('aria-expanded', String(open));
    if (open) form.elements.username.focus();
  });
  return h('div', { class: 'login-area' }, toggle, form);
}

/** Render the header into `root` (a <header>) and keep it in step with the login. */
export function mountNav(root, { title = 'UpStage' } = {}) {
  const render = (user) => {
    root.replaceChildren(
      h('a', { class: 'brand', href: '/' }, title),
      h('nav', { 'aria-label': 'Main' }, links(user)),
      user
        ? h('div', { class: 'who' }, h('a', { class: 'username', href: '/profile', title: 'Your profile', 'aria-current': location.pathname === '/profile' ? 'page' : null }, user.username), h('button', { type: 'button', onclick: () => logout() }, 'Log out'))
        : loginArea(),
    );
  };
  render(currentUser());
  onAuthChange(render);
}
