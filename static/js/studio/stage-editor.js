// Creating and editing a stage: name, slug, description, cover, status, foyer visibility, aspect
// ratio, default colour, and who may play on it or edit it (picked by username). Duplicate and
// delete (after a confirmation) sit under the form.
import { confirmDialog, field, formFooter, gql, h, saving, select } from './common.js';
import { userPicker } from './user-picker.js';
import { animationFields } from './stage-animations-fields.js';

export const STAGE_FIELDS =
  'id slug name description cover status visible aspectRatio defaultColor config myRole canEdit owner { id username } playerAccess { id username } editorAccess { id username }';

// The hub's slug rule (hub/cli.py SLUG). Chromium compiles `pattern` with the `v` flag, where a
// `-` in a class must be escaped: unescaped, the pattern is rejected and the check silently off.
export const SLUG_PATTERN = '[a-z0-9][a-z0-9\\-]{0,62}';
const RATIOS = ['16:9', '4:3', '3:2', '1:1', '9:16'];

/** Active usernames matching `text`, for the access pickers (`usernames`, any logged-in user). */
export async function suggestUsers(text) {
  return (await gql('query($s: String!) { usernames(search: $s) }', { s: text })).usernames;
}

function generalFields(stage, covers) {
  const ratio = RATIOS.includes(stage.aspectRatio) ? stage.aspectRatio : stage.aspectRatio || '16:9';
  const ratioOptions = [...new Set([...RATIOS, ratio])].map((r) => [r, r]);
  return h(
    'fieldset',
    { class: 'general' },
    h('legend', {}, 'Stage'),
    h(
      'div',
      { class: 'row' },
      field('Name', h('input', { name: 'name', value: stage.name ?? '', required: true })),
      field('Address (slug)', h('input', { name: 'slug', value: stage.slug ?? '', pattern: SLUG_PATTERN, maxlength: 63, placeholder: 'from the name' }), { hint: 'Lower-case letters, digits and dashes: /stage/<slug>' }),
    ),
    field('Description', h('textarea', { name: 'description', rows: 3 }, stage.description ?? ''), { wide: true }),
    field('Cover image URL', h('input', { name: 'cover', value: stage.cover ?? '', list: 'cover-choices', placeholder: 'pick one of your images or paste a URL' }), { wide: true }),
    h('datalist', { id: 'cover-choices' }, covers.map((m) => h('option', { value: m.url }, m.name))),
    h(
      'div',
      { class: 'row' },
      field('Status', select('status', [['live', 'Live'], ['rehearsal', 'Rehearsal'], ['upcoming', 'Upcoming']], stage.status ?? 'rehearsal')),
      field('Aspect ratio', select('aspectRatio', ratioOptions, ratio)),
      field('Default colour', h('input', { name: 'defaultColor', type: 'color', value: stage.defaultColor || '#30ac45' })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'visible', checked: stage.visible ?? true }), 'Listed in the foyer'),
    ),
  );
}

/**
 * The stage form. `stage` is null for a new one. `onSaved(stage)` after a successful save;
 * `covers` are image media offered as covers.
 */
export function stageForm(stage, { covers = [], onSaved }) {
  const isNew = !stage;
  const s = stage ?? {};
  const players = userPicker('Players', 'players', (s.playerAccess ?? []).map((u) => u.username), suggestUsers);
  const editors = userPicker('Editors', 'editors', (s.editorAccess ?? []).map((u) => u.username), suggestUsers);
  const animations = animationFields(s.config?.animations);
  const form = h(
    'form',
    { class: 'stage-editor', 'aria-label': isNew ? 'New stage' : `Edit ${s.name}` },
    generalFields(s, covers),
    animations.fieldset,
    h(
      'fieldset',
      { class: 'access' },
      h('legend', {}, 'Access'),
      h('p', { class: 'hint muted' }, `Owner: ${s.owner?.username ?? 'you'}. Players may perform on the stage; editors may also change it here.`),
      players.element,
      editors.element,
    ),
    formFooter(isNew ? 'Create stage' : 'Save stage'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const el = form.elements;
    const input = {
      name: el.name.value.trim(),
      description: el.description.value,
      cover: el.cover.value.trim() || null,
      status: el.status.value,
      visible: el.visible.checked,
      aspectRatio: el.aspectRatio.value,
      defaultColor: el.defaultColor.value,
      players: players.read(),
      editors: editors.read(),
      animations: animations.read(),
    };
    const slug = el.slug.value.trim();
    if (slug || !isNew) input.slug = slug;
    const saved = await saving(form, async () => {
      if (isNew) return (await gql(`mutation($input: StageInput!) { createStage(input: $input) { ${STAGE_FIELDS} } }`, { input })).createStage;
      return (await gql(`mutation($id: ID!, $input: StageInput!) { updateStage(id: $id, input: $input) { ${STAGE_FIELDS} } }`, { id: s.id, input })).updateStage;
    });
    if (saved) onSaved(saved);
  });
  return form;
}

/** Duplicate and delete, for an existing stage. */
export function stageActions(stage, { onDuplicated, onDeleted }) {
  const note = h('p', { class: 'error', role: 'alert', hidden: true });
  const fail = (err) => {
    note.textContent = err.message;
    note.hidden = false;
  };
  const nameInput = h('input', { name: 'copyName', value: `${stage.name} (copy)`, 'aria-label': 'Name of the copy' });
  const duplicate = async () => {
    note.hidden = true;
    try {
      const { duplicateStage } = await gql('mutation($id: ID!, $name: String) { duplicateStage(id: $id, name: $name) { slug } }', { id: stage.id, name: nameInput.value.trim() || null });
      onDuplicated(duplicateStage);
    } catch (err) {
      fail(err);
    }
  };
  const remove = async () => {
    note.hidden = true;
    const body = h('p', {}, `The stage /${stage.slug}, its media assignments and saved scenes go. Its archived performances stay available for replay.`);
    if (!(await confirmDialog(`Delete the stage ${stage.name}?`, body, 'Delete stage'))) return;
    try {
      await gql('mutation($id: ID!) { deleteStage(id: $id) }', { id: stage.id });
      onDeleted();
    } catch (err) {
      fail(err);
    }
  };
  return h(
    'section',
    { class: 'stage-actions' },
    h('h2', {}, 'Copy or delete'),
    h('div', { class: 'row' }, nameInput, h('button', { type: 'button', class: 'secondary', onclick: duplicate }, 'Duplicate stage')),
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete stage…')),
    note,
  );
}
