// Backstage: the stage's stream keys (docs/streaming.md) through GraphQL: a performer makes one
// (label, expiry) and sees its publish address once; owners and editors see and revoke everyone's.
import { formatDate, gql, h } from './common.js';
import { KEY_EXPIRIES, withHost } from '../stage/stream.js';

const KEY = 'id name label expiresAt revoked url';

/** The "Live streams" section for `stage`. */
export function streamKeysSection(stage) {
  const list = h('ul', { class: 'stream-keys', 'aria-label': 'Stream keys' });
  const shown = h('div', { class: 'stream-created', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const fail = (err) => { error.hidden = false; error.textContent = err.message; };
  const reload = async () => {
    try {
      const { streamKeys } = await gql(`query($id: ID!) { streamKeys(stageId: $id) { ${KEY} } }`, { id: stage.id });
      list.replaceChildren(...streamKeys.map((k) => h('li', { dataset: { keyId: k.id } },
        h('strong', {}, k.label || k.name), ' ', h('span', { class: 'muted small' }, `${k.name} · ${k.revoked ? 'revoked' : `until ${formatDate(k.expiresAt * 1000)}`}`), ' ',
        k.revoked ? '' : h('button', { type: 'button', class: 'secondary', 'aria-label': `Revoke ${k.label || k.name}`, onclick: () => revoke(k) }, 'Revoke'))));
      if (!streamKeys.length) list.append(h('li', { class: 'muted' }, 'No stream keys.'));
    } catch (err) { fail(err); }
  };
  const revoke = (k) => gql('mutation($id: ID!, $key: String!) { revokeStreamKey(stageId: $id, keyId: $key) { id } }', { id: stage.id, key: k.id }).then(reload, fail);
  const label = h('input', { name: 'label', maxlength: 100, placeholder: 'e.g. camera 1', 'aria-label': 'Stream key label' });
  const ttl = h('select', { name: 'ttl', 'aria-label': 'Stream key expiry' }, KEY_EXPIRIES.map(([v, l]) => h('option', { value: v, selected: v === 24 * 3600 }, l)));
  const form = h('form', { class: 'row', onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    try {
      const { createStreamKey: made } = await gql(`mutation($id: ID!, $label: String, $ttl: Int) { createStreamKey(stageId: $id, label: $label, ttl: $ttl) { key { ${KEY} } publishUrl server streamKey } }`,
        { id: stage.id, label: label.value.trim() || null, ttl: Number(ttl.value) });
      label.value = '';
      shown.replaceChildren(h('p', {}, 'Copy it now: it is not shown again.'),
        ...[['Publish URL (ffmpeg)', withHost(made.publishUrl)], ['Server (OBS)', withHost(made.server)], ['Stream key (OBS)', made.streamKey]]
          .map(([name, value]) => h('label', { class: 'field' }, h('span', { class: 'label' }, name), h('input', { readonly: true, value, class: 'stream-secret', 'aria-label': name }))));
      reload();
    } catch (err) { fail(err); }
  } }, label, ttl, h('button', { type: 'submit' }, 'New stream key'));
  reload();
  return h('section', { 'aria-labelledby': 'streams-heading' }, h('h2', { id: 'streams-heading' }, 'Live streams'),
    h('p', { class: 'hint muted' }, 'A stream key lets you send video (OBS, ffmpeg) to this stage; performers place it from the toolbox.'), form, error, shown, list);
}
