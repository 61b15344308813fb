// The toolbox's video parts (performers only): the Video group's thumbnails (a muted <video> that
// loads only its metadata, with a note when this browser cannot play the type), the fields a
// placed clip starts with, and the selected clip's controls: Play, Pause, Restart, Loop and a seek
// slider. Each control is ONE moveTo of the whole object (as the original client). Play, Pause,
// Restart and a seek are playback commands, sent without `positionAt`, so the hub takes their
// isPlaying/currentTime; Loop is a copy of the object (with `positionAt`), so the room's
// position is kept as it is (docs/state.md "Video").
import { h } from '../dom.js';
import { CANNOT_PLAY } from './video.js';
import { videoAt } from './state.js';

const button = (label, onclick, attrs = {}) => h('button', { type: 'button', class: 'secondary', onclick, ...attrs }, label);

/** A video item's thumbnail: its first frame, and what this browser makes of its type. */
export function videoThumb(media) {
  const el = h('video', { src: media.url, preload: 'metadata', 'aria-hidden': 'true' });
  el.muted = true;
  const note = h('span', { class: 'cannot-play', hidden: true });
  const say = (text) => { note.textContent = text; note.hidden = false; };
  if (media.mime && el.canPlayType(media.mime) === '') say(`This browser cannot play ${media.mime}`);
  el.addEventListener('error', () => say(CANNOT_PLAY));
  return [el, note];
}

/** Height / width of a thumbnail (an image's or a video's), 1 when it is not known yet. */
export function aspectOf(thumb) {
  if (thumb?.naturalWidth) return thumb.naturalHeight / thumb.naturalWidth;
  if (thumb?.videoWidth) return thumb.videoHeight / thumb.videoWidth;
  return 1;
}

/** The playback fields a newly placed clip starts with: paused at 0, its duration if known. */
export function videoFields(thumb) {
  const duration = thumb?.duration;
  return { isPlaying: false, currentTime: 0, loop: false, replayed: 0, ...(Number.isFinite(duration) && duration > 0 ? { duration } : {}) };
}

/** The selected clip's controls; `publish(object)` sends one moveTo, `now()` is the hub's time,
 * `element` the clip's <video> on this screen (for a duration the object does not carry). */
export function videoControls(obj, { publish, now, element }) {
  const clip = videoAt(obj, now());
  const duration = Number.isFinite(obj.duration) && obj.duration > 0 ? obj.duration : element?.duration;
  const known = Number.isFinite(duration) && duration > 0;
  const command = (change) => {
    const sent = { ...obj, ...(known && !obj.duration ? { duration } : {}), ...change };
    delete sent.positionAt; // a command, not a copy of the state: the hub takes its position
    return publish(sent);
  };
  const position = () => {
    const at = videoAt(obj, now());
    return known && at.loop !== true && at.currentTime >= duration ? 0 : at.currentTime; // Play at the end starts again
  };
  const seek = h('input', { type: 'range', min: 0, max: known ? duration : 0, step: 0.1, value: clip.currentTime, disabled: !known, 'aria-label': 'Seek video' });
  seek.addEventListener('change', () => command({ currentTime: Math.min(Number(seek.value), duration) }));
  const loop = h('input', { type: 'checkbox', checked: clip.loop === true, 'aria-label': 'Loop video' });
  loop.addEventListener('change', () => publish({ ...obj, loop: loop.checked }));
  return h('div', { class: 'video-tools' },
    h('div', { class: 'row' },
      button('Play', () => command({ isPlaying: true, currentTime: position() }), { 'aria-pressed': String(clip.isPlaying === true) }),
      button('Pause', () => command({ isPlaying: false, currentTime: videoAt(obj, now()).currentTime })),
      button('Restart', () => command({ isPlaying: true, currentTime: 0, replayed: (Number.isInteger(obj.replayed) ? obj.replayed : 0) + 1 })),
      h('label', { class: 'inline' }, loop, 'Loop')),
    h('label', {}, 'Position', seek));
}
