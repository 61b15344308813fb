// /profile: the logged-in user's display name, email and a line about themself (updateProfile),
// and their password (changePassword, which ends every session, this one too).
import { logout } from '../api.js';
import { h } from '../dom.js';
import { field, formFooter, gql, saving, startPage } from '../studio/common.js';

const ME = '{ whoami { username displayName about email } }';

function profileForm(me) {
  const form = h(
    'form',
    { class: 'profile', 'aria-label': 'Profile' },
    field('Display name', h('input', { name: 'displayName', maxlength: 80, value: me.displayName }), { hint: 'Shown instead of your username where it is set.' }),
    field('About you', h('input', { name: 'about', maxlength: 280, value: me.about }), { wide: true, hint: 'One line.' }),
    field('Email', h('input', { name: 'email', type: 'email', maxlength: 254, value: me.email ?? '' }), { hint: 'Where password reset links go.' }),
    field('Current password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password' }), { hint: 'Needed only to change your email.' }),
    formFooter('Save profile'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const el = form.elements;
    const email = el.email.value.trim();
    const vars = { d: el.displayName.value, a: el.about.value, e: email === (me.email ?? '') ? null : email, p: el.password.value || null };
    const done = await saving(form, () =>
      gql('mutation($d: String, $a: String, $e: String, $p: String) { updateProfile(displayName: $d, about: $a, email: $e, password: $p) { displayName about email } }', vars),
    );
    if (done) {
      Object.assign(me, done.updateProfile);
      el.password.value = '';
    }
  });
  return form;
}

function passwordForm() {
  const form = h(
    'form',
    { class: 'password', 'aria-label': 'Change password' },
    field('Current password', h('input', { name: 'oldPassword', type: 'password', autocomplete: 'current-password', required: true })),
    field('New password', h('input', { name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 }), { hint: 'Every session of your account ends: log in again with it.' }),
    formFooter('Change password'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const el = form.elements;
    const done = await saving(form, () => gql('mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }', { o: el.oldPassword.value, n: el.newPassword.value }), 'Changed: log in again.');
    if (done) await logout();
  });
  return form;
}

startPage({
  title: 'Profile',
  render: async (main) => {
    const { whoami } = await gql(ME);
    main.append(
      h('h1', {}, `Profile of ${whoami.username}`),
      h('section', { 'aria-labelledby': 'profile-heading' }, h('h2', { id: 'profile-heading' }, 'About you'), profileForm(whoami)),
      h('section', { 'aria-labelledby': 'password-heading' }, h('h2', { id: 'password-heading' }, 'Password'), passwordForm()),
    );
  },
});
