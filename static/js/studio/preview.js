// Previews of media and saved scenes, plain DOM: an image (cycling through the frames of a
// multi-frame item), an audio player, a video; a scene as a small box with its backdrop and its
// objects placed where they stood (no canvas needed). Scene payloads come from the stage, so
// their colours go through safeColor and their image URLs through `h` (http(s) only).
import { safeColor } from '../safe.js';
import { h } from './common.js';

const AUDIO = /^audio\//;
const VIDEO = /^video\//;

function kindOf(media) {
  if (AUDIO.test(media.mime) || media.type === 'audio') return 'audio';
  if (VIDEO.test(media.mime) || media.type === 'video') return 'video';
  return 'image';
}

/** A preview element for one media item. */
export function mediaPreview(media) {
  const kind = kindOf(media);
  if (kind === 'audio') return h('div', { class: 'preview audio' }, h('audio', { controls: true, preload: 'none', src: media.url, 'aria-label': `Play ${media.name}` }));
  if (kind === 'video') return h('div', { class: 'preview' }, h('video', { controls: true, muted: true, preload: 'metadata', src: media.url, 'aria-label': media.name }));
  const frames = media.frames?.length ? media.frames : [media.url];
  const img = h('img', { src: frames[0], alt: media.name, loading: 'lazy' });
  const box = h('div', { class: 'preview' }, img);
  if (frames.length > 1) {
    box.append(h('span', { class: 'badge frames' }, `${frames.length} frames`));
    let i = 0;
    const timer = setInterval(() => {
      if (!img.isConnected) return clearInterval(timer);
      i = (i + 1) % frames.length;
      img.src = frames[i];
    }, 600);
  }
  return box;
}

/**
 * A thumbnail of a scene's stored payload (`background`, `backdropColor`, `board.objects`, as
 * hub/state/scenes.py keeps it). Object x, y, w are fractions of the stage width (spec §2.1).
 */
export function scenePreview(scene, ratio = 16 / 9) {
  const payload = scene.payload ?? {};
  const image = payload.background?.src ?? null;
  const box = h('div', {
    class: 'scene-preview',
    role: 'img',
    'aria-label': `Preview of scene ${scene.name}`,
    style: { aspectRatio: String(ratio), backgroundColor: safeColor(payload.backdropColor, '#222') },
  });
  if (image) box.append(h('img', { class: 'backdrop', src: image, alt: '' }));
  const percent = (v) => `${(Number(v) || 0) * 100}%`;
  for (const object of payload.board?.objects ?? []) {
    if (!object?.src) continue;
    box.append(
      h('img', {
        class: 'object',
        src: object.src,
        alt: object.name ?? '',
        style: { left: percent(object.x), top: percent((object.y ?? 0) * ratio), width: percent(object.w ?? 0.1), opacity: String(Number(object.opacity ?? 1)) },
      }),
    );
  }
  return box;
}
