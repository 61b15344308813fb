// The live stage page (/stage/<slug>): joins the stage, keeps the state by applying every event
// with the same reducers as the hub, and hands it to the renderer, whiteboard, chat and audio.
// Performers also get the toolbox, imported only for them, so an audience page never holds it.
// Changes are shown when their echo comes back from the hub (never applied twice). A stage that
// closes (leaves live, or is deleted) or cannot be joined says so over the stage, with a way to
// try again and a way back to the foyer.
import { currentUser } from '../api.js';
import { h } from '../dom.js';
import { mountNav } from '../nav.js';
import { StageConnection, openSocket } from './connection.js';
import { StageScreen } from './screen.js';
import { dropScreen, followLogin, heldBy, hideCover, showCover, showStatus } from './session.js';

const NICK_KEY = 'upstage.nickname';
const STATUS_TEXT = { connecting: 'Connecting…', connected: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline', closed: 'Closed' };

function setStatus(status) {
  const el = document.querySelector('.connection');
  el.dataset.status = status;
  el.textContent = STATUS_TEXT[status] ?? status;
}

/** The notice over the stage when it is closed to this visitor (null removes it). */
function showClosed(message, retry) {
  document.querySelector('.closed-notice')?.remove();
  document.body.classList.toggle('stage-closed', message !== null);
  if (message === null) return;
  const again = h('button', { type: 'button', onclick: retry }, 'Try again');
  document.querySelector('.stage-area').append(h('section', { class: 'closed-notice', role: 'alert', 'aria-labelledby': 'closed-heading' },
    h('h2', { id: 'closed-heading' }, 'This stage is closed'),
    h('p', {}, message.charAt(0).toUpperCase() + message.slice(1) + (/[.!?]$/.test(message) ? '' : '.')),
    h('div', { class: 'row' }, again, h('a', { class: 'button secondary', href: '/' }, 'Back to the foyer'))));
  again.focus();
}

function setPresence(p) {
  for (const [selector, count] of [['.players-count', p?.players], ['.audience-count', p?.audience]]) {
    if (Number.isInteger(count)) document.querySelector(selector).textContent = String(count);
  }
}

async function main() {
  mountNav(document.querySelector('body > header'));
  const slug = decodeURIComponent(location.pathname.split('/')[2] ?? '');
  let nickname = localStorage.getItem(NICK_KEY) || currentUser()?.username || 'Guest';
  const socket = await openSocket();
  let screen = null;
  let conn = null;
  const page = {
    publish: (topic, payload) => conn.publish(topic, payload),
    nickname: () => screen?.chat.nick.value.trim() || nickname,
    viewAsAudience: (on) => document.body.classList.toggle('as-audience', on),
  };
  window.upstage = { socket, page, get state() { return screen?.state; }, get role() { return page.role; }, get voice() { return screen?.voice; } };
  const start = (ack) => {
    hideCover();
    nickname = localStorage.getItem(NICK_KEY) || currentUser()?.username || 'Guest'; // the login may have changed
    page.role = ack.role;
    document.title = `${ack.stage.name} · UpStage`;
    document.querySelector('.stage-name').textContent = ack.stage.name;
    document.body.dataset.role = ack.role;
    screen = new StageScreen(document.querySelector('.stage-area'), document.querySelector('.side'), {
      config: ack.stage.config, role: ack.role, nickname, publish: page.publish, speak: (p) => page.toolbox?.speak(p),
    });
    Object.assign(page, { view: screen.view, whiteboard: screen.whiteboard, audio: screen.audio });
    Object.defineProperty(page, 'state', { get: () => screen.state, configurable: true }); // again after a login
    screen.chat.onNickname = (name) => {
      if (!name) return;
      localStorage.setItem(NICK_KEY, name);
      conn.presence({ nickname: name });
    };
  };
  const loadToolbox = async (ack) => {
    if (ack.role !== 'audience') {
      const mine = screen;
      const { Toolbox } = await import('./toolbox.js');
      if (screen !== mine) return; // the login changed meanwhile
      page.toolbox = new Toolbox(document.querySelector('.tools'), { slug, role: ack.role, conn, page });
      screen.afterShow = (event) => page.toolbox.update(event);
      page.toolbox.setHeld(heldBy(page.roster, page.session));
      document.querySelector('.back-to-player').addEventListener('click', () => page.viewAsAudience(false));
    }
  };
  conn = new StageConnection(socket, slug, {
    nickname: localStorage.getItem(NICK_KEY) || undefined,
    onStatus: setStatus,
    onError: (message) => { document.querySelector('.stage-error').textContent = message; },
    onClosed: (message) => {
      screen?.audio.stopAll();
      screen?.videos.stopAll();
      showClosed(message, () => conn.join());
    },
    onJoined: (ack) => {
      showClosed(null);
      let unlocked = false;
      if (screen && ack.role !== page.role && !ack.state) { // another role's events: take the whole state
        conn.epoch = null;
        setTimeout(() => conn.join());
        return;
      }
      if (screen && ack.role !== page.role) [unlocked, screen] = [dropScreen(screen, page), null]; // logged in or out
      const first = !screen;
      if (first) start(ack);
      if (unlocked) screen.audio.unlock();
      page.session = ack.session;
      showStatus(ack.stage.status);
      screen.clock.seen(ack.now); // the hub's time: frames, bubbles and sound of a late joiner follow it
      if (ack.state) screen.reset(ack.state);
      screen.voice.joined(ack); // lines it recovers are old: not spoken unless just said
      if (first) loadToolbox(ack);
      else if (ack.state) page.toolbox?.recorder.refresh(); // a fresh state after a reconnect: hints may be missed
      setPresence(ack.presence);
      screen.view.setHolders(ack.presence?.roster);
      page.roster = ack.presence?.roster;
      page.toolbox?.setHeld(heldBy(page.roster, page.session));
    },
    onEvent: (event) => {
      screen?.event(event);
      // the hub says a scene was saved: the state does not change, so no render tells the toolbox
      if (event?.topic === 'background' && event.payload?.type === 'loadScenes') page.toolbox?.loadScenes();
      page.toolbox?.recorder.update(event); // every event: a recording's start or end changes no state
    },
    onPresence: (p) => {
      setPresence(p);
      screen?.view.setHolders(p?.roster);
      page.roster = p?.roster;
      page.toolbox?.setHeld(heldBy(page.roster, page.session));
    },
  });
  socket.on('stageStatus', (s) => showStatus(s?.status));
  followLogin(conn);
  showCover(document.querySelector('.stage-area'), slug, () => screen !== null);
}

main();
