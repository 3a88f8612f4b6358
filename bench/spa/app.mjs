// A single-page app as a user writes it, importing the installed package by name: the
// README's flow with a non-extractable WebCrypto DPoP key (PKCE, the code exchange, a
// refresh shared by the tabs through a token store, fetchWithDpop). esbuild
// bundles it for `npm test` (tests/js/tarball.test.mjs) and for the size figure of
// `npm run bench`. It exposes its steps on `window.spa` for the test to drive.
import init, { DpopKey, IndexedDbTokenStore, MemoryTokenStore, TokenClient, fetchWithDpop, generatePkce } from 'edge-oauth';

let client;
let twin;
let dpopKey;

window.spa = {
  async start(origin, store = 'indexeddb') {
    await init();
    dpopKey = (await DpopKey.load('spa')) ?? (await DpopKey.generateNonExtractable());
    await dpopKey.persist('spa');
    const options = { tokenEndpoint: `${origin}/oauth/token`, clientId: 'spa', dpopKey };
    client = new TokenClient({ ...options, store: store === 'memory' ? new MemoryTokenStore() : new IndexedDbTokenStore() });
    // A second client of the same session in this tab, with a store of its own.
    twin = new TokenClient({ ...options, store: new MemoryTokenStore() });
    return { thumbprint: dpopKey.thumbprint, backend: dpopKey.backend, extractable: dpopKey.keyPair.privateKey.extractable };
  },
  async signIn(code) {
    const { codeVerifier, codeChallenge } = generatePkce();
    const tokens = await client.exchangeCode({ code, redirectUri: `${location.origin}/`, codeVerifier });
    return { tokens, codeChallenge };
  },
  tokens: () => client.getTokens(),
  twinTokens: () => twin.getTokens(),
  async refresh() {
    const tokens = await client.getTokens();
    return client.refresh(tokens.refreshToken);
  },
  async call(path) {
    const tokens = await client.getTokens();
    const res = await fetchWithDpop(`${location.origin}${path}`, { method: 'GET' }, { accessToken: tokens.accessToken, dpopKey });
    return { status: res.status, body: await res.text() };
  },
  async signOut() {
    await client.clearTokens();
    await DpopKey.remove('spa');
  },
};

// Loaded only when called: esbuild splits edge-oauth/p256 (JS and wasm) into its own chunk.
window.spa.p256Proof = async (htu) => {
  const { default: initP256, DpopKey: Key } = await import('edge-oauth/p256');
  await initP256();
  return Key.generate().createProofSync({ htm: 'GET', htu });
};
