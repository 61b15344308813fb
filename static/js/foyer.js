// The foyer (/): every visible stage as a card with its cover, status and live player/audience
// counts (the hub's own presence, polled every few seconds), linking to /stage/<slug>.
import { gql } from './api.js';
import { h } from './dom.js';
import { mountNav } from './nav.js';
import { safeUrl } from './safe.js';

const POLL_MS = 3000;
const QUERY = `{ site { title description } foyer { slug name description cover status live { players audiences } } }`;

function card(stage) {
  const href = `/stage/${encodeURIComponent(stage.slug)}`;
  const cover = safeUrl(stage.cover)
    ? h('img', { class: 'cover', src: safeUrl(stage.cover), alt: '' })
    : h('div', { class: 'cover none', 'aria-hidden': 'true' }, '🎭');
  return h('article', { class: 'card stage-card', dataset: { slug: stage.slug } },
    h('a', { href, tabindex: '-1', 'aria-hidden': 'true' }, cover),
    h('div', { class: 'body' },
      h('h2', {}, h('a', { href }, stage.name)),
      h('div', { class: 'meta' },
        h('span', { class: `badge ${stage.status}` }, stage.status),
        h('span', { title: 'Players on stage' }, '🎭 ', h('span', { class: 'players' }, String(stage.live.players)), stage.live.players === 1 ? ' player' : ' players'),
        h('span', { title: 'Audience watching' }, '👥 ', h('span', { class: 'audiences' }, String(stage.live.audiences)), ' watching')),
      stage.description ? h('p', { class: 'muted' }, stage.description) : ''));
}

async function refresh() {
  const list = document.querySelector('.stages');
  const error = document.querySelector('.foyer-error');
  try {
    const data = await gql(QUERY);
    document.querySelector('.site-title').textContent = data.site.title;
    document.querySelector('.site-description').textContent = data.site.description;
    list.replaceChildren(...(data.foyer.length ? data.foyer.map(card) : [h('p', { class: 'muted' }, 'No stages are open yet.')]));
    error.hidden = true;
  } catch (err) {
    error.textContent = `The stage list could not be loaded: ${err.message}`;
    error.hidden = false;
  }
  list.setAttribute('aria-busy', 'false');
}

mountNav(document.querySelector('body > header'));
refresh();
setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
