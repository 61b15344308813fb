// A stage's archive: sweep (archive the performance so far and clear the stage), start and save
// a recording, and the list of archives and recordings with replay links, rename, delete and
// "trim idle gaps" (a trimmed copy). Below, the saved scenes with a preview of each.
import { confirmDialog, formatDate, formFooter, gql, h, saving } from './common.js';
import { scenePreview } from './preview.js';

const PERF = 'id name description kind recording startedAt savedAt eventCount replayUrl';
const LIST = `query($id: ID!) { performances(stageId: $id) { ${PERF} } scenes(stageId: $id) { id name payload createdAt } }`;

function ratioOf(stage) {
  const [w, h] = String(stage.aspectRatio || '16:9').split(':').map(Number);
  return w > 0 && h > 0 ? w / h : 16 / 9;
}

/** One inline form (rename / trim); `run(form)` does the call, then the list reloads. */
function inlineForm(label, fields, button, run, reload, confirmFirst = null) {
  const form = h('form', { class: 'inline', 'aria-label': label }, fields, formFooter(button));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (confirmFirst && !(await confirmFirst())) return;
    if ((await saving(form, () => run(form))) !== undefined) reload();
  });
  return form;
}

// How each performance kind (archive from a sweep, recording, trim) reads.
const KINDS = { archive: 'archive', recording: 'recording', trim: 'trimmed copy' };

function performanceRow(p, reload) {
  const kind = p.recording ? 'recording…' : KINDS[p.kind] ?? p.kind;
  const rename = inlineForm(
    `Rename ${p.name}`,
    [h('input', { name: 'name', value: p.name, 'aria-label': 'Name', required: true })],
    'Rename',
    (f) => gql('mutation($id: ID!, $name: String) { updatePerformance(id: $id, name: $name) { id } }', { id: p.id, name: f.elements.name.value.trim() }),
    reload,
  );
  const trim = inlineForm(
    `Trim ${p.name}`,
    [h('label', { class: 'field' }, h('span', { class: 'label' }, 'Longest pause kept (s)'), h('input', { name: 'minPauseSeconds', type: 'number', min: 0.5, step: 0.5, value: 5 }))],
    'Trim idle gaps',
    (f) => gql('mutation($id: ID!, $s: Float!) { trimPerformance(id: $id, minPauseSeconds: $s) { id } }', { id: p.id, s: Number(f.elements.minPauseSeconds.value) }),
    reload,
  );
  const remove = async () => {
    if (!(await confirmDialog(`Delete ${p.name}?`, 'The archived events go with it; its replay link stops working.'))) return;
    await gql('mutation($id: ID!) { deletePerformance(id: $id) }', { id: p.id }).then(reload, (err) => alertIn(row, err));
  };
  const save = () => gql('mutation($id: ID!) { saveRecording(id: $id) { id } }', { id: p.id }).then(reload, (err) => alertIn(row, err));
  const row = h(
    'li',
    { class: 'performance', dataset: { performanceId: p.id } },
    h(
      'div',
      { class: 'what' },
      h('strong', {}, p.name),
      ' ',
      h('span', { class: 'badge' }, kind),
      h('div', { class: 'muted small' }, `${formatDate(p.startedAt)} · ${p.eventCount} events`),
    ),
    h(
      'div',
      { class: 'actions' },
      p.recording
        ? h('button', { type: 'button', onclick: save }, 'Save recording')
        : h('a', { class: 'button replay', href: p.replayUrl }, '▶ Replay'),
      h('button', { type: 'button', class: 'danger', onclick: remove, 'aria-label': `Delete ${p.name}` }, 'Delete'),
    ),
    h('details', {}, h('summary', {}, 'Rename or trim'), rename, p.recording ? null : trim),
  );
  return row;
}

function alertIn(el, err) {
  el.append(h('p', { class: 'error', role: 'alert' }, err.message));
}

function sceneCard(scene, stage, reload) {
  const remove = async () => {
    if (!(await confirmDialog(`Delete the scene ${scene.name}?`, 'Performers can no longer switch to it.'))) return;
    await gql('mutation($id: ID!) { deleteScene(id: $id) }', { id: scene.id }).then(reload, (err) => alertIn(card, err));
  };
  const card = h(
    'li',
    { class: 'card scene', dataset: { sceneId: scene.id } },
    scenePreview(scene, ratioOf(stage)),
    h('div', { class: 'body' }, h('strong', {}, scene.name), h('div', { class: 'muted small' }, scene.createdAt ?? ''), h('button', { type: 'button', class: 'secondary', onclick: remove, 'aria-label': `Delete scene ${scene.name}` }, 'Delete')),
  );
  return card;
}

/** The archive and scenes sections for `stage`. */
export function performancesSection(stage) {
  const list = h('ul', { class: 'performances', 'aria-label': 'Performances' });
  const scenes = h('ul', { class: 'cards scenes', 'aria-label': 'Saved scenes' });
  const reload = async () => {
    try {
      const data = await gql(LIST, { id: stage.id });
      list.replaceChildren(...data.performances.map((p) => performanceRow(p, reload)));
      if (!data.performances.length) list.append(h('li', { class: 'muted' }, 'Nothing archived yet.'));
      scenes.replaceChildren(...data.scenes.map((s) => sceneCard(s, stage, reload)));
      if (!data.scenes.length) scenes.append(h('li', { class: 'muted' }, 'No saved scenes. Performers save scenes on the stage.'));
    } catch (err) {
      list.replaceChildren(h('li', { class: 'error', role: 'alert' }, err.message));
    }
  };
  const sweep = inlineForm(
    'Archive the performance',
    [h('p', { class: 'hint muted' }, 'Sweep: everything performed since the last sweep becomes a replayable archive, and the stage starts blank.')],
    'Archive performance (sweep)',
    () => gql(`mutation($id: ID!) { sweepStage(stageId: $id) { ${PERF} } }`, { id: stage.id }),
    reload,
    // A sweep blanks the live stage for everyone on it: never without asking.
    () => confirmDialog(`Archive and clear ${stage.name}?`, 'Everything performed since the last sweep becomes a replayable archive, and the live stage is blanked for everyone on it now.', 'Archive and clear'),
  );
  const record = inlineForm(
    'Start a recording',
    [h('label', { class: 'field' }, h('span', { class: 'label' }, 'Recording name'), h('input', { name: 'name', required: true, placeholder: 'e.g. Dress rehearsal' }))],
    'Start recording',
    (f) => gql('mutation($id: ID!, $name: String!) { startRecording(stageId: $id, name: $name) { id } }', { id: stage.id, name: f.elements.name.value.trim() }),
    reload,
  );
  reload();
  return h(
    'div',
    { class: 'archive' },
    h('section', { 'aria-labelledby': 'archive-heading' }, h('h2', { id: 'archive-heading' }, 'Performances'), h('div', { class: 'row archive-actions' }, sweep, record), list),
    h('section', { 'aria-labelledby': 'scenes-heading' }, h('h2', { id: 'scenes-heading' }, 'Saved scenes'), scenes),
  );
}
