// /admin: users (search, activate a registered player, role, upload limit, delete with a choice
// of what happens to their media and stages) and the foyer's title and description. Non-admins
// are turned away here; the API refuses their calls anyway.
import { confirmDialog, field, formFooter, gql, h, saving, select, startPage } from './common.js';
import { createUsersSection, resetLinkButton, signupSection } from './admin-accounts.js';
import { mailSection } from './mail-admin.js';

const USER = 'id username role active uploadLimit createdAt email';
const MB = 1024 * 1024;

function userRow(user, reload) {
  const form = h(
    'form',
    { class: 'user-row', 'aria-label': `User ${user.username}`, dataset: { username: user.username } },
    h('div', { class: 'who' }, h('strong', {}, user.username), user.active ? null : h('span', { class: 'badge upcoming' }, 'awaiting activation'), h('div', { class: 'muted small' }, user.email ?? 'no email'), h('div', { class: 'muted small' }, user.createdAt ?? '')),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'active', checked: user.active }), 'Active'),
    field('Role', select('role', [['player', 'Player'], ['admin', 'Admin'], ['service', 'Service']], user.role)),
    field('Upload limit (MB)', h('input', { name: 'uploadLimit', type: 'number', min: 0, step: 0.1, value: +(user.uploadLimit / MB).toFixed(2) })),
    formFooter('Save', user.active ? null : h('button', { type: 'button', class: 'activate', onclick: () => activate() }, 'Activate'), resetLinkButton(user), h('button', { type: 'button', class: 'danger', onclick: () => remove() }, 'Delete…')),
  );
  const update = (vars) => gql(`mutation($id: ID!, $role: String, $active: Boolean, $uploadLimit: Int) { updateUser(id: $id, role: $role, active: $active, uploadLimit: $uploadLimit) { ${USER} } }`, { id: user.id, ...vars });
  const activate = async () => {
    if (await saving(form, () => update({ active: true }), 'Activated.')) reload();
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const el = form.elements;
    await saving(form, () => update({ role: el.role.value, active: el.active.checked, uploadLimit: Math.round(Number(el.uploadLimit.value) * MB) }));
  });
  const remove = async () => {
    const choice = (value, label, checked) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'content', value, checked }), label);
    const body = h(
      'div',
      {},
      h('p', {}, `${user.username} can no longer log in. Their media and stages:`),
      choice('REASSIGN_TO_ADMIN', 'pass to you (the admin), so stages and media keep working', true),
      choice('DELETE_ALL', 'are deleted with them (stages lose that media)', false),
    );
    if (!(await confirmDialog(`Delete ${user.username}?`, body, 'Delete user'))) return;
    const content = body.querySelector('input[name=content]:checked').value;
    if (await saving(form, () => gql('mutation($id: ID!, $c: ContentAction) { deleteUser(id: $id, content: $c) }', { id: user.id, c: content }), 'Deleted.')) reload();
  };
  return h('li', {}, form);
}

function usersSection() {
  const list = h('ul', { class: 'users', 'aria-label': 'Users' });
  const status = h('p', { class: 'muted', role: 'status' });
  const search = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Search users' },
    field('Username', h('input', { name: 'search', type: 'search', placeholder: 'part of a name' })),
    field('Show', select('active', [['', 'Everyone'], ['false', 'Awaiting activation'], ['true', 'Active']], '')),
    h('button', { type: 'submit', class: 'secondary' }, 'Search'),
  );
  const reload = async () => {
    const active = search.elements.active.value;
    try {
      const { users } = await gql(`query($s: String, $a: Boolean) { users(search: $s, active: $a) { ${USER} } }`, {
        s: search.elements.search.value.trim() || null,
        a: active ? active === 'true' : null,
      });
      list.replaceChildren(...users.map((u) => userRow(u, reload)));
      status.textContent = `${users.length} user${users.length === 1 ? '' : 's'}`;
    } catch (err) {
      status.textContent = '';
      list.replaceChildren(h('li', { class: 'error', role: 'alert' }, err.message));
    }
  };
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    reload();
  });
  search.addEventListener('change', (e) => e.target.tagName === 'SELECT' && reload());
  reload();
  return h('section', { 'aria-labelledby': 'users-heading' }, createUsersSection(reload), h('h2', { id: 'users-heading' }, 'Users'), search, status, list);
}

function siteSection() {
  const form = h(
    'form',
    { class: 'site', 'aria-label': 'Foyer texts' },
    field('Title', h('input', { name: 'title', required: true }), { wide: true }),
    field('Description', h('textarea', { name: 'description', rows: 4 }), { wide: true }),
    formFooter('Save foyer texts'),
  );
  gql('{ site { title description } }').then(({ site }) => {
    form.elements.title.value = site.title;
    form.elements.description.value = site.description;
  }, () => {});
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await saving(form, () => gql('mutation($t: String, $d: String) { updateSite(title: $t, description: $d) { title description } }', { t: form.elements.title.value.trim(), d: form.elements.description.value }));
  });
  return h('section', { 'aria-labelledby': 'site-heading' }, h('h2', { id: 'site-heading' }, 'Foyer'), h('p', { class: 'hint muted' }, 'Shown at the top of the foyer to every visitor.'), form);
}

startPage({
  title: 'Admin',
  check: (user) => (user.role === 'admin' ? null : 'Admins only: this page manages users and the foyer.'),
  render: (main) => main.append(h('h1', {}, 'Admin'), usersSection(), siteSection(), signupSection(), mailSection()),
});
