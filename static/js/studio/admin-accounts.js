// /admin's account tools (issue 18): create one user (a password, or a reset link by mail),
// create many from pasted `username,email[,role]` lines with each line's result, mail a user a
// reset link, and the site's self sign-up switch. The hub checks everything again.
import { field, formFooter, gql, h, saving, select } from './common.js';

const ROLES = [['player', 'Player'], ['admin', 'Admin'], ['service', 'Service']];

/** "Mail a reset link" for one user's row (disabled without an email address). */
export function resetLinkButton(user) {
  const button = h('button', { type: 'button', class: 'secondary send-reset', disabled: !user.email, title: user.email ? `Mail ${user.email} a link` : 'No email address' }, 'Mail reset link');
  button.addEventListener('click', async () => {
    const form = button.closest('form');
    await saving(form, () => gql('mutation($id: ID!) { sendPasswordReset(id: $id) }', { id: user.id }), 'Reset link mailed.');
  });
  return button;
}

function createOne(reload) {
  const form = h(
    'form',
    { class: 'create-user', 'aria-label': 'Create a user' },
    field('Username', h('input', { name: 'username', required: true, autocomplete: 'off' })),
    field('Email', h('input', { name: 'email', type: 'email' })),
    field('Role', select('role', ROLES, 'player')),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'active', checked: true }), 'Active'),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'sendResetLink', checked: true }), 'Mail a link to choose a password'),
    field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password' }), { hint: 'Only without the mailed link.' }),
    formFooter('Create user'),
  );
  const el = form.elements;
  const sync = () => {
    el.password.disabled = el.sendResetLink.checked;
  };
  el.sendResetLink.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const link = el.sendResetLink.checked;
    const vars = { u: el.username.value.trim(), e: el.email.value.trim() || null, r: el.role.value, a: el.active.checked, p: link ? null : el.password.value, l: link };
    const made = await saving(form, () => gql('mutation($u: String!, $e: String, $r: String, $a: Boolean, $p: String, $l: Boolean) { createUser(username: $u, email: $e, role: $r, active: $a, password: $p, sendResetLink: $l) { username } }', vars), 'Created.');
    if (!made) return;
    form.querySelector('.saved').textContent = `Created ${made.createUser.username}${link ? ': a reset link is on its way' : ''}.`;
    el.username.value = el.email.value = el.password.value = '';
    reload();
  });
  return form;
}

function createMany(reload) {
  const results = h('ul', { class: 'bulk-results', 'aria-label': 'Results per line' });
  const form = h(
    'form',
    { class: 'create-users', 'aria-label': 'Create many users' },
    field('One user per line', h('textarea', { name: 'lines', rows: 5, required: true, placeholder: 'helen,helen@example.org\nsam,sam@example.org,admin' }), { wide: true, hint: 'username,email[,role]: each gets a link by mail to choose a password.' }),
    formFooter('Create users'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const done = await saving(form, () => gql('mutation($l: String!) { createUsers(lines: $l) { line text ok error user { username } } }', { l: form.elements.lines.value }), '');
    if (!done) return;
    const lines = done.createUsers;
    results.replaceChildren(...lines.map((r) => h('li', { class: r.ok ? 'created' : 'failed' }, `Line ${r.line} (${r.text}): ${r.ok ? `created ${r.user.username}` : r.error}`)));
    form.querySelector('.saved').textContent = `${lines.filter((r) => r.ok).length} of ${lines.length} created.`;
    reload();
  });
  return h('div', {}, form, results);
}

/** The section above the user list: creating users. */
export function createUsersSection(reload) {
  return h('section', { 'aria-labelledby': 'create-heading' }, h('h2', { id: 'create-heading' }, 'Create users'), createOne(reload), createMany(reload));
}

/** The self sign-up switch (off by default; docs/security.md). */
export function signupSection() {
  const box = h('input', { type: 'checkbox', name: 'selfSignup' });
  const form = h('form', { class: 'signup-setting', 'aria-label': 'Self sign-up' }, h('label', { class: 'check' }, box, 'Anyone may sign up at /signup (an admin activates each account)'), formFooter('Save'));
  gql('{ site { selfSignup } }').then(({ site }) => {
    box.checked = site.selfSignup;
  }, () => {});
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await saving(form, () => gql('mutation($s: Boolean) { updateSite(selfSignup: $s) { selfSignup } }', { s: box.checked }));
  });
  return h('section', { 'aria-labelledby': 'signup-heading' }, h('h2', { id: 'signup-heading' }, 'Sign-up'), form);
}
