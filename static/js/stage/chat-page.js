// The standalone chat page (/stage/<slug>/chat), for a phone beside the show or a second window:
// only the stage's chat and reactions. It joins with its own socket as a chat window
// (`join {chatWindow: true}`): it sees and may send what its role may, but is never in presence
// (not counted as audience, never in the roster, never holds an avatar), and claims no tab
// session, so it is never taken for the stage page of the same tab. It keeps the state with the
// same reducers as the stage page and shows only its chat and settings.
import { currentUser } from '../api.js';
import { StageConnection, openSocket } from './connection.js';
import { ChatPanel } from './chat.js';
import { apply, emptyState } from './state.js';

const NICK_KEY = 'upstage.nickname';
const STATUS_TEXT = { connecting: 'Connecting…', connected: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline', closed: 'Closed' };

async function main() {
  const slug = decodeURIComponent(location.pathname.split('/')[2] ?? '');
  document.querySelector('.to-stage').href = `/stage/${encodeURIComponent(slug)}`;
  const nickname = localStorage.getItem(NICK_KEY) || currentUser()?.username || 'Guest';
  const socket = await openSocket({ claim: () => ({}) });
  const hiddenNote = document.querySelector('.chat-hidden');
  let state = emptyState();
  let chat = null;
  let conn = null;
  const show = () => {
    chat.render(state.chat, state.settings);
    hiddenNote.hidden = !chat.panel.hidden;
  };
  window.upstage = { socket, get state() { return state; }, get chat() { return chat; } };
  conn = new StageConnection(socket, slug, {
    nickname: localStorage.getItem(NICK_KEY) || undefined,
    joinWith: { chatWindow: true },
    onStatus: (status) => {
      const el = document.querySelector('.connection');
      el.dataset.status = status;
      el.textContent = STATUS_TEXT[status] ?? status;
    },
    onError: (message) => { document.querySelector('.stage-error').textContent = message; },
    onClosed: (message) => { document.querySelector('.stage-error').textContent = message; },
    onJoined: (ack) => {
      document.querySelector('.stage-error').textContent = '';
      if (!chat) {
        document.title = `Chat · ${ack.stage.name} · UpStage`;
        document.querySelector('.stage-name').textContent = ack.stage.name;
        document.body.dataset.role = ack.role;
        chat = new ChatPanel(document.querySelector('.side'), {
          role: ack.role, nickname, stage: slug, publish: (topic, payload) => conn.publish(topic, payload), flyOver: document.querySelector('.fly-over'),
        });
        // a chat window is not in presence: a new name is taken by joining again with it
        chat.onNickname = (name) => {
          if (!name) return;
          localStorage.setItem(NICK_KEY, name);
          conn.nickname = name;
          conn.join();
        };
      }
      if (ack.state) state = ack.state;
      show();
    },
    onEvent: (event) => {
      if (event.topic === 'reaction') chat?.reaction(event.payload);
      const before = state;
      state = apply(state, event);
      if (state !== before && chat) show();
    },
    onPresence: () => {},
  });
}

main();
