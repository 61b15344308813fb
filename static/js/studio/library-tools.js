// The studio's media library tools (issue 18): the editor's tags, dormant and sharing fields; the
// "Requests" section (requests for your media with a count badge, to approve or refuse, and your
// own requests with their answers); and "Ask to use", others' level-2 media you may ask for.
import { field, gql, h } from './common.js';
import { mediaPreview } from './preview.js';
import { suggestUsers } from './stage-editor.js';
import { userPicker } from './user-picker.js';

const REQUESTS = `query { incoming: mediaRequests(incoming: true) { ...r } outgoing: mediaRequests(incoming: false) { ...r } }
fragment r on MediaRequest { id status note createdAt requester { username } media { id name url frames type mime owner { username } } }`;
const ANSWER = 'mutation($id: ID!, $ok: Boolean!) { answerMediaRequest(id: $id, approve: $ok) { id status } }';
const REQUESTABLE = 'query($f: MediaFilter) { media(filter: $f) { id name type url frames mime owner { username } } }';
const ASK = 'mutation($id: ID!, $note: String) { requestMedia(id: $id, note: $note) { id status } }';

/** The editor's library fields for `media`; `read()` gives the MediaInput fields they set. */
export function libraryFields(media) {
  const tags = h('input', { name: 'tags', value: (media.tags ?? []).join(', '), placeholder: 'night, act 1', autocomplete: 'off' });
  const dormant = h('input', { type: 'checkbox', name: 'dormant', checked: Boolean(media.dormant) });
  const shares = userPicker('Shared with', 'sharedWith', (media.sharedWith ?? []).map((u) => u.username), suggestUsers);
  const fieldset = h(
    'fieldset',
    { class: 'library' },
    h('legend', {}, 'Library'),
    field('Tags', tags, { hint: 'Separated by commas.', wide: true }),
    h('label', { class: 'check' }, dormant, 'Dormant (hidden from toolboxes and from assigning; replays keep it)'),
    shares.element,
    h('p', { class: 'hint muted' }, 'The users you share it with may use it on their stages, whatever its copyright level.'),
  );
  const read = () => ({
    tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean),
    dormant: dormant.checked,
    sharedWith: shares.read(),
  });
  return { fieldset, read };
}

function requestItem(request, incoming, reload) {
  const answer = (ok) => async () => {
    try {
      await gql(ANSWER, { id: request.id, ok });
    } catch (err) {
      note.textContent = err.message;
      return;
    }
    reload();
  };
  const note = h('span', { class: 'error', role: 'alert' });
  const who = incoming ? `${request.requester.username} asks to use “${request.media.name}”` : `You asked ${request.media.owner.username} for “${request.media.name}”`;
  return h(
    'li',
    { class: 'card request', dataset: { requestId: request.id, status: request.status } },
    mediaPreview(request.media),
    h(
      'div',
      { class: 'body' },
      h('p', {}, who),
      request.note ? h('p', { class: 'muted small' }, `“${request.note}”`) : null,
      h('p', {}, h('span', { class: `badge status-${request.status}` }, request.status)),
      incoming && request.status === 'pending'
        ? h(
            'div',
            { class: 'actions' },
            h('button', { type: 'button', onclick: answer(true), 'aria-label': `Approve ${request.requester.username}` }, 'Approve'),
            h('button', { type: 'button', class: 'secondary', onclick: answer(false), 'aria-label': `Refuse ${request.requester.username}` }, 'Refuse'),
          )
        : null,
      note,
    ),
  );
}

/** The "Requests" section; `onAnswered()` runs after an answer (the media list may change). */
export function requestsSection({ onAnswered = () => {} } = {}) {
  const badge = h('span', { class: 'badge count', 'aria-label': 'pending requests' }, '0');
  const incoming = h('ul', { class: 'cards requests', 'aria-label': 'Requests for your media' });
  const outgoing = h('ul', { class: 'cards requests', 'aria-label': 'Your requests' });
  const status = h('p', { class: 'muted', role: 'status' });
  const reload = async () => {
    try {
      const found = await gql(REQUESTS);
      const pending = found.incoming.filter((r) => r.status === 'pending').length;
      badge.textContent = String(pending);
      badge.hidden = pending === 0;
      const again = () => (reload(), onAnswered());
      incoming.replaceChildren(...found.incoming.map((r) => requestItem(r, true, again)));
      outgoing.replaceChildren(...found.outgoing.map((r) => requestItem(r, false, again)));
      status.textContent = found.incoming.length || found.outgoing.length ? '' : 'No requests yet.';
    } catch (err) {
      status.textContent = err.message;
    }
  };
  const element = h(
    'section',
    { class: 'media-requests', id: 'requests', 'aria-labelledby': 'requests-heading' },
    h('h2', { id: 'requests-heading' }, 'Requests ', badge),
    status,
    h('h3', {}, 'For your media'),
    incoming,
    h('h3', {}, 'Yours'),
    outgoing,
  );
  return { element, reload };
}

/** "Ask to use": others' level-2 media, each with a note and an Ask button. */
export function requestableSection({ onAsked = () => {} } = {}) {
  const grid = h('ul', { class: 'cards media-grid', 'aria-label': 'Media you may ask for' });
  const status = h('p', { class: 'muted', role: 'status' });
  const card = (media) => {
    const note = h('input', { name: 'note', placeholder: 'A note for the owner', maxlength: 500, 'aria-label': `Note for ${media.name}` });
    const said = h('span', { class: 'muted small', role: 'status' });
    const ask = async () => {
      try {
        await gql(ASK, { id: media.id, note: note.value.trim() || null });
        said.textContent = 'Asked. Its owner will answer.';
        onAsked();
      } catch (err) {
        said.textContent = err.message;
      }
    };
    return h(
      'li',
      { class: 'card media-card', dataset: { mediaId: media.id, mediaName: media.name } },
      mediaPreview(media),
      h('div', { class: 'body' }, h('h3', {}, media.name), h('p', { class: 'muted small' }, `${media.type} · ${media.owner.username}`), note, h('button', { type: 'button', class: 'secondary', onclick: ask, 'aria-label': `Ask to use ${media.name}` }, 'Ask to use'), said),
    );
  };
  const reload = async () => {
    try {
      const { media } = await gql(REQUESTABLE, { f: { requestable: true } });
      grid.replaceChildren(...media.map(card));
      status.textContent = media.length ? '' : 'Nothing to ask for.';
    } catch (err) {
      status.textContent = err.message;
    }
  };
  const element = h('section', { class: 'media-requestable', 'aria-labelledby': 'requestable-heading' }, h('h2', { id: 'requestable-heading' }, 'Ask to use'), h('p', { class: 'muted' }, 'Others’ media that needs its owner’s permission.'), status, grid);
  return { element, reload };
}
