// Backstage's list of stages: the ones I own, the ones I may edit, the ones I play on (admins see
// every stage). Each row links to the live stage and to its editor; "New stage" opens an empty one.
import { gql, h } from './common.js';

const QUERY = '{ stages { id slug name status visible myRole canEdit owner { username } live { players audiences } } }';

function row(stage) {
  return h(
    'li',
    { class: 'stage-row', dataset: { slug: stage.slug } },
    h('div', { class: 'what' }, h('strong', {}, stage.name), h('span', { class: 'muted' }, ` /${stage.slug} · ${stage.owner.username}`)),
    h(
      'div',
      { class: 'tags' },
      h('span', { class: `badge ${stage.status}` }, stage.status),
      stage.visible ? null : h('span', { class: 'badge' }, 'hidden from foyer'),
      h('span', { class: 'muted small' }, `${stage.live.players} on stage · ${stage.live.audiences} watching`),
    ),
    h(
      'div',
      { class: 'actions' },
      h('a', { class: 'button secondary', href: `/stage/${encodeURIComponent(stage.slug)}` }, 'Open stage'),
      stage.canEdit ? h('a', { class: 'button', href: `#stage/${encodeURIComponent(stage.slug)}`, 'aria-label': `Manage ${stage.name}` }, 'Manage') : null,
    ),
  );
}

function group(heading, stages, empty) {
  return h('section', { class: 'stage-group' }, h('h2', {}, heading), stages.length ? h('ul', { class: 'stage-list' }, stages.map(row)) : h('p', { class: 'muted' }, empty));
}

/** Render the list into `main`. */
export async function renderStageList(main, user) {
  main.replaceChildren(h('h1', {}, 'Backstage'), h('p', { class: 'muted', role: 'status' }, 'Loading stages…'));
  let stages;
  try {
    ({ stages } = await gql(QUERY));
  } catch (err) {
    main.append(h('p', { class: 'error', role: 'alert' }, err.message));
    return;
  }
  const mine = stages.filter((s) => s.myRole === 'owner');
  const editing = stages.filter((s) => s.myRole !== 'owner' && s.canEdit);
  const playing = stages.filter((s) => !s.canEdit);
  main.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Backstage'),
      h('a', { class: 'button', href: '#new' }, '+ New stage'),
    ),
    h('p', { class: 'lead' }, 'Build and manage your stages. Media is uploaded in the ', h('a', { href: '/studio' }, 'Studio'), '.'),
    group('My stages', mine, 'You have no stage yet: create one with “New stage”.'),
    group(user.role === 'admin' ? 'Other stages (admin)' : 'Stages I can edit', editing, 'None.'),
    // replaceChildren writes a null as the text "null": leave the group out instead
    ...(playing.length ? [group('Stages I play on', playing, '')] : []),
  );
}
