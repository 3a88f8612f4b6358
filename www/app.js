// The demo SPA: the authorization code flow with PKCE and DPoP against this origin, written
// only with the edge-oauth package's public API (copied from src/js/ and pkg/ to /pkg/ by `npm start`):
// discovery (parseServerMetadata), the authorize URL (buildAuthorizationUrl), the redirect
// back (parseAuthorizationResponse), the code exchange, refresh and revocation
// (TokenClient), the ID token check (verifyIdToken) and resource requests
// (fetchWithDpop). With "Bind tokens to a DPoP key" checked, a non-extractable WebCrypto key
// kept in IndexedDB binds the code (dpop_jkt), the access token (cnf.jkt) and the refresh
// token to this browser.
//
// The session (the token set) lives in localStorage so that every tab of this origin shares
// it; the DPoP key is in IndexedDB and cannot be exported, so a copied token set is useless
// elsewhere. The transaction of a sign-in (state, nonce, PKCE verifier) stays in the tab's
// sessionStorage.
import { onExchange } from '/inspect.js';
import init, {
  DpopKey, TokenClient, buildAuthorizationUrl, fetchWithDpop, generatePkce, parseAuthorizationResponse,
  parseServerMetadata, verifyIdToken,
} from '/pkg/js/index.js';

const CLIENT_ID = 'demo-spa';
const ISSUER = `${location.origin}/`;
const REDIRECT_URI = `${location.origin}/`;
const KEY_NAME = 'demo-spa';
const SESSION = 'edge-oauth-demo-session';
const $ = (id) => document.getElementById(id);

function log(line) {
  $('log').textContent += `${new Date().toLocaleTimeString()}  ${line}\n`;
}

const randomString = () => {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

/** A base64url JSON segment of a JWT, decoded for display. */
function segment(text) {
  try {
    return JSON.parse(atob(text.replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return undefined;
  }
}
/** The payload of a JWT, for display (the access token is the resource server's business). */
const payload = (jwt) => segment(jwt?.split('.')[1] ?? '');
const pretty = (value) => (value === undefined ? '(none)' : JSON.stringify(value, null, 2));

// ------------------------------------------------------------ what the network shows

let pendingRetry;
onExchange((x) => {
  const path = new URL(x.url).pathname;
  if (x.dpop) {
    const [h, p] = x.dpop.split('.').slice(0, 2).map(segment);
    $('proof-request').textContent = `${x.method} ${path} → ${x.status}`;
    $('proof-header').textContent = pretty({ header: h, payload: p });
    $('proof-raw').textContent = x.dpop;
  }
  if (x.error === 'use_dpop_nonce') {
    pendingRetry = { path, method: x.method, status: x.status, nonce: x.dpopNonce };
    return;
  }
  if (pendingRetry && pendingRetry.path === path && pendingRetry.method === x.method) {
    const sent = x.dpop ? payload(x.dpop)?.nonce : undefined;
    const line = `${x.method} ${path}: ${pendingRetry.status} use_dpop_nonce with DPoP-Nonce ${pendingRetry.nonce ?? '(none)'}; `
      + `retried once with a fresh proof carrying nonce ${sent ?? '(none)'} → ${x.status}`;
    $('nonce-retries').textContent = `${line}\n${$('nonce-retries').textContent === '(none yet)' ? '' : $('nonce-retries').textContent}`;
    log(`nonce retry: ${line}`);
    pendingRetry = undefined;
  }
});

// ------------------------------------------------------------ the server and the key

let metadataPromise;
/** The server's metadata, fetched once and checked strictly (issuer, https, types). */
function metadata() {
  metadataPromise ??= fetch(`${location.origin}/.well-known/openid-configuration`)
    .then(async (res) => parseServerMetadata(await res.text(), ISSUER));
  return metadataPromise;
}

const loadSession = () => JSON.parse(localStorage.getItem(SESSION) ?? 'null');
const saveSession = (session) => localStorage.setItem(SESSION, JSON.stringify(session));

// The session's DPoP key, if it uses one (IndexedDB: shared by the tabs, outlives redirects).
const dpopKey = async (session = loadSession()) => (session?.dpop ? DpopKey.load(KEY_NAME) : undefined);

async function client(session) {
  const m = await metadata();
  return new TokenClient({
    tokenEndpoint: m.tokenEndpoint, revocationEndpoint: m.revocationEndpoint, clientId: CLIENT_ID, dpopKey: await dpopKey(session),
  });
}

// ------------------------------------------------------------ showing the session

let countdown;
async function show(session) {
  const { tokens } = session;
  $('signin').hidden = true;
  $('session').hidden = false;
  const access = payload(tokens.accessToken);
  $('access-claims').textContent = pretty(access);
  $('id-claims').textContent = pretty(session.idClaims);
  $('token-type').textContent = tokens.tokenType;

  const key = await dpopKey(session);
  $('cnf-jkt').textContent = access?.cnf?.jkt ?? '(not bound)';
  $('key-jkt').textContent = key?.thumbprint ?? '(no key)';
  const bound = key && access?.cnf?.jkt === key.thumbprint;
  $('binding').textContent = key ? (bound ? 'match: the token is bound to this browser\'s key' : 'MISMATCH') : 'a Bearer token: not bound';
  $('binding').className = bound ? 'ok' : 'warn';

  const refresh = $('refresh');
  refresh.disabled = !tokens.refreshToken;
  const offlineWanted = (session.requestedScope ?? '').split(' ').includes('offline_access');
  const notice = $('offline-notice');
  if (!tokens.refreshToken && offlineWanted) {
    const api = session.audience || 'this server\'s /userinfo (no audience)';
    notice.textContent = `You asked for offline_access, but the server issued no refresh token: ${api} does not allow `
      + 'offline access for this client. Refreshing is not possible; sign in again when the access token expires.';
    notice.hidden = false;
    refresh.title = 'No refresh token was issued (see the notice above)';
  } else {
    notice.hidden = true;
    refresh.title = tokens.refreshToken ? '' : 'No refresh token (offline_access was not requested)';
  }

  clearInterval(countdown);
  const tick = () => {
    if (tokens.expiresAt === undefined) {
      $('expiry').textContent = 'no expires_in sent';
      return;
    }
    const left = tokens.expiresAt - Math.floor(Date.now() / 1000);
    $('expiry').textContent = left > 0
      ? `expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} (at ${new Date(tokens.expiresAt * 1000).toLocaleTimeString()})`
      : 'expired';
  };
  tick();
  countdown = setInterval(tick, 1000);
}

function showSignedOut() {
  clearInterval(countdown);
  $('session').hidden = true;
  $('signin').hidden = false;
}

// Another tab signed in, refreshed or signed out.
window.addEventListener('storage', (event) => {
  if (event.key !== SESSION) return;
  const session = loadSession();
  if (session) {
    log('the session changed in another tab');
    show(session);
  } else {
    log('signed out in another tab');
    showSignedOut();
  }
});

// ------------------------------------------------------------ the flow

async function signIn(event) {
  event.preventDefault();
  const form = new FormData($('signin-form'));
  const m = await metadata();
  const pkce = generatePkce();
  const tx = {
    state: randomString(),
    nonce: randomString(),
    codeVerifier: pkce.codeVerifier,
    dpop: Boolean(form.get('dpop')),
    audience: form.get('audience') || undefined,
    scope: form.getAll('scope').join(' '),
  };
  let key;
  if (tx.dpop) {
    key = await DpopKey.generateNonExtractable();
    await key.persist(KEY_NAME);
  }
  sessionStorage.setItem('tx', JSON.stringify(tx));
  location.assign(buildAuthorizationUrl({
    authorizationEndpoint: m.authorizationEndpoint,
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: tx.scope,
    audience: tx.audience,
    state: tx.state,
    nonce: tx.nonce,
    codeChallenge: pkce.codeChallenge,
    dpopJkt: key?.thumbprint,
  }));
}

async function validateIdToken(tokens, nonce) {
  if (!tokens.idToken) return undefined;
  const m = await metadata();
  const jwks = await (await fetch(m.jwksUri)).text();
  return verifyIdToken(tokens.idToken, {
    issuer: m.issuer, clientId: CLIENT_ID, nonce, accessToken: tokens.accessToken, jwks,
  });
}

async function callback() {
  const tx = JSON.parse(sessionStorage.getItem('tx') ?? 'null');
  sessionStorage.removeItem('tx');
  const url = location.href;
  history.replaceState(null, '', '/');
  const m = await metadata();
  // Checks iss (RFC 9207), state, and turns an error redirect into an EdgeOAuthError.
  const { code } = parseAuthorizationResponse(url, {
    state: tx?.state ?? null, issuer: m.issuer, issParameterSupported: m.authorizationResponseIssParameterSupported,
  });
  const session = { dpop: tx.dpop, audience: tx.audience, requestedScope: tx.scope };
  const tokens = await (await client(session)).exchangeCode({ code, redirectUri: REDIRECT_URI, codeVerifier: tx.codeVerifier });
  session.tokens = tokens;
  session.idClaims = await validateIdToken(tokens, tx.nonce);
  saveSession(session);
  log(`signed in: ${tokens.tokenType} token, expires in ${tokens.expiresIn}s, scope "${tokens.scope ?? ''}"${session.idClaims ? `, ID token of ${session.idClaims.sub} checked (signature, iss, aud, nonce, at_hash)` : ''}`);
  await show(session);
}

async function userinfo() {
  const session = loadSession();
  const { accessToken } = session.tokens;
  const key = await dpopKey(session);
  const url = (await metadata()).userinfoEndpoint;
  const res = key
    ? await fetchWithDpop(url, { method: 'GET' }, { accessToken, dpopKey: key })
    : await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } });
  const challenge = res.headers.get('www-authenticate');
  log(`/userinfo ${res.status}: ${await res.text()}${challenge ? ` (${challenge})` : ''}`);
}

async function refresh() {
  const session = loadSession();
  const tokens = await (await client(session)).refresh(session.tokens.refreshToken);
  session.tokens = tokens;
  if (tokens.idToken) session.idClaims = await validateIdToken(tokens, undefined);
  saveSession(session);
  log('refreshed: the old refresh token is now spent (reusing it would revoke the whole family)');
  await show(session);
}

async function signOut() {
  const session = loadSession();
  if (session?.tokens.refreshToken) {
    await (await client(session)).revoke(session.tokens.refreshToken, { tokenTypeHint: 'refresh_token' });
    log('revoked the refresh token and its family');
  }
  if (session?.dpop) await DpopKey.remove(KEY_NAME);
  localStorage.removeItem(SESSION);
  log('signed out');
  showSignedOut();
}

// Disables the button while its action runs, and logs the failure of any action.
const guard = (fn) => async (event) => {
  const button = event?.submitter ?? event?.currentTarget;
  const wasDisabled = button?.disabled;
  if (button) button.disabled = true;
  try {
    await fn(event);
  } catch (e) {
    log(`error: ${e.code ? `${e.code} ` : ''}${e.message}`);
  } finally {
    if (button && button.id !== 'refresh') button.disabled = wasDisabled ?? false;
    else if (button) button.disabled = !loadSession()?.tokens.refreshToken;
  }
};

try {
  await init();
} catch (e) {
  log(`cannot load /pkg/js/index.js (${e.message}): run npm start, which copies the package to www/pkg/`);
}
$('signin-form').addEventListener('submit', guard(signIn));
$('userinfo').addEventListener('click', guard(userinfo));
$('refresh').addEventListener('click', guard(refresh));
$('signout').addEventListener('click', guard(signOut));
const query = new URLSearchParams(location.search);
if (query.has('code') || query.has('error')) {
  await guard(callback)();
} else if (loadSession()) {
  await show(loadSession());
}
document.body.dataset.ready = 'true';
