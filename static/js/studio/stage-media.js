// A stage's media as its toolbar shows them: reorder with up/down, remove, add from the media I
// may use, then "Save order" sends the whole list through `assignMedia` (order = toolbar order).
import { formFooter, gql, h, orderButtons, saving } from './common.js';

const AVAILABLE = '{ media(filter: {dormant: false}) { id name type url } }'; // dormant media is not assigned
const ASSIGN = 'mutation($stageId: ID!, $mediaIds: [ID!]!) { assignMedia(stageId: $stageId, mediaIds: $mediaIds) { media { id name type url } } }';

export function stageMedia(stage) {
  const assigned = [...stage.media];
  const list = h('ol', { class: 'stage-media', 'aria-label': 'Media on this stage, in toolbar order' });
  const picker = h('select', { name: 'add', 'aria-label': 'Media to add' });
  let available = [];
  const render = () => {
    list.replaceChildren(
      ...assigned.map((m, i) =>
        h('li', { dataset: { mediaId: m.id } }, thumb(m), h('span', { class: 'name' }, m.name), h('span', { class: 'badge' }, m.type), orderButtons(m.name, assigned, i, render, { remove: true })),
      ),
    );
    if (!assigned.length) list.append(h('li', { class: 'muted' }, 'No media on this stage yet.'));
    const ids = new Set(assigned.map((m) => m.id));
    picker.replaceChildren(h('option', { value: '' }, 'Choose media to add…'), ...available.filter((m) => !ids.has(m.id)).map((m) => h('option', { value: m.id }, `${m.name} (${m.type})`)));
  };
  const add = () => {
    const media = available.find((m) => m.id === picker.value);
    if (media) assigned.push(media);
    render();
  };
  gql(AVAILABLE).then(({ media }) => {
    available = media;
    render();
  }, () => {});
  render();
  const form = h(
    'form',
    { class: 'stage-media-form', 'aria-label': 'Media on this stage' },
    h('h2', {}, 'Media on this stage'),
    h('p', { class: 'hint muted' }, 'Performers find these in the stage’s toolbox, in this order.'),
    list,
    h('div', { class: 'row' }, picker, h('button', { type: 'button', class: 'secondary', onclick: add }, 'Add')),
    h('span', { class: 'error', role: 'alert', 'data-error-for': 'mediaIds', hidden: true }),
    formFooter('Save media'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await saving(form, () => gql(ASSIGN, { stageId: stage.id, mediaIds: assigned.map((m) => m.id) }));
  });
  return form;
}

function thumb(media) {
  if (['audio', 'video'].includes(media.type)) return h('span', { class: 'thumb icon', 'aria-hidden': 'true' }, media.type === 'audio' ? '♪' : '▶');
  return h('img', { class: 'thumb', src: media.url, alt: '' });
}
