// /studio: the logged-in player's media. Upload (drop or pick, several at once), the filtered
// list with previews, and the editor panel (details, frames, voice, link, stages, delete).
import { gql, h, startPage } from './common.js';
import { requestableSection, requestsSection } from './library-tools.js';
import { editMedia } from './media-editor.js';
import { mediaList } from './media-list.js';
import { uploadPanel } from './upload.js';

const LOAD = '{ whoami { id username role uploadLimit } stages { id slug name canEdit } }';

async function render(main) {
  main.append(h('h1', {}, 'Studio'), h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  let data;
  try {
    data = await gql(LOAD);
  } catch (err) {
    main.replaceChildren(h('h1', {}, 'Studio'), h('p', { class: 'error', role: 'alert' }, err.message));
    return;
  }
  const me = data.whoami;
  const editable = data.stages.filter((s) => s.canEdit);
  const list = mediaList({
    stages: data.stages,
    onEdit: (media) => editMedia(media, { stages: editable, onSaved: list.reload, onDeleted: list.reload }),
  });
  // An admin may change the limit while the page is open, so it is read again for each batch.
  const upload = uploadPanel({
    limit: () => gql('{ whoami { uploadLimit } }').then((d) => d.whoami.uploadLimit, () => me.uploadLimit),
    onUploaded: () => list.reload(),
  });
  const requests = requestsSection({ onAnswered: () => list.reload() });
  const requestable = requestableSection({ onAsked: () => requests.reload() });
  main.replaceChildren(
    h('h1', {}, 'Studio'),
    h('p', { class: 'lead' }, 'Your media: upload it, edit it, put it on your stages. Stages themselves are in ', h('a', { href: '/backstage' }, 'Backstage'), '.'),
    upload,
    list.element,
    requests.element,
    requestable.element,
  );
  list.reload();
  requests.reload();
  requestable.reload();
}

startPage({ title: 'Studio', render });
