// A small real OAuth2 / OpenID Connect provider on 127.0.0.1 for the e2e
// tests: /authorize signs in the chosen user and redirects back with a
// code; /token checks the client, the code (once), its redirect_uri and the
// PKCE verifier (S256); /userinfo answers the bearer token's user.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

export const CLIENT_ID = 'e2e-client';
export const CLIENT_SECRET = 'e2e-secret';

export async function startProvider() {
  const users = new Map(); // login -> user info
  const codes = new Map(); // code -> { login, redirectUri, challenge }
  const tokens = new Map(); // access token -> login
  let current = '';

  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readForm = (req) =>
    new Promise((resolve) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => resolve(new URLSearchParams(body)));
    });

  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'GET' && u.pathname === '/authorize') {
      const q = u.searchParams;
      if (q.get('client_id') !== CLIENT_ID || q.get('response_type') !== 'code' || !q.get('redirect_uri')) {
        return json(res, 400, { error: 'invalid_request' });
      }
      const back = new URL(q.get('redirect_uri'));
      back.searchParams.set('state', q.get('state') ?? '');
      if (users.has(current)) {
        const code = randomBytes(16).toString('hex');
        codes.set(code, { login: current, redirectUri: q.get('redirect_uri'), challenge: q.get('code_challenge') ?? '' });
        back.searchParams.set('code', code);
      } else {
        back.searchParams.set('error', 'access_denied');
      }
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (req.method === 'POST' && u.pathname === '/token') {
      const f = await readForm(req);
      let id = f.get('client_id');
      let secret = f.get('client_secret');
      const basic = req.headers.authorization?.match(/^Basic (.+)$/);
      if (basic) {
        [id, secret] = Buffer.from(basic[1], 'base64').toString().split(':').map(decodeURIComponent);
      }
      if (id !== CLIENT_ID || secret !== CLIENT_SECRET) return json(res, 401, { error: 'invalid_client' });
      const grant = codes.get(f.get('code'));
      codes.delete(f.get('code'));
      if (!grant || grant.redirectUri !== f.get('redirect_uri')) return json(res, 400, { error: 'invalid_grant' });
      if (grant.challenge) {
        const v = f.get('code_verifier') ?? '';
        if (createHash('sha256').update(v).digest('base64url') !== grant.challenge) {
          return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
        }
      }
      const at = randomBytes(16).toString('hex');
      tokens.set(at, grant.login);
      return json(res, 200, { access_token: at, token_type: 'Bearer', expires_in: 3600 });
    }
    if (req.method === 'GET' && u.pathname === '/userinfo') {
      const login = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      if (!login) return json(res, 401, { error: 'invalid_token' });
      return json(res, 200, users.get(login));
    }
    json(res, 404, { error: 'not found' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    addUser: (login, info) => users.set(login, info),
    signInAs: (login) => { current = login; },
    /** The provider entry of a collection's oauth2.providers. */
    providerInput: (name, pkce) => ({
      name, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, pkce,
      authUrl: `${url}/authorize`, tokenUrl: `${url}/token`, userInfoUrl: `${url}/userinfo`,
    }),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
