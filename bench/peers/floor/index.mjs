// The runtime's floor of the server bench (see wrangler.toml): the smallest answer a token
// endpoint gives, with nothing looked up, signed or stored.
const BODY = '{"error":"invalid_grant","error_description":"unknown code"}';

export default {
  async fetch(request) {
    await request.arrayBuffer();
    return new Response(BODY, {
      status: 400,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });
  },
};
