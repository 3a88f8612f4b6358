// A minimal authorization server on @cloudflare/workers-oauth-provider for the server
// benchmark (bench/server.mjs): /authorize approves every request for one user without a
// page, /userinfo is the provider's API route (a valid Bearer token gets the grant's
// props), and POST /bench/client registers a public client (the bench calls it once).
// Everything else (token endpoint, discovery) is the provider's own.

import { OAuthProvider } from '@cloudflare/workers-oauth-provider';

const USER_ID = 'bench-user';

const userinfo = {
  async fetch(_request, _env, ctx) {
    return Response.json({ sub: ctx.props.sub, email: ctx.props.email }, { headers: { 'cache-control': 'no-store' } });
  },
};

const defaultHandler = {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/authorize') {
      const authRequest = await env.OAUTH_PROVIDER.parseAuthRequest(request);
      const { redirectTo } = await env.OAUTH_PROVIDER.completeAuthorization({
        request: authRequest,
        userId: USER_ID,
        metadata: {},
        scope: authRequest.scope,
        props: { sub: USER_ID, email: 'bench@example.com' },
        // Every code of the bench starts its own grant (refresh chains run side by side).
        revokeExistingGrants: false,
      });
      return Response.redirect(redirectTo, 302);
    }
    if (url.pathname === '/bench/client' && request.method === 'POST') {
      const { redirectUri } = await request.json();
      const client = await env.OAUTH_PROVIDER.createClient({
        redirectUris: [redirectUri],
        clientName: 'bench',
        tokenEndpointAuthMethod: 'none',
        grantTypes: ['authorization_code', 'refresh_token'],
        responseTypes: ['code'],
      });
      return Response.json({ client_id: client.clientId });
    }
    return new Response('not found', { status: 404 });
  },
};

// The resource is this server's own /userinfo, so the provider is made on the first
// request, when the issuer (`--var ISSUER:http://127.0.0.1:{port}/`) is known.
let provider;
export default {
  fetch(request, env, ctx) {
    provider ??= new OAuthProvider({
      apiRoute: '/userinfo',
      apiHandler: userinfo,
      defaultHandler,
      authorizeEndpoint: '/authorize',
      tokenEndpoint: '/oauth/token',
      scopesSupported: ['read', 'offline_access'],
      resourceMetadata: {
        resource: new URL('/userinfo', env.ISSUER).href,
        authorization_servers: [new URL(env.ISSUER).origin],
      },
    });
    return provider.fetch(request, env, ctx);
  },
};
