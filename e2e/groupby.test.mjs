// <list>GroupBy from Apollo Client and urql against the real server: keys
// (a select, a relation's id, a date part), count and number aggregates,
// orderBy, limit, the list rule and errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql as apolloGql } from '@apollo/client';
import { Client, cacheExchange, fetchExchange, gql as urqlGql } from '@urql/core';

import { createFixtureCollections, startServer } from './harness.mjs';

describe('groupBy', () => {
  let server;
  let apollo;
  let urql;
  const authors = {};

  before(async () => {
    server = await startServer();
    await createFixtureCollections(server);
    // events: public ones are listed to anyone, the others to superusers.
    await server.admin(`mutation {
      createCollection(input: {
        name: "events", listRule: "public = true", viewRule: "public = true", createRule: "", updateRule: "", deleteRule: "",
        fields: [
          {name: "kind", type: TEXT},
          {name: "public", type: BOOL},
          {name: "at", type: DATE},
          {name: "amount", type: NUMBER}
        ]
      }) { id }
    }`);
    for (const name of ['Ada', 'Bob']) {
      const r = await server.gql('mutation($n: String!) { createAuthor(input: {name: $n}) { id } }', { n: name });
      authors[name] = r.data.createAuthor.id;
    }
    const posts = [
      { title: 'post 1', views: 10, status: 'live', author: authors.Ada },
      { title: 'post 2', views: 20, status: 'live', author: authors.Ada },
      { title: 'post 3', views: 30, status: 'live', author: authors.Bob },
      { title: 'post 4', views: 1, status: 'draft', author: authors.Bob },
      { title: 'post 5', views: 2, status: 'draft' },
    ];
    for (const input of posts) {
      const r = await server.gql('mutation($i: PostCreateInput!) { createPost(input: $i) { id } }', { i: input });
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    }
    const events = [
      { kind: 'sale', public: true, at: '2024-01-03T10:00:00Z', amount: 5 },
      { kind: 'sale', public: true, at: '2024-01-20T10:00:00Z', amount: 7 },
      { kind: 'sale', public: true, at: '2024-03-01T10:00:00Z', amount: 1 },
      { kind: 'sale', public: false, at: '2024-03-02T10:00:00Z', amount: 100 },
    ];
    for (const input of events) {
      const r = await server.gql('mutation($i: EventCreateInput!) { createEvent(input: $i) { id } }', { i: input });
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    }
    apollo = new ApolloClient({ link: new HttpLink({ uri: server.graphqlUrl }), cache: new InMemoryCache() });
    urql = new Client({ url: server.graphqlUrl, exchanges: [cacheExchange, fetchExchange] });
  });
  after(async () => {
    apollo?.stop();
    await server?.stop();
  });

  test('Apollo: groups by a select with count and sums, ordered by count', async () => {
    const { data } = await apollo.query({
      query: apolloGql`query($by: [PostGroupField!]!) {
        postsGroupBy(by: $by, orderBy: [{count: DESC}]) { key { status } count sum { views } avg { views } }
      }`,
      variables: { by: ['status'] },
    });
    assert.deepEqual(
      data.postsGroupBy.map((g) => [g.__typename, g.key.status, g.count, g.sum.views, g.avg.views]),
      [['PostGroup', 'live', 3, 60, 20], ['PostGroup', 'draft', 2, 3, 1.5]],
    );
  });

  test('Apollo: two keys, one a relation id, with where and limit', async () => {
    const { data } = await apollo.query({
      query: apolloGql`{
        postsGroupBy(by: [authorId, status], where: {author: {name: {eq: "Bob"}}}, orderBy: [{key: {status: ASC}}], limit: 1) {
          key { authorId status } count max { views }
        }
      }`,
    });
    assert.deepEqual(data.postsGroupBy.map((g) => ({ ...g.key, count: g.count, max: g.max.views })), [
      { __typename: 'PostGroupKey', authorId: authors.Bob, status: 'draft', count: 1, max: 1 },
    ]);
  });

  test('Apollo: a key not grouped by is BAD_USER_INPUT', async () => {
    await assert.rejects(
      apollo.query({ query: apolloGql`{ postsGroupBy(by: [status]) { key { authorId } count } }` }),
      (err) => {
        assert.ok(CombinedGraphQLErrors.is(err), String(err));
        assert.equal(err.errors[0].extensions.code, 'BAD_USER_INPUT');
        assert.ok(err.errors[0].extensions.fields.by, JSON.stringify(err.errors[0]));
        return true;
      },
    );
  });

  test('urql: a month of a date, under the list rule', async () => {
    const res = await urql
      .query(urqlGql`{ eventsGroupBy(by: [atMonth]) { key { atMonth } count sum { amount } } }`, {})
      .toPromise();
    assert.equal(res.error, undefined, String(res.error));
    assert.deepEqual(res.data.eventsGroupBy.map((g) => [g.key.atMonth, g.count, g.sum.amount]), [
      ['2024-01-01T00:00:00.000Z', 2, 12],
      ['2024-03-01T00:00:00.000Z', 1, 1], // the private event of March is not counted
    ]);
  });

  test('urql: a superuser sees the rows the rule hides', async () => {
    const su = new Client({
      url: server.graphqlUrl,
      exchanges: [fetchExchange],
      // The superuser's admin token works on /graphql too.
      fetchOptions: { headers: { authorization: `Bearer ${server.adminToken}` } },
    });
    const res = await su
      .query(urqlGql`{ eventsGroupBy(by: [atMonth], orderBy: [{sum: {amount: DESC}}], limit: 1) { key { atMonth } count } }`, {})
      .toPromise();
    assert.equal(res.error, undefined, String(res.error));
    assert.deepEqual(res.data.eventsGroupBy.map((g) => [g.key.atMonth, g.count]), [['2024-03-01T00:00:00.000Z', 2]]);
  });

  test('urql: offset, filter, a limit over the cap and the query cost', async () => {
    const page = await urql
      .query(urqlGql`query($o: Int) { postsGroupBy(by: [status], filter: "views > 1", offset: $o) { key { status } count } }`, { o: 1 })
      .toPromise();
    assert.equal(page.error, undefined, String(page.error));
    assert.deepEqual(page.data.postsGroupBy.map((g) => [g.key.status, g.count]), [['live', 3]]);
    const capped = await urql.query(urqlGql`{ postsGroupBy(by: [status], limit: 1001) { count } }`, {}).toPromise();
    assert.equal(capped.error?.graphQLErrors[0]?.extensions.code, 'BAD_USER_INPUT', String(capped.error));
    // The query cost counts limit groups: 5,000 of them are over the default complexity limit.
    const costly = await urql.query(urqlGql`{ postsGroupBy(by: [status], limit: 5000) { count } }`, {}).toPromise();
    assert.equal(costly.error?.graphQLErrors[0]?.extensions.code, 'COMPLEXITY_LIMIT_EXCEEDED', String(costly.error));
  });
});
