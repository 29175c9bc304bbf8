// OAuth2 sign-in against the real binary: the code exchange with PKCE from
// Apollo Client and urql (userAuthMethods, userAuthWithOAuth2,
// userUnlinkOAuth2) with a real provider on 127.0.0.1, and the browser
// redirect flow in headless Chromium through `serve --dev`'s go-pkgz/auth
// dev provider, its token then used from Apollo Client.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { Client, cacheExchange, fetchExchange } from '@urql/core';
import { chromium } from 'playwright-core';

import { startServer } from './harness.mjs';
import { startProvider } from './oauth-provider.mjs';

const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const REDIRECT = 'http://127.0.0.1:1/oauth2-callback'; // never loaded: the app reads the code from it

const apollo = (server, token) =>
  new ApolloClient({
    link: new HttpLink({ uri: server.graphqlUrl, headers: token ? { authorization: `Bearer ${token}` } : {} }),
    cache: new InMemoryCache(),
    defaultOptions: { query: { fetchPolicy: 'no-cache' } },
  });

const AUTH_METHODS = gql`
  query {
    userAuthMethods {
      password { enabled identityFields }
      oauth2 { enabled providers { name displayName state authUrl codeVerifier codeChallenge codeChallengeMethod } }
      otp { enabled duration }
      mfa { enabled duration }
    }
  }
`;

const SIGN_IN = gql`
  mutation SignIn($code: String!, $verifier: String, $redirect: String!, $data: JSON) {
    userAuthWithOAuth2(provider: "acme", code: $code, codeVerifier: $verifier, redirectUrl: $redirect, createData: $data) {
      token
      record { id email verified name }
      meta { isNew provider rawUser }
    }
  }
`;

/** Follows an auth URL at the provider and returns the code of its redirect back. */
async function authorize(authUrl, state) {
  const res = await fetch(authUrl + encodeURIComponent(REDIRECT), { redirect: 'manual' });
  assert.equal(res.status, 302);
  const back = new URL(res.headers.get('location'));
  assert.equal(back.searchParams.get('state'), state, 'the provider sends the state back');
  return back.searchParams.get('code');
}

describe('OAuth2 code exchange from Apollo Client and urql', () => {
  let server;
  let idp;

  before(async () => {
    server = await startServer();
    idp = await startProvider();
    await server.admin(
      `mutation($in: CollectionInput!) { updateCollection(idOrName: "users", input: $in) { id } }`,
      {
        in: {
          // The whole definition: the default fields become one text field, name.
          name: 'users', type: 'AUTH', fields: [{ name: 'name', type: 'TEXT' }], createRule: '', authRule: '',
          listRule: 'id = @request.auth.id', viewRule: 'id = @request.auth.id',
          updateRule: 'id = @request.auth.id', deleteRule: 'id = @request.auth.id',
          oauth2: { enabled: true, mappedFields: { name: 'name' }, providers: [idp.providerInput('acme', true)] },
        },
      },
    );
    idp.addUser('ada', { sub: 'ada-1', email: 'ada@example.com', email_verified: true, name: 'Ada Lovelace' });
  });
  after(async () => {
    await idp?.close();
    await server?.stop();
  });

  let token;

  test('userAuthMethods, the provider, then userAuthWithOAuth2 with the PKCE verifier', async () => {
    const client = apollo(server);
    const { data } = await client.query({ query: AUTH_METHODS });
    const m = data.userAuthMethods;
    assert.equal(m.password.enabled, true);
    assert.deepEqual(m.password.identityFields, ['email']);
    assert.equal(m.oauth2.enabled, true);
    assert.deepEqual([m.otp.duration, m.mfa.duration], [180, 1800]);
    const [p] = m.oauth2.providers;
    assert.equal(p.name, 'acme');
    assert.equal(p.codeChallengeMethod, 'S256');
    assert.ok(p.authUrl.endsWith('&redirect_uri='), p.authUrl);

    idp.signInAs('ada');
    const code = await authorize(p.authUrl, p.state);
    const res = await client.mutate({
      mutation: SIGN_IN,
      variables: { code, verifier: p.codeVerifier, redirect: REDIRECT, data: { emailVisibility: true } },
    });
    const a = res.data.userAuthWithOAuth2;
    assert.equal(a.record.email, 'ada@example.com');
    assert.equal(a.record.verified, true);
    assert.equal(a.record.name, 'Ada Lovelace');
    assert.equal(a.meta.isNew, true);
    assert.equal(a.meta.provider, 'acme');
    assert.equal(a.meta.rawUser.sub, 'ada-1');
    token = a.token;

    const me = await apollo(server, token).query({ query: gql`{ me { id email } }` });
    assert.equal(me.data.me.id, a.record.id);
  });

  test('a wrong verifier is refused by the provider and creates nothing', async () => {
    const client = apollo(server);
    idp.addUser('eve', { sub: 'eve-1', email: 'eve@example.com', email_verified: true });
    idp.signInAs('eve');
    const { data } = await client.query({ query: AUTH_METHODS });
    const [p] = data.userAuthMethods.oauth2.providers;
    const code = await authorize(p.authUrl, p.state);
    await assert.rejects(
      client.mutate({ mutation: SIGN_IN, variables: { code, verifier: `${p.codeVerifier}x`, redirect: REDIRECT } }),
      (err) => {
        assert.ok(CombinedGraphQLErrors.is(err), String(err));
        assert.equal(err.errors[0].extensions.code, 'BAD_USER_INPUT');
        assert.match(err.errors[0].message, /invalid_grant/);
        return true;
      },
    );
    const count = await server.gql('{ usersAggregate { count } }', {}, server.adminToken);
    assert.equal(count.data.usersAggregate.count, 1);
  });

  test('urql: the same account signs in again, then unlinks it', async () => {
    let auth = '';
    const client = new Client({
      url: server.graphqlUrl,
      exchanges: [cacheExchange, fetchExchange],
      requestPolicy: 'network-only',
      fetchOptions: () => (auth ? { headers: { authorization: `Bearer ${auth}` } } : {}),
    });
    const methods = await client.query(AUTH_METHODS, {}).toPromise();
    const [p] = methods.data.userAuthMethods.oauth2.providers;
    idp.signInAs('ada');
    const code = await authorize(p.authUrl, p.state);
    const res = await client.mutation(SIGN_IN, { code, verifier: p.codeVerifier, redirect: REDIRECT }).toPromise();
    assert.equal(res.error, undefined, String(res.error));
    assert.equal(res.data.userAuthWithOAuth2.meta.isNew, false);
    assert.equal(res.data.userAuthWithOAuth2.record.email, 'ada@example.com');

    auth = res.data.userAuthWithOAuth2.token;
    const unlink = gql`mutation { userUnlinkOAuth2(provider: "acme") }`;
    const first = await client.mutation(unlink, {}).toPromise();
    assert.equal(first.error, undefined, String(first.error));
    assert.equal(first.data.userUnlinkOAuth2, true);
    const second = await client.mutation(unlink, {}).toPromise();
    assert.equal(second.error.graphQLErrors[0].extensions.code, 'NOT_FOUND');
  });
});

describe('OAuth2 redirect flow in headless Chromium (serve --dev)', () => {
  let server;
  let browser;

  before(async () => {
    assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath} (scripts/test.sh installs it)`);
    server = await startServer({ args: ['--dev'] });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('login, the dev provider, callback, the app with #token, then Apollo Client with the token', async () => {
    const page = await browser.newPage();
    const landing = `${server.url}/health`; // the server's own origin is an allowed redirect target
    await page.goto(`${server.url}/auth/users/dev/login?redirect=${encodeURIComponent(landing)}`);
    // go-pkgz/auth's dev provider asks for a user name.
    const name = page.locator('input[name="username"]');
    await name.waitFor({ timeout: 10_000 });
    assert.notEqual(new URL(page.url()).origin, server.url, 'the login page is the dev provider\'s');
    await name.fill('chromium_user');
    await page.locator('input[type="submit"]').click();
    await page.waitForURL(/#token=/, { timeout: 10_000 });
    const landed = new URL(page.url());
    assert.equal(`${landed.origin}${landed.pathname}`, landing);
    const token = new URLSearchParams(landed.hash.slice(1)).get('token');
    assert.ok(token);

    const me = await apollo(server, token).query({ query: gql`{ me { email verified } }` });
    assert.equal(me.data.me.email, 'chromium_user@example.com');
    assert.equal(me.data.me.verified, true);

    // A callback with another state is refused and signs nobody in.
    const res = await page.goto(`${server.url}/auth/dev/callback?code=x&state=forged`);
    assert.equal(res.status(), 403);
    assert.doesNotMatch(page.url(), /#token=/);
  });
});
