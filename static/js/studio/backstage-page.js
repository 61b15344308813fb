// /backstage: stages. The list (#), a new stage (#new), and one stage's management page
// (#stage/<slug>): its settings and access, its media in toolbar order, duplicate/delete, its
// performances and saved scenes, its stream keys. The hash keeps the view across reloads and the Back button.
import { gql, h, startPage } from './common.js';
import { performancesSection } from './performances.js';
import { stageActions, STAGE_FIELDS, stageForm } from './stage-editor.js';
import { stageMedia } from './stage-media.js';
import { renderStageList } from './stages.js';
import { streamKeysSection } from './stream-keys.js';

const STAGE = `query($slug: String!) { stage(slug: $slug) { ${STAGE_FIELDS} media { id name type url } } covers: media(filter: {type: backdrop}) { name url } }`;
const COVERS = '{ covers: media(filter: {type: backdrop}) { name url } }';

const go = (hash) => {
  location.hash = hash;
};

function crumbs(...items) {
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#' }, 'Backstage'), items.flatMap((item) => [' › ', item]));
}

async function renderNew(main) {
  main.replaceChildren(crumbs('New stage'), h('h1', {}, 'New stage'));
  const { covers } = await gql(COVERS).catch(() => ({ covers: [] }));
  main.append(stageForm(null, { covers, onSaved: (stage) => go(`stage/${stage.slug}`) }));
}

async function renderStage(main, slug) {
  main.replaceChildren(crumbs(slug), h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  let data;
  try {
    data = await gql(STAGE, { slug });
  } catch (err) {
    main.append(h('p', { class: 'error', role: 'alert' }, err.message));
    return;
  }
  const stage = data.stage;
  if (!stage || !stage.canEdit) {
    main.replaceChildren(crumbs(slug), h('p', { class: 'error', role: 'alert' }, stage ? 'You may not edit this stage.' : `There is no stage /${slug}.`));
    return;
  }
  const onSaved = (saved) => {
    if (saved.slug !== slug) go(`stage/${saved.slug}`);
  };
  main.replaceChildren(
    crumbs(stage.name),
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, stage.name),
      h('a', { class: 'button', href: `/stage/${encodeURIComponent(stage.slug)}` }, 'Open stage ↗'),
    ),
    h(
      'div',
      { class: 'stage-layout' },
      h('div', { class: 'col' }, stageForm(stage, { covers: data.covers, onSaved }), stageActions(stage, { onDuplicated: (copy) => go(`stage/${copy.slug}`), onDeleted: () => go('') })),
      h('div', { class: 'col' }, stageMedia(stage), performancesSection(stage), streamKeysSection(stage)),
    ),
  );
}

function route(main, user) {
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash === 'new') return renderNew(main);
  if (hash.startsWith('stage/')) return renderStage(main, hash.slice('stage/'.length));
  return renderStageList(main, user);
}

startPage({
  title: 'Backstage',
  render: (main, user) => {
    route(main, user);
    window.onhashchange = () => route(main, user);
  },
});
