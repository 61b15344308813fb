// Uploading media: a drop zone and a file picker for several files at once, one row per file
// with its own progress bar and, for a refused file, the reason (type, size, the user's upload
// limit). Files go to POST /api/media one by one through XMLHttpRequest, which reports upload
// progress (fetch does not).
import { accessToken } from '../api.js';
import { formatBytes, h, MEDIA_TYPES, select } from './common.js';

const MESSAGES = {
  too_large: (file, limit) => `Too large: ${formatBytes(file.size)} is over your upload limit of ${formatBytes(limit)}.`,
  unsupported_type: () => 'Not an accepted file: upload an image (PNG, JPEG, GIF, WebP, SVG), a sound or a video.',
};

/**
 * Send one file; `onProgress(fraction)`. Resolves the created media, or rejects with an Error
 * carrying `code` and `status` (the server's `error.code`, or `network`).
 */
export async function uploadFile(file, { type = '', name = '', frameOf = null, onProgress = () => {} } = {}) {
  const token = await accessToken();
  const form = new FormData();
  form.append('file', file, file.name);
  if (type) form.append('type', type);
  if (name) form.append('name', name);
  if (frameOf) form.append('frameOf', frameOf);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/media');
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.addEventListener('progress', (e) => e.lengthComputable && onProgress(e.loaded / e.total));
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON: handled below */
      }
      if (xhr.status === 201 && body?.ok) return resolve(body.media);
      const err = new Error(body?.error?.message ?? `The hub answered ${xhr.status}.`);
      err.code = body?.error?.code ?? (xhr.status === 413 ? 'too_large' : 'error');
      err.status = xhr.status;
      reject(err);
    });
    xhr.addEventListener('error', () => reject(Object.assign(new Error('The upload failed: the hub cannot be reached.'), { code: 'network' })));
    xhr.send(form);
  });
}

/** Why `file` will be refused before sending it, or null. */
function precheck(file, limit) {
  if (limit && file.size > limit) return MESSAGES.too_large(file, limit);
  return null;
}

/** One file's row: name, size, progress bar, outcome. */
function fileRow(file) {
  const bar = h('progress', { max: 1, value: 0, 'aria-label': `Upload progress of ${file.name}` });
  const outcome = h('span', { class: 'outcome', role: 'status' }, 'Waiting…');
  const row = h('li', { class: 'upload-row', dataset: { file: file.name } }, h('span', { class: 'file-name' }, file.name), h('span', { class: 'muted' }, formatBytes(file.size)), bar, outcome);
  return {
    row,
    progress: (f) => {
      bar.value = f;
      outcome.textContent = `${Math.round(f * 100)}%`;
    },
    done: (media, frame = 0) => {
      bar.value = 1;
      row.classList.add('ok');
      outcome.textContent = frame ? `Frame ${frame} of ${media.type} “${media.name}”.` : `Uploaded as ${media.type} “${media.name}”.`;
    },
    refused: (message) => {
      bar.remove();
      row.classList.add('refused');
      outcome.className = 'outcome error';
      outcome.setAttribute('role', 'alert');
      outcome.textContent = message;
    },
  };
}

/**
 * The upload panel. `limit()` resolves the user's current upload limit in bytes; `onUploaded(media)`
 * is called after each accepted file.
 */
export function uploadPanel({ limit, onUploaded }) {
  const input = h('input', { type: 'file', name: 'files', multiple: true, accept: 'image/*,audio/*,video/*', class: 'visually-hidden', id: 'upload-files' });
  const typeSelect = select('type', [['', 'Decide from the file'], ...MEDIA_TYPES.map((t) => [t, t])], '');
  const asFrames = h('input', { type: 'checkbox', name: 'asFrames' });
  const list = h('ul', { class: 'uploads', 'aria-label': 'Uploads' });
  const zone = h(
    'div',
    { class: 'drop-zone', dataset: { testid: 'drop-zone' } },
    h('p', {}, 'Drop files here, or '),
    h('label', { class: 'button', for: 'upload-files', tabindex: 0, role: 'button', onkeydown: (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), input.click()) }, 'Choose files…'),
    input,
    h('label', { class: 'field' }, h('span', { class: 'label' }, 'Upload as'), typeSelect),
    h('label', { class: 'check' }, asFrames, 'As the frames of one item (in the order chosen)'),
  );

  const queue = async (files) => {
    const type = typeSelect.value;
    const max = await limit();
    // As frames: the first accepted file makes the item, each later one is a frame of it (frameOf).
    let item = null;
    const framed = asFrames.checked && files.length > 1;
    for (const file of files) {
      const ui = fileRow(file);
      list.prepend(ui.row);
      const refusal = precheck(file, max);
      if (refusal) {
        ui.refused(refusal);
        continue;
      }
      try {
        const media = await uploadFile(file, { type, frameOf: item?.id ?? null, onProgress: ui.progress });
        if (framed) item = media;
        ui.done(media, framed ? media.frames.length : 0);
        onUploaded(media);
      } catch (err) {
        ui.refused(MESSAGES[err.code]?.(file, max) ?? err.message);
      }
    }
  };

  input.addEventListener('change', () => {
    queue([...input.files]);
    input.value = '';
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    queue([...e.dataTransfer.files]);
  });
  return h('section', { class: 'upload', 'aria-labelledby': 'upload-heading' }, h('h2', { id: 'upload-heading' }, 'Upload media'), zone, list);
}
