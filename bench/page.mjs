// Runs in the browser page: edge-oauth against oauth4webapi and dpop, in the same page
// and the same run, each sample a batch of calls timed with performance.now().
import init, * as edge from 'edge-oauth';
import initP256 from 'edge-oauth/p256';
import * as oauth from 'oauth4webapi';
import * as dpop from 'dpop';

const TOKEN_ENDPOINT = 'https://auth.example.com/oauth/token';
const API = 'https://api.example.com/items';
// RFC 9449 section 5 Figure 7.
const ACCESS_TOKEN = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
const TOKEN_BODY = JSON.stringify({
  access_token: ACCESS_TOKEN,
  token_type: 'DPoP',
  expires_in: 2677,
  refresh_token: 'Q..Zkm29lexi8VnWg2zPW1x-tgGad0Ibc3s3EwM_Ni4-g',
  scope: 'read write',
});

/** Times `batch` calls of a synchronous or asynchronous function; µs per call. */
async function sample(op, batch) {
  if (op.async) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) await op.fn();
    return ((performance.now() - start) * 1000) / batch;
  }
  const start = performance.now();
  for (let i = 0; i < batch; i++) op.fn();
  return ((performance.now() - start) * 1000) / batch;
}

/** Runs `op` for about `ms` milliseconds; returns the estimated µs per call. */
async function warmUp(op, ms) {
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    if (op.async) await op.fn();
    else op.fn();
    calls++;
  }
  return ((performance.now() - start) * 1000) / calls;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Warms both sides up, then alternates their samples (so drift hits both alike) until
 * each has `maxSamples` or the time budget runs out, with at least `minSamples`.
 */
async function compare(name, ours, peer, { warmupMs, batchMs, budgetMs, minSamples, maxSamples }) {
  const sides = [ours, peer].map((op) => ({ op, samples: [], batch: 1 }));
  for (const side of sides) {
    const estimate = await warmUp(side.op, warmupMs);
    side.batch = Math.max(1, Math.ceil((batchMs * 1000) / estimate));
  }
  const start = performance.now();
  while (sides[0].samples.length < maxSamples) {
    const spent = performance.now() - start;
    if (spent > budgetMs && sides[0].samples.length >= minSamples) break;
    for (const side of sides) side.samples.push(await sample(side.op, side.batch));
  }
  const [o, p] = sides;
  return {
    name,
    ours: { what: ours.what, medianUs: median(o.samples), samples: o.samples.length, batch: o.batch },
    peer: { what: peer.what, medianUs: median(p.samples), samples: p.samples.length, batch: p.batch },
    ratio: median(o.samples) / median(p.samples),
  };
}

export async function run(settings) {
  await init();
  await initP256();

  const as = { issuer: 'https://auth.example.com', token_endpoint: TOKEN_ENDPOINT };
  const client = { client_id: 'bench' };
  const headers = new Headers({ 'content-type': 'application/json' });
  const ourKey = edge.DpopKey.generate();
  const peerKey = await dpop.generateKeyPair('ES256');
  const webKey = await edge.DpopKey.generateNonExtractable();

  const ops = [
    [
      'PKCE pair (verifier + S256 challenge)',
      { what: 'generatePkce()', fn: () => edge.generatePkce() },
      {
        what: 'oauth4webapi generateRandomCodeVerifier + calculatePKCECodeChallenge',
        async: true,
        fn: () => oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      },
    ],
    [
      'DPoP proof with ath (ES256)',
      {
        what: 'DpopKey.createProofSync({ htm, htu, accessToken }) (p256 backend)',
        fn: () => ourKey.createProofSync({ htm: 'GET', htu: API, accessToken: ACCESS_TOKEN }),
      },
      {
        what: 'dpop generateProof (WebCrypto P-256)',
        async: true,
        fn: () => dpop.generateProof(peerKey, API, 'GET', undefined, ACCESS_TOKEN),
      },
    ],
    [
      'DPoP proof with ath (ES256), non-extractable WebCrypto key',
      {
        what: 'await DpopKey.createProof({ htm, htu, accessToken }) (webcrypto backend)',
        async: true,
        fn: () => webKey.createProof({ htm: 'GET', htu: API, accessToken: ACCESS_TOKEN }),
      },
      {
        what: 'dpop generateProof (WebCrypto P-256)',
        async: true,
        fn: () => dpop.generateProof(peerKey, API, 'GET', undefined, ACCESS_TOKEN),
      },
    ],
    [
      'token response parse',
      { what: 'parseTokenResponse(200, body, headers)', fn: () => edge.parseTokenResponse(200, TOKEN_BODY, headers) },
      {
        what: 'oauth4webapi processClientCredentialsResponse(new Response(body))',
        async: true,
        fn: () =>
          oauth.processClientCredentialsResponse(
            as,
            client,
            new Response(TOKEN_BODY, { status: 200, headers: { 'content-type': 'application/json' } }),
          ),
      },
    ],
  ];

  // Both sides must do the real work: check one result of each before timing.
  const pair = edge.generatePkce();
  if (pair.codeChallenge.length !== 43) throw new Error('edge-oauth PKCE challenge has the wrong length');
  const ourProof = ourKey.createProofSync({ htm: 'GET', htu: API, accessToken: ACCESS_TOKEN });
  const webProof = await webKey.createProof({ htm: 'GET', htu: API, accessToken: ACCESS_TOKEN });
  const peerProof = await dpop.generateProof(peerKey, API, 'GET', undefined, ACCESS_TOKEN);
  for (const proof of [ourProof, webProof, peerProof]) {
    if (proof.split('.').length !== 3) throw new Error('a DPoP proof is not a compact JWS');
  }
  if (edge.parseTokenResponse(200, TOKEN_BODY, headers).accessToken !== ACCESS_TOKEN) {
    throw new Error('edge-oauth parsed the wrong access token');
  }
  const peerSet = await ops.find(([name]) => name === 'token response parse')[2].fn();
  if (peerSet.access_token !== ACCESS_TOKEN) throw new Error('oauth4webapi parsed the wrong access token');

  const results = [];
  for (const [name, ours, peer] of ops) results.push(await compare(name, ours, peer, settings));
  return {
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    results,
  };
}
