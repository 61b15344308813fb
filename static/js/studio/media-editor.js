// Editing one media item in a panel: name, type, copyright level, frame order (and more frames)
// of a multi-frame item, an avatar's voice, a prop's link, the stages it is assigned to; and
// deleting it, with the stages that still use it shown before anything is deleted.
import { COPYRIGHT, confirmDialog, field, formFooter, gql, h, MEDIA_TYPES, orderButtons, panel, saving, select } from './common.js';
import { currentUser } from '../api.js';
import { libraryFields } from './library-tools.js';
import { MEDIA_FIELDS } from './media-list.js';
import { mediaPreview } from './preview.js';
import { uploadFile } from './upload.js';
import { voiceFields } from './voice.js';

const SAVE = `mutation($input: MediaInput!) { saveMedia(input: $input) { ${MEDIA_FIELDS} } }`;
const STAGE_MEDIA = 'query($slug: String!) { stage(slug: $slug) { id media { id } } }';
const ASSIGN = 'mutation($stageId: ID!, $mediaIds: [ID!]!) { assignMedia(stageId: $stageId, mediaIds: $mediaIds) { id } }';

/** Add or remove `mediaId` on a stage's list, keeping the toolbar order of the others. */
export async function setAssigned(stage, mediaId, assigned) {
  const { stage: current } = await gql(STAGE_MEDIA, { slug: stage.slug });
  const ids = current.media.map((m) => m.id).filter((id) => id !== mediaId);
  if (assigned) ids.push(mediaId);
  await gql(ASSIGN, { stageId: current.id, mediaIds: ids });
}

// Media types that may have frames (images: hub/upload.py FRAME_TYPES).
const FRAME_TYPES = ['avatar', 'prop', 'backdrop', 'curtain'];

/** The frames of an image item: reorder, remove (one stays), add more (uploaded as `frameOf`). */
function framesEditor(media) {
  const frames = [...media.frames];
  const list = h('ol', { class: 'frames' });
  const render = () =>
    list.replaceChildren(
      ...frames.map((url, i) => h('li', {}, h('img', { src: url, alt: `Frame ${i + 1}` }), h('span', {}, `Frame ${i + 1}`), orderButtons(`frame ${i + 1}`, frames, i, render, { remove: frames.length > 1 }))),
    );
  render();
  const more = h('input', { type: 'file', name: 'moreFrames', multiple: true, accept: 'image/*' });
  const status = h('span', { class: 'muted', role: 'status' });
  more.addEventListener('change', async () => {
    for (const file of more.files) {
      status.textContent = `Adding ${file.name}…`;
      try {
        const updated = await uploadFile(file, { frameOf: media.id });
        for (const url of updated.frames) if (!frames.includes(url)) frames.push(url);
        status.textContent = `Added ${file.name}.`;
      } catch (err) {
        status.textContent = `${file.name}: ${err.message}`;
      }
    }
    more.value = '';
    render();
  });
  const fieldset = h('fieldset', { class: 'frames-editor' }, h('legend', {}, 'Frames (in the order they play)'), list, field('Add frames', more), status);
  return { fieldset, read: () => frames };
}

function linkFields(link) {
  const l = link ?? {};
  const fieldset = h(
    'fieldset',
    { class: 'link' },
    h('legend', {}, 'Link (audience can click the prop)'),
    field('URL', h('input', { name: 'linkUrl', type: 'url', value: l.url ?? '', placeholder: 'https://…' }), { wide: true }),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'linkBlank', checked: Boolean(l.blank) }), 'Open in a new tab'),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'linkEffect', checked: Boolean(l.effect) }), 'Glow when hovered'),
  );
  const read = () => {
    const el = fieldset.elements;
    const url = el.linkUrl.value.trim();
    return url ? { url, blank: el.linkBlank.checked, effect: el.linkEffect.checked } : null;
  };
  return { fieldset, read };
}

function stageChecks(media, stages) {
  const on = new Set(media.stages.map((s) => s.id));
  const boxes = stages.map((s) => ({ stage: s, box: h('input', { type: 'checkbox', name: `stage-${s.id}`, checked: on.has(s.id) }) }));
  const fieldset = h(
    'fieldset',
    { class: 'assign' },
    h('legend', {}, 'On stages'),
    boxes.length ? boxes.map(({ stage, box }) => h('label', { class: 'check' }, box, stage.name)) : h('p', { class: 'muted' }, 'You cannot edit any stage yet.'),
    h('p', { class: 'hint muted' }, 'New media goes to the end of a stage’s toolbar; reorder it in Backstage.'),
  );
  const changes = () => boxes.filter(({ stage, box }) => box.checked !== on.has(stage.id)).map(({ stage, box }) => [stage, box.checked]);
  return { fieldset, changes };
}

function deleteSection(media, onDeleted, close) {
  const used = media.stages;
  const remove = async () => {
    const body = h(
      'div',
      {},
      used.length
        ? [h('p', {}, `“${media.name}” is still used by:`), h('ul', {}, used.map((s) => h('li', {}, s.name))), h('p', {}, 'It will disappear from those stages’ toolbars.')]
        : h('p', {}, `“${media.name}” is not used by any stage.`),
    );
    if (!(await confirmDialog(`Delete ${media.name}?`, body))) return;
    try {
      await gql('mutation($id: ID!) { deleteMedia(id: $id) }', { id: media.id });
      close();
      onDeleted(media);
    } catch (err) {
      note.textContent = err.message;
      note.hidden = false;
    }
  };
  const note = h('p', { class: 'error', role: 'alert', hidden: true });
  return h(
    'section',
    { class: 'danger-zone' },
    h('h3', {}, 'Delete'),
    used.length ? h('p', {}, 'Still used by: ', used.map((s) => s.name).join(', ')) : h('p', { class: 'muted' }, 'Not used by any stage.'),
    h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete this media'),
    note,
  );
}

/** Open the editor for `media`; `stages` are those the user may edit. */
export function editMedia(media, { stages, onSaved, onDeleted }) {
  const type = select('type', MEDIA_TYPES.map((t) => [t, t]), media.type);
  const frames = FRAME_TYPES.includes(media.type) && !/^(audio|video)\//.test(media.mime ?? '') ? framesEditor(media) : null;
  const voice = voiceFields(media.voice);
  const link = linkFields(media.link);
  const assign = stageChecks(media, stages);
  // Others' media (shared, free or granted) is only put on stages: the rest is its owner's.
  const me = currentUser();
  const mine = me?.role === 'admin' || String(me?.id) === String(media.owner.id);
  const library = mine ? libraryFields(media) : null;
  const showFor = () => {
    voice.fieldset.hidden = type.value !== 'avatar';
    link.fieldset.hidden = type.value !== 'prop';
  };
  type.addEventListener('change', showFor);
  showFor();
  const form = h(
    'form',
    { class: 'media-editor', 'aria-label': `Edit ${media.name}` },
    mediaPreview(media),
    h(
      'div',
      { class: 'row' },
      field('Name', h('input', { name: 'name', value: media.name, required: true })),
      field('Type', type),
      field('Copyright', select('copyrightLevel', COPYRIGHT, media.copyrightLevel)),
    ),
    frames?.fieldset,
    voice.fieldset,
    link.fieldset,
    assign.fieldset,
    library?.fieldset,
    formFooter('Save'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = { id: media.id, name: form.elements.name.value.trim(), type: type.value, copyrightLevel: Number(form.elements.copyrightLevel.value) };
    if (frames) input.frames = frames.read();
    if (type.value === 'avatar') input.voice = voice.read();
    if (type.value === 'prop') input.link = link.read();
    if (library) Object.assign(input, library.read());
    const saved = await saving(form, async () => {
      const { saveMedia } = mine ? await gql(SAVE, { input }) : { saveMedia: media };
      for (const [stage, on] of assign.changes()) await setAssigned(stage, media.id, on);
      return saveMedia;
    });
    if (saved) {
      dialog.close();
      onSaved(saved);
    }
  });
  const dialog = panel(`Edit ${media.name}`, h('div', {}, form, deleteSection(media, onDeleted, () => dialog.close())));
  return dialog;
}
