// urql (@urql/core) against the real server: queries, mutations, variables,
// fragments, pagination, aggregates and errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Client, cacheExchange, fetchExchange, gql } from '@urql/core';

import { createFixtureCollections, startServer } from './harness.mjs';

const AUTHOR_FIELDS = gql`
  fragment AuthorFields on Author { id name }
`;

describe('urql', () => {
  let server;
  let client;
  let token = '';

  before(async () => {
    server = await startServer();
    await createFixtureCollections(server);
    client = new Client({
      url: server.graphqlUrl,
      exchanges: [cacheExchange, fetchExchange],
      requestPolicy: 'network-only',
      fetchOptions: () => (token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
  });
  after(async () => {
    await server?.stop();
  });

  let authorId;

  test('mutation with variables and a fragment', async () => {
    const res = await client
      .mutation(
        gql`mutation($name: String!) { createAuthor(input: {name: $name}) { ...AuthorFields } } ${AUTHOR_FIELDS}`,
        { name: 'Grace' },
      )
      .toPromise();
    assert.equal(res.error, undefined, String(res.error));
    assert.equal(res.data.createAuthor.name, 'Grace');
    authorId = res.data.createAuthor.id;
  });

  test('several creates, then offset pagination in a stable order', async () => {
    for (let i = 1; i <= 5; i++) {
      const res = await client
        .mutation(gql`mutation($input: PostCreateInput!) { createPost(input: $input) { id } }`, {
          input: { title: `Post number ${i}`, views: i, author: authorId, status: i % 2 ? 'live' : 'draft' },
        })
        .toPromise();
      assert.equal(res.error, undefined, String(res.error));
    }
    const page = async (offset) => {
      const res = await client
        .query(gql`query($o: Int) { posts(sort: "views", limit: 2, offset: $o) { views } }`, { o: offset })
        .toPromise();
      assert.equal(res.error, undefined, String(res.error));
      return res.data.posts.map((p) => p.views);
    };
    assert.deepEqual(await page(0), [1, 2]);
    assert.deepEqual(await page(2), [3, 4]);
    assert.deepEqual(await page(4), [5]);
  });

  test('filter string and aggregate', async () => {
    const res = await client
      .query(gql`{
        live: posts(filter: "status = 'live'") { title }
        postsAggregate(filter: "views >= 2") { count }
      }`)
      .toPromise();
    assert.equal(res.error, undefined, String(res.error));
    assert.equal(res.data.live.length, 3);
    assert.equal(res.data.postsAggregate.count, 4);
  });

  test('Relay connection with cursors', async () => {
    const first = await client
      .query(gql`{ postsConnection(first: 2) { totalCount edges { cursor node { title } } pageInfo { hasNextPage endCursor } } }`)
      .toPromise();
    assert.equal(first.error, undefined, String(first.error));
    const conn = first.data.postsConnection;
    assert.equal(conn.totalCount, 5);
    assert.equal(conn.edges.length, 2);
    assert.equal(conn.pageInfo.hasNextPage, true);
    const next = await client
      .query(gql`query($after: String) { postsConnection(first: 10, after: $after) { edges { node { title } } pageInfo { hasNextPage } } }`, {
        after: conn.pageInfo.endCursor,
      })
      .toPromise();
    assert.equal(next.error, undefined, String(next.error));
    assert.equal(next.data.postsConnection.edges.length, 3);
    assert.equal(next.data.postsConnection.pageInfo.hasNextPage, false);
  });

  test('@skip and @include', async () => {
    const res = await client
      .query(gql`query($with: Boolean!) { authors { name id @include(if: $with) postsViaAuthor @skip(if: $with) { id } } }`, { with: true })
      .toPromise();
    assert.equal(res.error, undefined, String(res.error));
    assert.equal(res.data.authors[0].id, authorId);
    assert.equal('postsViaAuthor' in res.data.authors[0], false);
  });

  test('an unknown relation id is BAD_USER_INPUT with extensions.fields', async () => {
    const res = await client
      .mutation(gql`mutation { createPost(input: {title: "Orphan", author: "nosuchauthor123"}) { id } }`)
      .toPromise();
    assert.ok(res.error, 'expected an error');
    const e = res.error.graphQLErrors[0];
    assert.equal(e.extensions.code, 'BAD_USER_INPUT');
    assert.ok(e.extensions.fields?.author, JSON.stringify(e.extensions));
  });

  test('a too short title is BAD_USER_INPUT naming the field', async () => {
    const res = await client.mutation(gql`mutation { createPost(input: {title: "no"}) { id } }`).toPromise();
    const e = res.error?.graphQLErrors?.[0];
    assert.equal(e?.extensions?.code, 'BAD_USER_INPUT');
    assert.ok(e.extensions.fields?.title, JSON.stringify(e.extensions));
  });

  test('an invalid token is UNAUTHENTICATED, never anonymous', async () => {
    token = 'not-a-real-token';
    try {
      const res = await client.query(gql`{ authors { id } }`).toPromise();
      assert.ok(res.error, 'expected an error');
      assert.equal(res.error.response?.status, 401);
      assert.equal(res.error.graphQLErrors[0]?.extensions?.code, 'UNAUTHENTICATED');
    } finally {
      token = '';
    }
  });

  test('the superuser token works on /graphql', async () => {
    token = server.adminToken;
    try {
      const res = await client.query(gql`{ authors { id } }`).toPromise();
      assert.equal(res.error, undefined, String(res.error));
      assert.equal(res.data.authors.length, 1);
    } finally {
      token = '';
    }
  });
});
