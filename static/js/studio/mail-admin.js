// /admin's mail line (issue 18): whether the hub sends mail through an SMTP server or only writes
// it to its log, the sender, and a "Send a test mail" form (GraphQL sendTestMail, admins only,
// rate limited by the hub).
import { field, formFooter, gql, h, saving } from './common.js';

export function mailSection() {
  const state = h('p', { class: 'mail-state', role: 'status' }, 'Checking mail…');
  const form = h(
    'form',
    { class: 'mail-test', 'aria-label': 'Send a test mail' },
    field('To', h('input', { name: 'to', type: 'email', required: true, autocomplete: 'email', placeholder: 'you@example.org' })),
    formFooter('Send a test mail'),
  );
  gql('{ site { mail { configured from } } }').then(({ site }) => {
    const { configured, from } = site.mail;
    state.dataset.configured = String(configured);
    state.replaceChildren(
      configured ? 'Mail is sent through the SMTP server (HUB_SMTP_URL), from ' : 'Mail is not configured: no HUB_SMTP_URL, so mail is only written to the hub\'s log. From ',
      h('code', {}, from),
      '.',
    );
  }, (err) => {
    state.textContent = err.message;
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const to = form.elements.to.value.trim();
    await saving(form, () => gql('mutation($to: String!) { sendTestMail(to: $to) }', { to }), `Queued for ${to}.`);
  });
  return h('section', { class: 'mail', 'aria-labelledby': 'mail-heading' }, h('h2', { id: 'mail-heading' }, 'Mail'), state, form);
}
