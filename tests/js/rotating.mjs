// A token endpoint on 127.0.0.1 that rotates refresh tokens with reuse detection, as
// RFC 9700 section 4.14.2 describes it: each refresh token works once, and a spent one
// presented again revokes every token of the session. Every refresh request is recorded,
// so a test can check that no refresh token was sent twice.
import { createServer } from 'node:http';

/**
 * Starts the server. `state` is the test's handle: `refreshes` lists the refresh tokens in
 * the order they arrived, `reuses` counts spent ones presented again, `expiresIn` is the
 * lifetime of the access tokens it issues, `delayMs` how long a refresh answer takes, and
 * `failNext` how many refreshes to answer `503 temporarily_unavailable` (the token stays
 * good), `idToken` an ID token to add to each refresh's answer, `tokenType` the token type
 * of the answers.
 */
export async function startRotatingServer() {
  const state = { counter: 0, expiresIn: 300, delayMs: 50, failNext: 0, idToken: undefined, tokenType: 'Bearer', refreshes: [], reuses: 0, live: new Set(), spent: new Set() };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const json = (status, value) => res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(value));
      const issue = (scope, refresh = false) => {
        const n = ++state.counter;
        state.live.add(`rt-${n}`);
        const answer = { access_token: `at-${n}`, token_type: state.tokenType, expires_in: state.expiresIn, refresh_token: `rt-${n}` };
        if (scope !== null) answer.scope = scope;
        if (refresh && state.idToken !== undefined) answer.id_token = state.idToken;
        return json(200, answer);
      };
      const form = new URLSearchParams(body);
      if (form.get('grant_type') === 'authorization_code') return issue(null);
      if (form.get('grant_type') !== 'refresh_token') return json(400, { error: 'unsupported_grant_type' });
      const rt = form.get('refresh_token');
      state.refreshes.push(rt);
      await new Promise((r) => setTimeout(r, state.delayMs));
      if (state.failNext > 0) {
        state.failNext--;
        return json(503, { error: 'temporarily_unavailable', error_description: 'try again' });
      }
      if (state.spent.has(rt)) {
        state.reuses++;
        state.live.clear();
        return json(400, { error: 'invalid_grant', error_description: 'refresh token reused: the session is revoked' });
      }
      if (!state.live.delete(rt)) return json(400, { error: 'invalid_grant', error_description: 'unknown or revoked refresh token' });
      state.spent.add(rt);
      return issue(form.get('scope'), true);
    });
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  return {
    tokenEndpoint: `http://127.0.0.1:${server.address().port}/oauth/token`,
    state,
    /** Forgets every token and count (a new session on the same server). */
    reset(changes = {}) {
      Object.assign(state, { expiresIn: 300, delayMs: 50, failNext: 0, idToken: undefined, tokenType: 'Bearer', refreshes: [], reuses: 0, ...changes });
      state.live.clear();
      state.spent.clear();
    },
    close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(done); }),
  };
}

/** A code exchange with fixed test values: the session's first token set. */
export const signIn = (client) => client.exchangeCode({ code: 'c', redirectUri: 'https://app.example/cb', codeVerifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' });
