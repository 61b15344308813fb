// The stage page's session and first impression (issue 17): logging in or out in the header (or in
// another tab) switches the page between audience and performer view at once, by reconnecting the
// socket with the new login and rebuilding the screen for the role the hub gives; the toolbox's
// hold follows the roster; a badge says while the stage is in rehearsal; and the stage's cover
// shows while the stage loads.
import { currentUser, gql, onAuthChange } from '../api.js';
import { h } from '../dom.js';
import { safeUrl } from '../safe.js';

const COVER_QUERY = 'query($slug: String!) { stage(slug: $slug) { name cover } }';

/**
 * Reconnect `conn`'s socket whenever the logged-in user changes (a token refresh saves the same
 * user again: ignored). The socket asks for its token at every connection, so it comes back with
 * the new login (or none), and the join takes the whole state: another role sees another stage.
 */
export function followLogin(conn) {
  let who = currentUser()?.id ?? null;
  onAuthChange((user) => {
    const now = user?.id ?? null;
    if (String(now) === String(who)) return;
    who = now;
    conn.epoch = null;
    conn.socket.disconnect().connect();
    conn.onStatus('connecting'); // not the "Offline" of a disconnect asked for
  });
}

/**
 * Take a screen built for another role off the page (its toolbox removed from the DOM, sound,
 * clips and streams stopped, timers cleared); returns whether its sound was unlocked, for the next screen.
 */
export function dropScreen(screen, page) {
  screen.audio.stopAll();
  screen.videos.stopAll();
  screen.audio.button.remove();
  for (const entry of screen.view.elements.values()) clearInterval(entry.timer);
  clearInterval(screen.streams.timer);
  clearInterval(screen.videos.timer);
  for (const player of screen.streams.players.values()) player.destroy(); // live streams stop loading
  clearTimeout(screen.view.bubbleTimer);
  for (const selector of ['.stage-area', '.side', '.tools']) document.querySelector(selector).replaceChildren();
  page.viewAsAudience(false);
  page.toolbox?.destroy();
  page.toolbox = null;
  return screen.audio.unlocked;
}

/** The avatar this tab holds, as the roster says (another player may have taken it): id or null. */
export function heldBy(roster, session) {
  const me = Array.isArray(roster) ? roster.find((m) => m?.session === session) : null;
  return me?.avatarId ? String(me.avatarId) : null;
}

/** The "Rehearsal" badge in the stage bar, shown while the stage's status is rehearsal. */
export function showStatus(status) {
  let badge = document.querySelector('.rehearsal-badge');
  if (!badge) {
    badge = h('span', { class: 'rehearsal-badge', role: 'status', title: 'Only performers see the stage while it is in rehearsal' }, 'Rehearsal');
    document.querySelector('.stage-name').after(badge);
  }
  badge.hidden = status !== 'rehearsal';
}

/** Show the stage's name and cover (GraphQL) in `area` until `loaded()` is true (the first join ack). */
export async function showCover(area, slug, loaded) {
  let stage = null;
  try {
    stage = (await gql(COVER_QUERY, { slug })).stage;
  } catch {
    return; // no cover is no loss: the stage comes anyway
  }
  if (!stage || loaded()) return;
  document.querySelector('.stage-name').textContent = stage.name;
  const cover = safeUrl(stage.cover);
  if (cover) area.append(h('div', { class: 'stage-cover', 'aria-hidden': 'true' }, h('img', { src: cover, alt: '' }), h('p', {}, 'The stage is opening…')));
}

/** Remove the cover (the stage has come). */
export function hideCover() {
  document.querySelector('.stage-cover')?.remove();
}
