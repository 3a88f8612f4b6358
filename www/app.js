// The demo SPA: authorization code + PKCE against this origin, with the edge-oauth package
// (copied from pkg/ to /pkg/ by `npm start`). With "Bind tokens to a DPoP key" checked, a
// non-extractable WebCrypto key kept in IndexedDB binds the code (dpop_jkt), the access
// token (cnf.jkt) and the refresh token to this browser.
import init, { DpopKey, TokenClient, fetchWithDpop, generatePkce } from '/pkg/edge_oauth.js';

const CLIENT_ID = 'demo-spa';
const REDIRECT_URI = `${location.origin}/`;
const KEY_NAME = 'demo-spa';
const $ = (id) => document.getElementById(id);

function log(line) {
  $('log').textContent += `${new Date().toLocaleTimeString()}  ${line}\n`;
}

const randomString = () => {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

function claims(jwt) {
  if (!jwt) return '(none)';
  const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  return JSON.stringify(JSON.parse(atob(part)), null, 2);
}

// The session's DPoP key, if it uses one (it outlives the redirect in IndexedDB).
const dpopKey = () => (sessionStorage.getItem('dpop') ? DpopKey.load(KEY_NAME) : undefined);

// Throws an EdgeOAuthError (.code, .error, .errorDescription) for an error response.
async function client() {
  return new TokenClient({ tokenEndpoint: `${location.origin}/oauth/token`, clientId: CLIENT_ID, dpopKey: await dpopKey() });
}

function show(tokens) {
  sessionStorage.setItem('tokens', JSON.stringify(tokens));
  $('signin').hidden = true;
  $('session').hidden = false;
  $('access-claims').textContent = claims(tokens.accessToken);
  $('id-claims').textContent = claims(tokens.idToken);
  $('refresh').disabled = !tokens.refreshToken;
}

async function signIn(event) {
  event.preventDefault();
  const form = new FormData($('signin-form'));
  const pkce = generatePkce();
  const state = randomString();
  sessionStorage.setItem('tx', JSON.stringify({ state, codeVerifier: pkce.codeVerifier }));
  sessionStorage.removeItem('dpop');
  let key;
  if (form.get('dpop')) {
    key = await DpopKey.generateNonExtractable();
    await key.persist(KEY_NAME);
    sessionStorage.setItem('dpop', '1');
  }
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: form.getAll('scope').join(' '),
    state,
    nonce: randomString(),
    code_challenge: pkce.codeChallenge,
    code_challenge_method: pkce.codeChallengeMethod,
  });
  if (form.get('audience')) params.set('audience', form.get('audience'));
  if (key) params.set('dpop_jkt', key.thumbprint);
  location.assign(`/authorize?${params}`);
}

async function callback(params) {
  const tx = JSON.parse(sessionStorage.getItem('tx') ?? 'null');
  sessionStorage.removeItem('tx');
  history.replaceState(null, '', '/');
  if (params.get('error')) throw new Error(`${params.get('error')}: ${params.get('error_description') ?? ''}`);
  if (!tx || params.get('state') !== tx.state) throw new Error('state does not match this browser\'s sign-in');
  const tokens = await (await client()).exchangeCode({
    code: params.get('code'), redirectUri: REDIRECT_URI, codeVerifier: tx.codeVerifier,
  });
  log(`signed in: ${tokens.tokenType} token, expires in ${tokens.expiresIn}s, scope "${tokens.scope ?? ''}"`);
  show(tokens);
}

async function userinfo() {
  const { accessToken } = JSON.parse(sessionStorage.getItem('tokens'));
  const key = await dpopKey();
  const url = `${location.origin}/userinfo`;
  const res = key
    ? await fetchWithDpop(url, { method: 'GET' }, { accessToken, dpopKey: key })
    : await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } });
  log(`/userinfo ${res.status}: ${await res.text()}${res.headers.get('www-authenticate') ? ` (${res.headers.get('www-authenticate')})` : ''}`);
}

async function refresh() {
  const old = JSON.parse(sessionStorage.getItem('tokens'));
  const tokens = await (await client()).refresh(old.refreshToken);
  log('refreshed: the old refresh token is now spent (reusing it would revoke the whole family)');
  show(tokens);
}

async function signOut() {
  const { refreshToken } = JSON.parse(sessionStorage.getItem('tokens'));
  if (refreshToken) {
    await (await client()).revoke(refreshToken, { tokenTypeHint: 'refresh_token' });
    log('revoked the refresh token and its family');
  }
  if (sessionStorage.getItem('dpop')) await DpopKey.remove(KEY_NAME);
  sessionStorage.removeItem('dpop');
  sessionStorage.removeItem('tokens');
  $('session').hidden = true;
  $('signin').hidden = false;
}

const guard = (fn) => (...args) => fn(...args).catch((e) => log(`error: ${e.code ? `${e.code} ` : ''}${e.message}`));

try {
  await init();
} catch (e) {
  log(`cannot load /pkg/edge_oauth.js (${e.message}): run npm start, which copies pkg/ to www/pkg/`);
}
$('signin-form').addEventListener('submit', guard(signIn));
$('userinfo').addEventListener('click', guard(userinfo));
$('refresh').addEventListener('click', guard(refresh));
$('signout').addEventListener('click', guard(signOut));
const params = new URLSearchParams(location.search);
if (params.has('code') || params.has('error')) await guard(callback)(params);
else if (sessionStorage.getItem('tokens')) show(JSON.parse(sessionStorage.getItem('tokens')));
