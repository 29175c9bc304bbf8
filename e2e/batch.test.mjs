// Apollo's BatchHttpLink against the real server: three queries go in one
// HTTP request (counted by the fetch the link is given) and each gets its
// own result, errors included; a batch over the cap is refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ApolloClient, CombinedGraphQLErrors, InMemoryCache, gql } from '@apollo/client';
import { BatchHttpLink } from '@apollo/client/link/batch-http';

import { createFixtureCollections, startServer } from './harness.mjs';

describe('Apollo BatchHttpLink', () => {
  let server;
  let client;
  const requests = []; // the bodies of the HTTP requests the link made

  before(async () => {
    server = await startServer();
    await createFixtureCollections(server);
    for (const title of ['alpha', 'beta', 'gamma']) {
      const r = await server.gql('mutation($t: String!) { createPost(input: {title: $t, views: 1}) { id } }', { t: title });
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    }
    const countingFetch = (url, init) => {
      requests.push(JSON.parse(init.body));
      return fetch(url, init);
    };
    client = new ApolloClient({
      link: new BatchHttpLink({ uri: server.graphqlUrl, fetch: countingFetch, batchInterval: 50, batchMax: 10 }),
      cache: new InMemoryCache(),
      defaultOptions: { query: { fetchPolicy: 'no-cache' } },
    });
  });
  after(async () => {
    client?.stop();
    await server?.stop();
  });

  test('three queries go in one request, each with its own result', async () => {
    requests.length = 0;
    const [list, count, one] = await Promise.all([
      client.query({ query: gql`query List { posts(sort: "title") { title } }` }),
      client.query({ query: gql`query Count { postsAggregate { count } }` }),
      client.query({
        query: gql`query One($f: String) { posts(filter: $f) { title views } }`,
        variables: { f: "title = 'beta'" },
      }),
    ]);
    assert.equal(requests.length, 1, 'one HTTP request');
    assert.ok(Array.isArray(requests[0]) && requests[0].length === 3, JSON.stringify(requests[0]));
    assert.deepEqual(list.data.posts.map((p) => p.title), ['alpha', 'beta', 'gamma']);
    assert.equal(count.data.postsAggregate.count, 3);
    assert.deepEqual(one.data.posts.map((p) => ({ title: p.title, views: p.views })), [{ title: 'beta', views: 1 }]);
  });

  test('an error stays with its operation', async () => {
    requests.length = 0;
    const [good, bad] = await Promise.allSettled([
      client.query({ query: gql`query Good { postsAggregate { count } }` }),
      client.query({ query: gql`query Bad { posts(limit: 5000) { id } }` }),
    ]);
    assert.equal(requests.length, 1, 'one HTTP request');
    assert.equal(good.status, 'fulfilled', String(good.reason));
    assert.equal(good.value.data.postsAggregate.count, 3);
    assert.equal(bad.status, 'rejected');
    assert.ok(CombinedGraphQLErrors.is(bad.reason), String(bad.reason));
    assert.equal(bad.reason.errors[0].extensions.code, 'COMPLEXITY_LIMIT_EXCEEDED');
  });

  test('more than 20 operations in one request are refused', async () => {
    const ops = Array.from({ length: 21 }, () => ({ query: '{ postsAggregate { count } }' }));
    const res = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ops),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.errors[0].extensions.code, 'BAD_USER_INPUT');
    assert.match(body.errors[0].message, /at most 20 operations/);
  });
});
