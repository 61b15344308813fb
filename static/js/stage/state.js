// The stage's live state in the browser: a faithful port of the hub's pure reducers
// (hub/state/*.py, docs/state.md). Every client folds the same events the same way, so a
// client that joined with a snapshot and one that saw every event show the same stage.
// Pure: `apply` never mutates its input and returns the very same object when nothing changed.
import { dress, isBackstage } from './costumes.js';

import { anchorBackdrop, settleFrames } from './frames.js';
import { isId, isNumber, isObj, sameId } from './values.js';

export const LIMITS = Object.freeze({
  chatMessages: 100, privateMessages: 100, whiteboardCommands: 2000,
  boardObjects: 1000, audioTracks: 200, payloadDepth: 64,
});

/** How a chat message or speech is said (the hub's schema allows only these). */
export const BEHAVIORS = Object.freeze(['speak', 'think', 'shout']);

// --- helpers (hub/state/_util.py) -------------------------------------------------------
export { isId, isNumber, sameId };
const isBool = (v) => typeof v === 'boolean';
export const idKey = (v) => String(v);
const action = (p) => (isObj(p) && typeof p.type === 'string' ? p.type : null);
const eventAt = (e) => (isNumber(e.at) ? e.at : 0);
const indexOf = (items, ident) => items.findIndex((it) => isObj(it) && sameId(it.id, ident));
const boundedAppend = (items, item, limit) => (limit <= 0 ? [] : [...items, item].slice(-limit));
const sameItems = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const without = (o, key) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

export function nestsDeeperThan(value, limit) {
  const stack = [[value, 1]];
  while (stack.length) {
    const [item, depth] = stack.pop();
    if (item !== null && typeof item === 'object') {
      if (depth > limit) return true;
      for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push([child, depth + 1]);
    }
  }
  return false;
}

// --- video objects (hub/state/video.py) ------------------------------------------------
export const isVideo = (o) => isObj(o) && o.type === 'video';

/** A video object as it is at hub time `nowMs` (advanced, wrapped when looping, paused on its last frame once ended). */
export function videoAt(obj, nowMs) {
  if (!isVideo(obj) || obj.isPlaying !== true || !isNumber(obj.currentTime) || !isNumber(obj.positionAt)) return obj;
  let position = obj.currentTime + Math.max(nowMs - obj.positionAt, 0) / 1000;
  const d = obj.duration;
  if (isNumber(d) && d > 0 && position >= d) {
    if (obj.loop !== true) return { ...obj, isPlaying: false, currentTime: d, positionAt: nowMs };
    position %= d;
  }
  return { ...obj, currentTime: position, positionAt: nowMs };
}

const anyPlaying = (objects) => objects.some((o) => isVideo(o) && o.isPlaying === true);

/** The board's objects at `nowMs`, the same list when no video plays. */
export const videosAt = (objects, nowMs) => (anyPlaying(objects) ? objects.map((o) => videoAt(o, nowMs)) : objects);

/** The object stored after `sent` merged into `old` (null when new) as `merged`: a video's position stamped at `at`. */
function settleVideo(old, merged, sent, at) {
  if (!isVideo(merged)) return merged;
  const prior = isVideo(old) ? videoAt(old, at) : {};
  let playing = prior.isPlaying === true;
  let current = isNumber(prior.currentTime) ? Math.max(prior.currentTime, 0) : 0;
  const result = { ...merged, positionAt: at };
  if (old !== null && 'positionAt' in sent) {
    delete result.replayed;
    if ('replayed' in prior) result.replayed = prior.replayed;
  } else {
    if (isBool(sent.isPlaying)) playing = sent.isPlaying;
    if (isNumber(sent.currentTime)) current = Math.max(sent.currentTime, 0);
    else if (isNumber(sent.replayed) && !(isNumber(prior.replayed) && prior.replayed === sent.replayed)) current = 0;
  }
  result.isPlaying = playing;
  result.currentTime = current;
  return result;
}

/** What the board stores for a placed or merged object: a video's playback, then frames anchored (frames.js). */
const settle = (old, merged, sent, at) => settleFrames(old, settleVideo(old, merged, sent, at), sent, at);

// --- board (hub/state/board.py) ---------------------------------------------------------
const emptyBoard = () => ({ objects: [], speeches: {} });
const objectId = (o) => (isObj(o) && isId(o.id) ? o.id : null);
const clean = (o) => ({ ...without(o, 'holder'), liveAction: true, published: true });
const withObjects = (board, objects) => (sameItems(objects, board.objects) ? board : { ...board, objects });

function boardFromObjects(objects, limits, at) {
  const kept = [];
  for (const o of objects) {
    if (objectId(o) === null) continue;
    const i = indexOf(kept, o.id);
    if (i >= 0) kept.splice(i, 1);
    kept.push(settle(null, clean(o), o, at));
  }
  return { objects: limits.boardObjects > 0 ? kept.slice(-limits.boardObjects) : [], speeches: {} };
}

function mergeAt(board, index, obj, at) {
  const objects = [...board.objects];
  const old = objects[index];
  objects[index] = settle(old, { ...old, ...clean(obj) }, obj, at);
  return { ...board, objects: dress(objects, index, old) }; // costumes follow; a shown object goes on top
}

function place(board, p, at, limits) {
  const ident = objectId(p.object);
  if (ident === null) return board;
  const i = indexOf(board.objects, ident);
  if (i < 0) {
    if (board.objects.length >= limits.boardObjects) return board;
    return { ...board, objects: [...board.objects, settle(null, clean(p.object), p.object, at)] };
  }
  return mergeAt(board, i, p.object, at);
}

function merge(board, p, at) {
  const ident = objectId(p.object);
  const i = ident !== null ? indexOf(board.objects, ident) : -1;
  return i >= 0 ? mergeAt(board, i, p.object, at) : board;
}

function destroy(board, p) {
  const ident = objectId(p.object);
  if (ident === null) return board;
  const objects = board.objects
    .filter((o) => !sameId(o.id, ident))
    .map((o) => (sameId(o.wornBy, ident) ? without(o, 'wornBy') : o));
  let speeches = board.speeches;
  if (idKey(ident) in speeches) speeches = without(speeches, idKey(ident));
  if (speeches === board.speeches && sameItems(objects, board.objects)) return board;
  return { objects, speeches };
}

function speak(board, p, at) {
  const ident = objectId(p.avatar);
  const s = p.speak;
  if (ident === null || indexOf(board.objects, ident) < 0 || !(isObj(s) || typeof s === 'string')) return board;
  return { ...board, speeches: { ...board.speeches, [idKey(ident)]: { speak: isObj(s) ? { ...s } : s, at } } };
}

const reorder = (toFront) => (board, p) => {
  const ident = objectId(p.object);
  const i = ident !== null ? indexOf(board.objects, ident) : -1;
  if (i < 0) return board;
  const objects = [...board.objects];
  const [moved] = objects.splice(i, 1);
  return withObjects(board, toFront ? [...objects, moved] : [moved, ...objects]);
};

function frontOf(board, p) {
  const { front, back } = p;
  const objects = board.objects;
  const fi = isId(front) ? indexOf(objects, front) : -1;
  if (fi < 0 || indexOf(objects, back) < 0 || sameId(front, back)) return board;
  const rest = objects.filter((_, i) => i !== fi);
  const bi = indexOf(rest, back);
  const at = p.side === 'behind' ? bi : bi + 1;
  return withObjects(board, [...rest.slice(0, at), objects[fi], ...rest.slice(at)]);
}

const BOARD = {
  placeObjectOnStage: place, moveTo: merge, switchFrame: merge, toggleAutoplayFrames: merge,
  destroy, speak, sendToBack: reorder(false), bringToFront: reorder(true), bringToFrontOf: frontOf,
};

/** When a speech bubble shown at `speech.at` fades: 1 s + 1 s per word, as the original client. */
export function speechEnds(speech) {
  const s = speech.speak;
  const text = isObj(s) ? s.message : s;
  const words = typeof text === 'string' ? text.split(' ').length : 1;
  return speech.at + 1000 + 1000 * words;
}

// --- background, settings (background.py, settings.py) -----------------------------------
function isNewer(candidate, current) {
  const oldAt = isObj(current) ? current.at : undefined;
  if (!isNumber(candidate.at) || !isNumber(oldAt)) return true;
  return oldAt < candidate.at;
}

function reduceBackground(bg, p) {
  const kind = action(p);
  if (kind === 'changeBackground') {
    if (isObj(p.background) && isNewer(p.background, bg.backdrop)) return { ...bg, backdrop: anchorBackdrop(bg.backdrop, { ...p.background }) };
  } else if (kind === 'setAnimations') {
    if (isObj(p.animations)) return { ...bg, animations: { ...(isObj(bg.animations) ? bg.animations : {}), ...p.animations } };
  } else if (kind === 'setBackdropColor') {
    if (typeof p.color === 'string') return { ...bg, backdropColor: p.color };
  } else if (kind === 'drawCurtain') {
    const c = p.curtain;
    if (c === null || c === undefined || typeof c === 'string') return { ...bg, curtain: c ?? null };
    if (isObj(c) && isNewer(c, bg.curtain)) return { ...bg, curtain: { ...c } };
  }
  return bg;
}

const SETTINGS = {
  chatVisibility: [isBool, 'setChatVisibility', 'visible'],
  reactionVisibility: [isBool, 'setReactionVisibility', 'visible'],
  chatDarkMode: [isBool, 'setDarkModeChat', 'enabled'],
  chatPosition: [(v) => v === 'left' || v === 'right', 'setChatPosition', 'position'],
  audienceChat: [isBool, 'setAudienceChat', 'enabled'],
  playersMayClearChat: [isBool, 'setPlayersMayClearChat', 'enabled'],
};
const NOT_FROM_SCENES = new Set(['playersMayClearChat']); // a right: a saved scene never brings it back
const SETTING_BY_ACTION = Object.fromEntries(Object.entries(SETTINGS).map(([name, [valid, kind, field]]) => [kind, [name, valid, field]]));

function reduceSettings(settings, p) {
  const found = SETTING_BY_ACTION[action(p)];
  if (!found) return settings;
  const [name, valid, field] = found;
  return valid(p[field]) ? { ...settings, [name]: p[field] } : settings;
}

function mergeSettings(settings, incoming) {
  if (!isObj(incoming)) return settings;
  const valid = Object.fromEntries(Object.entries(incoming).filter(([k, v]) => k in SETTINGS && !NOT_FROM_SCENES.has(k) && SETTINGS[k][0](v)));
  return { ...settings, ...valid };
}

// --- audio (audio.py) ---------------------------------------------------------------------
/** A track as it is at hub time `nowMs` (advanced, wrapped when looping, stopped past its end). */
export function trackAt(track, nowMs) {
  if (track.isPlaying !== true) return track;
  let position = track.currentTime + Math.max(nowMs - track.positionAt, 0) / 1000;
  const d = track.duration;
  if (isNumber(d) && d > 0 && position >= d) {
    if (track.loop === true) position %= d;
    else return { ...track, isPlaying: false, currentTime: 0, positionAt: nowMs };
  }
  return { ...track, currentTime: position, positionAt: nowMs };
}

function trackKey(tracks, p) {
  const ident = p.id;
  const src = p.src;
  const bySrc = typeof src === 'string' && src !== '';
  if (isId(ident)) {
    if (idKey(ident) in tracks) return idKey(ident);
    for (const [key, t] of Object.entries(tracks)) {
      if (sameId(t.id, ident) || (bySrc && t.src === src && !isId(t.id))) return key;
    }
    return idKey(ident);
  }
  if (bySrc) return Object.keys(tracks).find((k) => tracks[k].src === src) ?? src;
  return null;
}

function reduceTrack(audio, p, at, limits) {
  if (!isObj(p)) return audio;
  const tracks = audio.tracks;
  const key = trackKey(tracks, p);
  if (key === null || (!(key in tracks) && Object.keys(tracks).length >= limits.audioTracks)) return audio;
  const old = key in tracks ? trackAt(tracks[key], at) : { isPlaying: false, currentTime: 0, positionAt: at };
  const next = { ...old, ...p, positionAt: at };
  next.isPlaying = isBool(p.isPlaying) ? p.isPlaying : old.isPlaying;
  next.currentTime = isNumber(p.currentTime) ? Math.max(p.currentTime, 0) : old.currentTime;
  return { ...audio, tracks: { ...tracks, [key]: next } };
}

function reduceMaster(audio, p) {
  if (!isObj(p) || !isNumber(p.volume)) return audio;
  return { ...audio, master: { volume: Math.min(Math.max(p.volume, 0), 1), duration: isNumber(p.duration) ? Math.max(p.duration, 0) : 0 } };
}

const mapTracks = (audio, fn) => ({ ...audio, tracks: Object.fromEntries(Object.entries(audio.tracks).map(([k, t]) => [k, fn(t)])) });

function reconcile(audio, sceneTracks, at, limits) {
  let result = mapTracks(audio, (t) => ({ ...t, isPlaying: false, currentTime: 0, positionAt: at }));
  for (const t of sceneTracks) if (isObj(t)) result = reduceTrack(result, { isPlaying: false, currentTime: 0, ...t }, at, limits);
  return result;
}

// --- whiteboard, chat (whiteboard.py, chat.py) -------------------------------------------
function whiteboardFrom(commands, limits) {
  if (!Array.isArray(commands)) return { commands: [] };
  const kept = commands.filter(isObj).map((c) => ({ ...c }));
  return { commands: limits.whiteboardCommands > 0 ? kept.slice(-limits.whiteboardCommands) : [] };
}

function reduceWhiteboard(wb, p, limits) {
  const kind = action(p);
  const commands = wb.commands;
  if (kind === 'newLine' && isObj(p.command)) return { commands: boundedAppend(commands, { ...p.command }, limits.whiteboardCommands) };
  if (kind === 'undo' && Number.isInteger(p.index) && p.index >= 0 && p.index < commands.length) {
    return { commands: [...commands.slice(0, p.index), ...commands.slice(p.index + 1)] };
  }
  if (kind === 'clear' && commands.length) return { commands: [] };
  return wb;
}

const CHAT_LISTS = ['messages', 'privateMessages'];

function addMessage(chat, message, limits) {
  const priv = message.isPrivate === true;
  const name = priv ? 'privateMessages' : 'messages';
  const list = chat[name] ?? [];
  if (isId(message.id) && indexOf(list, message.id) >= 0) return chat;
  return { ...chat, [name]: boundedAppend(list, message, priv ? limits.privateMessages : limits.chatMessages) };
}

function editChat(chat, ident, change) {
  if (!isId(ident)) return chat;
  const edited = { ...chat };
  let changed = false;
  for (const name of CHAT_LISTS) {
    if (!chat[name] || indexOf(chat[name], ident) < 0) continue;
    edited[name] = chat[name].flatMap((m) => (!sameId(m.id, ident) ? [m] : change ? [change(m)] : []));
    changed = true;
  }
  return changed ? edited : chat;
}

function reduceChat(chat, p, limits) {
  if (typeof p === 'string') return addMessage(chat, { message: p }, limits);
  if (!isObj(p)) return chat;
  if (p.clear === true) return chat.messages.length ? { ...chat, messages: [] } : chat;
  if (p.clearPlayerChat === true) return chat.privateMessages?.length ? { ...chat, privateMessages: [] } : chat;
  if ('remove' in p) return editChat(chat, p.remove, null);
  if ('highlight' in p) return editChat(chat, p.highlight, (m) => ({ ...m, highlighted: m.highlighted !== true }));
  if (typeof p.message === 'string') return addMessage(chat, { ...p }, limits);
  return chat;
}

// --- scenes (scenes.py) ----------------------------------------------------------------
function wellFormedScene(s) {
  if (!isObj(s) || !isObj(s.board)) return false;
  const b = s.board;
  const bg = s.background;
  return Array.isArray(b.objects ?? []) && Array.isArray(b.whiteboard ?? []) && Array.isArray(s.audios ?? [])
    && isObj(s.settings ?? {}) && (bg === undefined || bg === null || isObj(bg)) && typeof (s.backdropColor ?? '') === 'string';
}

function switchScene(state, p, at, limits) {
  const s = isObj(p) ? p.snapshot : null;
  if (!wellFormedScene(s)) return state;
  const bg = state.background;
  return {
    ...state,
    board: boardFromObjects(s.board.objects ?? [], limits, at),
    background: { ...bg, backdrop: isObj(s.background) ? { ...s.background } : null, backdropColor: typeof s.backdropColor === 'string' ? s.backdropColor : bg.defaultColor },
    whiteboard: whiteboardFrom(s.board.whiteboard ?? [], limits),
    settings: mergeSettings(state.settings, s.settings),
    audio: reconcile(state.audio, s.audios ?? [], at, limits),
  };
}

// A recording's first snapshot: the scene as it is, keeping the backstage objects it leaves out.
function restateScene(state, p, at, limits) {
  const after = switchScene(state, p, at, limits);
  if (after === state) return state;
  const objects = [...after.board.objects];
  state.board.objects.forEach((o, i) => {
    if (isBackstage(o) && indexOf(objects, o.id) < 0) objects.splice(i, 0, o);
  });
  const kept = limits.boardObjects > 0 ? objects.slice(-limits.boardObjects) : [];
  return { ...after, board: { ...after.board, objects: kept } };
}

function blankScene(state, at) {
  const a = state.audio;
  return {
    ...state,
    board: emptyBoard(),
    background: { ...state.background, backdrop: null, backdropColor: state.background.defaultColor },
    whiteboard: { commands: [] },
    audio: Object.keys(a.tracks).length ? mapTracks(a, (t) => ({ ...t, currentTime: 0, positionAt: at })) : a,
  };
}

// --- the whole state (stage.py, view.py) ------------------------------------------------
export function emptyState(defaultColor = '#30ac45') {
  return {
    board: emptyBoard(),
    background: { backdrop: null, backdropColor: defaultColor, defaultColor, curtain: null },
    settings: { chatVisibility: true, reactionVisibility: true, chatDarkMode: false, chatPosition: 'right', audienceChat: true, playersMayClearChat: false },
    audio: { tracks: {}, master: { volume: 1.0, duration: 0 } },
    whiteboard: { commands: [] },
    chat: { messages: [], privateMessages: [] },
    streams: {},
  };
}

// --- streams (streams.py): the hub-only `stream` topic -----------------------------------
const MAX_STREAMS = 64;
const STREAM_NAME = /^(?![0-9]+$)[A-Za-z0-9_-]{1,64}$/;
const textOrNull = (v) => (typeof v === 'string' && v.length <= 2000 ? v : null);

function reduceStreams(streams, p, at) {
  if (!isObj(p) || typeof p.name !== 'string' || !STREAM_NAME.test(p.name) || typeof p.live !== 'boolean') return streams;
  const next = { ...streams, [p.name]: { live: p.live, url: textOrNull(p.url), performer: textOrNull(p.performer), since: at } };
  const names = Object.keys(next);
  if (names.length > MAX_STREAMS) delete next[names.find((n) => !next[n].live) ?? names[0]];
  return next;
}

const family = (name, next, state) => (next === state[name] ? state : { ...state, [name]: next });

function reduceBackgroundTopic(state, p, at, limits) {
  const kind = action(p);
  if (kind === 'blankScene') return blankScene(state, at);
  if (kind === 'switchScene') return switchScene(state, p, at, limits);
  if (kind === 'recordingSnapshot') return restateScene(state, p, at, limits);
  if (kind in SETTING_BY_ACTION) return family('settings', reduceSettings(state.settings, p), state);
  return family('background', reduceBackground(state.background, p), state);
}

const REDUCERS = {
  chat: (s, p, at, l) => family('chat', reduceChat(s.chat, p, l), s),
  board: (s, p, at, l) => { const h = BOARD[action(p)]; return family('board', h ? h(s.board, p, at, l) : s.board, s); },
  background: reduceBackgroundTopic,
  audio: (s, p, at, l) => family('audio', reduceTrack(s.audio, p, at, l), s),
  audio_master: (s, p) => family('audio', reduceMaster(s.audio, p), s),
  draw: (s, p, at, l) => family('whiteboard', reduceWhiteboard(s.whiteboard, p, l), s),
  stream: (s, p, at) => { const old = s.streams ?? {}; const next = reduceStreams(old, p, at); return next === old ? s : { ...s, streams: next }; },
};

/** The state after one event `{topic, payload, at}`; the same object when nothing changed. */
export function apply(state, event, limits = LIMITS) {
  if (!isObj(event) || typeof event.topic !== 'string') return state;
  const reducer = Object.hasOwn(REDUCERS, event.topic) ? REDUCERS[event.topic] : null;
  if (!reducer || nestsDeeperThan(event.payload, limits.payloadDepth)) return state;
  return reducer(state, event.payload, eventAt(event), limits);
}
