// The management API for every page: GraphQL over fetch, with the player's tokens kept in
// localStorage and refreshed before they expire. Errors carry the server's `extensions.code`.

const KEY = 'upstage.auth';
const listeners = new Set();

export class ApiError extends Error {
  constructor(message, code = 'error', field = null) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

/** The saved login: {accessToken, refreshToken, user} or null. */
export function session() {
  try {
    return JSON.parse(localStorage.getItem(KEY));
  } catch {
    return null;
  }
}

export function currentUser() {
  return session()?.user ?? null;
}

/** Call `fn(user)` whenever the login changes (here or in another tab). */
export function onAuthChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function save(auth) {
  if (auth) localStorage.setItem(KEY, JSON.stringify(auth));
  else localStorage.removeItem(KEY);
  for (const fn of listeners) fn(auth?.user ?? null);
}

window.addEventListener('storage', (e) => {
  if (e.key === KEY) for (const fn of listeners) fn(currentUser());
});

function expiresAt(token) {
  try {
    const body = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return body.exp * 1000;
  } catch {
    return 0;
  }
}

const AUTH_FIELDS = 'accessToken refreshToken expiresIn user { id username role active uploadLimit }';

async function post(query, variables, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError('The hub cannot be reached. Check your connection and try again.', 'network');
  }
  const body = await response.json().catch(() => null);
  if (!body) throw new ApiError(`The hub answered ${response.status}.`, 'unavailable');
  if (body.errors?.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, first.extensions?.code ?? 'error', first.extensions?.field ?? null);
  }
  return body.data;
}

const REFRESH = `mutation($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const REFRESH_LOCK = 'upstage.auth.refresh';
let refreshing = null;

const fresh = (auth) => expiresAt(auth.accessToken) - Date.now() > 30_000;

/**
 * Refresh the shared login once for all tabs. Refresh tokens rotate (a used one is retired, and
 * using it again ends the login), so tabs take turns through a Web Lock and each re-reads the
 * stored tokens inside it: a tab that waited finds the new pair another tab saved and uses it.
 * Without Web Locks (an insecure context) the hub's short reuse grace covers tabs that collide.
 */
async function refreshShared() {
  const run = async () => {
    const auth = session();
    if (!auth) return null;
    if (fresh(auth)) return auth.accessToken;
    try {
      const data = await post(REFRESH, { t: auth.refreshToken });
      save(data.refreshToken);
      return data.refreshToken.accessToken;
    } catch (err) {
      // Only a refused token ends the login, and only if no other tab replaced it meanwhile.
      if (err.code === 'unauthenticated' && session()?.refreshToken === auth.refreshToken) save(null);
      throw err;
    }
  };
  return navigator.locks ? navigator.locks.request(REFRESH_LOCK, run) : run();
}

/** A valid access token, refreshed if it is about to expire; null when logged out. */
export async function accessToken() {
  const auth = session();
  if (!auth) return null;
  if (fresh(auth)) return auth.accessToken;
  refreshing ??= refreshShared().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** Run a GraphQL query or mutation as the logged-in user (or anonymously). */
export async function gql(query, variables = {}) {
  let token = null;
  try {
    token = await accessToken();
  } catch (err) {
    if (err.code === 'network') throw err;
  }
  return post(query, variables, token);
}

export async function login(username, password) {
  const data = await post(`mutation($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`, {
    u: username,
    p: password,
  });
  save(data.login);
  return data.login.user;
}

export async function logout() {
  const auth = session();
  save(null);
  if (auth) await post('mutation($t: String!) { logout(refreshToken: $t) }', { t: auth.refreshToken }).catch(() => {});
}
