// Picking users by name for a stage's player and editor access: chips with a remove button,
// and a text box that suggests matching usernames as you type (Enter or "Add" adds one).
import { h } from './common.js';

let counter = 0;

/**
 * `name` is the field name the server's errors refer to (players / editors); `suggest(text)`
 * resolves matching usernames. `read()` gives the chosen usernames.
 */
export function userPicker(label, name, initial, suggest) {
  const chosen = [...initial];
  const listId = `users-${name}-${++counter}`;
  const options = h('datalist', { id: listId });
  const input = h('input', { name, list: listId, autocomplete: 'off', placeholder: 'username', 'aria-label': `Add to ${label.toLowerCase()}` });
  const chips = h('ul', { class: 'chips', 'aria-label': label });
  const render = () =>
    chips.replaceChildren(
      ...chosen.map((username, i) =>
        h('li', { class: 'chip' }, username, h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${username} from ${label.toLowerCase()}`, onclick: () => (chosen.splice(i, 1), render()) }, '✕')),
      ),
    );
  const add = () => {
    const username = input.value.trim();
    if (username && !chosen.includes(username)) chosen.push(username);
    input.value = '';
    render();
  };
  let pending = 0;
  input.addEventListener('input', async () => {
    const text = input.value.trim();
    const ticket = ++pending;
    if (!text) return;
    const names = await suggest(text).catch(() => []);
    if (ticket === pending) options.replaceChildren(...names.filter((n) => !chosen.includes(n)).map((n) => h('option', { value: n })));
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      add();
    }
  });
  render();
  const element = h(
    'div',
    { class: 'user-picker' },
    h('span', { class: 'label' }, label),
    chips,
    h('div', { class: 'add' }, input, options, h('button', { type: 'button', class: 'secondary', onclick: add }, 'Add')),
    h('span', { class: 'error', role: 'alert', 'data-error-for': name, hidden: true }),
  );
  // What was typed but not yet added counts too: nothing the user entered is dropped on save.
  return {
    element,
    read: () => {
      add();
      return [...chosen];
    },
  };
}
