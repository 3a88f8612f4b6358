// The demo SPA: authorization code + PKCE against this origin, with the edge-oauth package
// (copied from pkg/ to /pkg/ by `npm start`).
import init, {
  authorizationCodeGrantBody, generatePkce, parseTokenResponse, refreshTokenGrantBody,
} from '/pkg/edge_oauth.js';

const CLIENT_ID = 'demo-spa';
const REDIRECT_URI = `${location.origin}/`;
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

async function tokenRequest(body) {
  const res = await fetch('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  // Throws an EdgeOAuthError (.code, .error, .errorDescription) for an error response.
  return parseTokenResponse(res.status, await res.text(), res.headers);
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
  location.assign(`/authorize?${params}`);
}

async function callback(params) {
  const tx = JSON.parse(sessionStorage.getItem('tx') ?? 'null');
  sessionStorage.removeItem('tx');
  history.replaceState(null, '', '/');
  if (params.get('error')) throw new Error(`${params.get('error')}: ${params.get('error_description') ?? ''}`);
  if (!tx || params.get('state') !== tx.state) throw new Error('state does not match this browser\'s sign-in');
  const tokens = await tokenRequest(authorizationCodeGrantBody({
    code: params.get('code'), redirectUri: REDIRECT_URI, codeVerifier: tx.codeVerifier, clientId: CLIENT_ID,
  }));
  log(`signed in: ${tokens.tokenType} token, expires in ${tokens.expiresIn}s, scope "${tokens.scope ?? ''}"`);
  show(tokens);
}

async function userinfo() {
  const { accessToken } = JSON.parse(sessionStorage.getItem('tokens'));
  const res = await fetch('/userinfo', { headers: { authorization: `Bearer ${accessToken}` } });
  log(`/userinfo ${res.status}: ${await res.text()}${res.headers.get('www-authenticate') ? ` (${res.headers.get('www-authenticate')})` : ''}`);
}

async function refresh() {
  const old = JSON.parse(sessionStorage.getItem('tokens'));
  const tokens = await tokenRequest(refreshTokenGrantBody({ refreshToken: old.refreshToken, clientId: CLIENT_ID }));
  log('refreshed: the old refresh token is now spent (reusing it would revoke the whole family)');
  show(tokens);
}

async function signOut() {
  const { refreshToken } = JSON.parse(sessionStorage.getItem('tokens'));
  if (refreshToken) {
    const res = await fetch('/oauth/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken, client_id: CLIENT_ID }),
    });
    log(`revoke: ${res.status}`);
  }
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
