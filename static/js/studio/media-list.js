// The studio's media list: filters (type, owner, stage, name) sent to the `media(filter)` query,
// and a card per item with its preview, what it is, who owns it, where it is used, and an Edit
// button (a real button, so the list works by keyboard and on a tablet).
import { COPYRIGHT, field, formatBytes, gql, h, MEDIA_TYPES, select } from './common.js';
import { mediaPreview } from './preview.js';

export const MEDIA_FIELDS = 'id name type url frames mime size copyrightLevel voice link createdAt owner { id username } stages { id slug name } tags dormant sharedWith { username }';

const QUERY = `query($filter: MediaFilter) { media(filter: $filter) { ${MEDIA_FIELDS} } }`;

function filterForm(stages, onChange) {
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter media' },
    field('Type', select('type', [['', 'All types'], ...MEDIA_TYPES.map((t) => [t, t])], '')),
    field('Owner', h('input', { name: 'owner', placeholder: 'username', autocomplete: 'off' })),
    field('Stage', select('stage', [['', 'Any stage'], ...stages.map((s) => [s.slug, s.name])], '')),
    field('Name', h('input', { name: 'name', type: 'search', placeholder: 'part of the name' })),
    field('Tag', h('input', { name: 'tag', type: 'search', placeholder: 'a tag' })),
    h('button', { type: 'submit', class: 'secondary' }, 'Filter'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onChange();
  });
  form.addEventListener('change', (e) => e.target.tagName === 'SELECT' && onChange());
  return form;
}

function values(form) {
  const filter = {};
  for (const key of ['type', 'owner', 'stage', 'name', 'tag']) {
    const value = form.elements[key].value.trim();
    if (value) filter[key] = value;
  }
  return filter;
}

function card(media, onEdit) {
  const copyright = COPYRIGHT.find(([level]) => level === media.copyrightLevel)?.[1] ?? '';
  return h(
    'li',
    { class: 'card media-card', dataset: { mediaId: media.id, mediaName: media.name } },
    mediaPreview(media),
    h(
      'div',
      { class: 'body' },
      h('h3', {}, media.name),
      h('p', { class: 'meta' }, h('span', { class: 'badge' }, media.type), ' ', h('span', { class: 'muted' }, `${formatBytes(media.size)} · ${media.owner.username}`)),
      h('p', { class: 'muted small' }, copyright, media.dormant ? [' · ', h('span', { class: 'badge dormant' }, 'dormant')] : null),
      media.tags?.length ? h('ul', { class: 'tags', 'aria-label': 'Tags' }, media.tags.map((t) => h('li', { class: 'tag' }, t))) : null,
      h('p', { class: 'small' }, media.stages.length ? `On: ${media.stages.map((s) => s.name).join(', ')}` : h('span', { class: 'muted' }, 'Not on any stage')),
      h('button', { type: 'button', class: 'secondary', onclick: () => onEdit(media), 'aria-label': `Edit ${media.name}` }, 'Edit'),
    ),
  );
}

/** The filters and the list; `reload()` fetches again with the current filters. */
export function mediaList({ stages, onEdit }) {
  const status = h('p', { class: 'muted', role: 'status' });
  const grid = h('ul', { class: 'cards media-grid', 'aria-label': 'Media' });
  const reload = async () => {
    status.textContent = 'Loading…';
    try {
      const { media } = await gql(QUERY, { filter: values(form) });
      grid.replaceChildren(...media.map((m) => card(m, onEdit)));
      status.textContent = media.length ? `${media.length} item${media.length === 1 ? '' : 's'}` : 'No media matches. Upload some above.';
    } catch (err) {
      status.textContent = '';
      grid.replaceChildren(h('li', { class: 'error', role: 'alert' }, err.message));
    }
  };
  const form = filterForm(stages, reload);
  const element = h('section', { class: 'media-list', 'aria-labelledby': 'media-heading' }, h('h2', { id: 'media-heading' }, 'Media'), form, status, grid);
  return { element, reload };
}
