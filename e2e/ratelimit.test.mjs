// The rate limit rules (settings.rateLimits) as a client sees them: the
// defaults are on, the third sign-in within 3 s from one address gets HTTP
// 429 RATE_LIMITED with a Retry-After header and extensions.retryAfter
// (urql surfaces the code), and updateSettings changes the rules at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Client, cacheExchange, fetchExchange, gql } from '@urql/core';

import { startServer } from './harness.mjs';

const SIGN_IN = 'mutation($i: String!, $p: String!) { userAuthWithPassword(identity: $i, password: $p) { token } }';
const EMAIL = 'limited@example.com';
const PASSWORD = 'limited-password-1';

describe('rate limits', () => {
  let server;
  let client;

  before(async () => {
    server = await startServer({ rateLimits: true });
    client = new Client({ url: server.graphqlUrl, exchanges: [cacheExchange, fetchExchange], requestPolicy: 'network-only' });
    const body = await server.gql(
      'mutation($e: String!, $p: String!) { createUser(input: {email: $e, password: $p, passwordConfirm: $p}) { id } }',
      { e: EMAIL, p: PASSWORD },
    );
    assert.equal(body.errors, undefined, JSON.stringify(body));
  });
  after(async () => {
    await server?.stop();
  });

  test('the defaults are on and the third sign-in within 3 s is refused', async () => {
    const { rateLimits } = await server.admin('{ settings { rateLimits { enabled rules { label maxRequests duration audience } } } }').then((d) => d.settings);
    assert.equal(rateLimits.enabled, true);
    assert.deepEqual(rateLimits.rules.map((r) => `${r.label} ${r.maxRequests}/${r.duration}s ${r.audience}`),
      ['*:auth 2/3s null', '*:create 20/5s null', '/graphql 300/10s null']);

    for (let i = 0; i < 2; i++) {
      const res = await client.mutation(gql(SIGN_IN), { i: EMAIL, p: PASSWORD }).toPromise();
      assert.equal(res.error, undefined, String(res.error));
      assert.ok(res.data.userAuthWithPassword.token);
    }
    const res = await client.mutation(gql(SIGN_IN), { i: EMAIL, p: PASSWORD }).toPromise();
    const err = res.error?.graphQLErrors?.[0];
    assert.equal(err?.extensions?.code, 'RATE_LIMITED', String(res.error));
    assert.ok(err.extensions.retryAfter >= 1);

    const raw = await server.post(server.graphqlUrl, SIGN_IN, { i: EMAIL, p: PASSWORD });
    assert.equal(raw.status, 429);
    assert.equal(raw.body.errors[0].extensions.code, 'RATE_LIMITED');
    assert.equal(raw.body.data, null);
  });

  test('a Retry-After header matches extensions.retryAfter', async () => {
    const res = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: SIGN_IN, variables: { i: EMAIL, p: PASSWORD } }),
    });
    assert.equal(res.status, 429);
    const body = await res.json();
    assert.equal(res.headers.get('retry-after'), String(body.errors[0].extensions.retryAfter));
  });

  test('updateSettings changes the rules at once', async () => {
    await server.admin(`mutation { updateSettings(input: {rateLimits: {rules: [
      {label: "users:auth", maxRequests: 50, duration: 3}, {label: "*:auth", maxRequests: 2, duration: 3}]}}) { rateLimits { enabled } } }`);
    const res = await client.mutation(gql(SIGN_IN), { i: EMAIL, p: PASSWORD }).toPromise();
    assert.equal(res.error, undefined, String(res.error));
  });

  test('invalid rules are refused field by field and change nothing', async () => {
    const { body } = await server.post(server.adminUrl, `mutation { updateSettings(input: {rateLimits: {rules: [
      {label: "users:fly", maxRequests: 0, duration: 3, audience: "ROBOTS"}]}}) { rateLimits { enabled } } }`, {}, server.adminToken);
    const err = body.errors?.[0];
    assert.equal(err?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(body));
    assert.deepEqual(Object.keys(err.extensions.fields).sort(),
      ['rateLimits.rules.0.audience', 'rateLimits.rules.0.label', 'rateLimits.rules.0.maxRequests']);
    const { settings } = await server.admin('{ settings { rateLimits { rules { label } } } }');
    assert.deepEqual(settings.rateLimits.rules.map((r) => r.label), ['users:auth', '*:auth']);
  });
});
