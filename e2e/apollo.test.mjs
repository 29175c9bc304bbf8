// Apollo Client against the real server: queries, mutations, variables,
// fragments, relations and errors.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';

import { createFixtureCollections, startServer } from './harness.mjs';

const POST_FIELDS = gql`
  fragment PostFields on Post {
    id
    title
    views
    published
    status
    author { id name }
  }
`;

describe('Apollo Client', () => {
  let server;
  let client;

  before(async () => {
    server = await startServer();
    await createFixtureCollections(server);
    client = new ApolloClient({
      link: new HttpLink({ uri: server.graphqlUrl }),
      cache: new InMemoryCache(),
      defaultOptions: { query: { fetchPolicy: 'no-cache' } },
    });
  });
  after(async () => {
    client?.stop();
    await server?.stop();
  });

  let authorId;
  let postId;

  test('createAuthor mutation with variables', async () => {
    const { data } = await client.mutate({
      mutation: gql`mutation NewAuthor($name: String!) { createAuthor(input: {name: $name}) { id name } }`,
      variables: { name: 'Ada' },
    });
    assert.equal(data.createAuthor.name, 'Ada');
    assert.match(data.createAuthor.id, /^[a-z0-9]{15}$/);
    authorId = data.createAuthor.id;
  });

  test('createPost with an input object variable and a fragment', async () => {
    const { data } = await client.mutate({
      mutation: gql`
        mutation NewPost($input: PostCreateInput!) { createPost(input: $input) { ...PostFields } }
        ${POST_FIELDS}
      `,
      variables: { input: { title: 'Hello world', views: 3, published: true, status: 'live', author: authorId } },
    });
    const p = data.createPost;
    assert.equal(p.__typename, 'Post');
    assert.equal(p.title, 'Hello world');
    assert.equal(p.views, 3);
    assert.equal(p.published, true);
    assert.equal(p.status, 'live');
    assert.deepEqual({ id: p.author.id, name: p.author.name }, { id: authorId, name: 'Ada' });
    postId = p.id;
  });

  test('single record query by id', async () => {
    const { data } = await client.query({
      query: gql`query One($id: ID!) { post(id: $id) { ...PostFields } } ${POST_FIELDS}`,
      variables: { id: postId },
    });
    assert.equal(data.post.id, postId);
    assert.equal(data.post.author.name, 'Ada');
  });

  test('automatic persisted queries: the hash alone once the server knows the text', async () => {
    const bodies = [];
    const recording = (url, init) => {
      bodies.push(JSON.parse(init.body));
      return fetch(url, init);
    };
    const sha256 = (text) => createHash('sha256').update(text).digest('hex');
    const apq = new ApolloClient({
      link: new PersistedQueryLink({ sha256 }).concat(new HttpLink({ uri: server.graphqlUrl, fetch: recording })),
      cache: new InMemoryCache(),
      defaultOptions: { query: { fetchPolicy: 'no-cache' } },
    });
    try {
      for (let i = 0; i < 3; i++) {
        const { data } = await apq.query({
          query: gql`query Persisted($id: ID!) { post(id: $id) { id title author { name } } }`,
          variables: { id: postId },
        });
        assert.equal(data.post.id, postId);
        assert.equal(data.post.author.name, 'Ada');
      }
    } finally {
      apq.stop();
    }
    // The first hash is unknown, so the text follows; then the hash alone.
    assert.deepEqual(bodies.map((b) => 'query' in b), [false, true, false, false]);
    assert.ok(bodies.every((b) => b.extensions?.persistedQuery?.sha256Hash === bodies[0].extensions.persistedQuery.sha256Hash));
  });

  test('a missing id reads as null', async () => {
    const { data } = await client.query({
      query: gql`query One($id: ID!) { post(id: $id) { id } }`,
      variables: { id: 'doesnotexist123' },
    });
    assert.equal(data.post, null);
  });

  test('list with where, orderBy, limit and a back-relation', async () => {
    for (const title of ['Second post', 'Third post']) {
      await client.mutate({
        mutation: gql`mutation($t: String!, $a: ID) { createPost(input: {title: $t, author: $a, views: 1}) { id } }`,
        variables: { t: title, a: authorId },
      });
    }
    const { data } = await client.query({
      query: gql`
        query List($min: Int) {
          posts(where: {views: {gte: $min}}, orderBy: [{title: ASC}], limit: 2) { title }
          authors { name postsViaAuthor { title } }
        }
      `,
      variables: { min: 1 },
    });
    assert.deepEqual(data.posts.map((p) => p.title), ['Hello world', 'Second post']);
    assert.equal(data.authors[0].postsViaAuthor.length, 3);
  });

  test('updatePost with an increment', async () => {
    const { data } = await client.mutate({
      mutation: gql`mutation($id: ID!) { updatePost(id: $id, input: {viewsIncrement: 2, title: "Hello again"}) { title views } }`,
      variables: { id: postId },
    });
    assert.deepEqual({ title: data.updatePost.title, views: data.updatePost.views }, { title: 'Hello again', views: 5 });
  });

  test('inline fragment on the Record interface and aliases', async () => {
    const { data } = await client.query({
      query: gql`query($id: ID!) { first: post(id: $id) { ... on Record { id } } again: post(id: $id) { title } }`,
      variables: { id: postId },
    });
    assert.equal(data.first.id, postId);
    assert.equal(data.again.title, 'Hello again');
  });

  test('a blank required field is BAD_USER_INPUT with extensions.fields', async () => {
    await assert.rejects(
      client.mutate({
        mutation: gql`mutation($input: PostCreateInput!) { createPost(input: $input) { id } }`,
        variables: { input: { title: '' } },
      }),
      (err) => {
        assert.ok(CombinedGraphQLErrors.is(err), `expected GraphQL errors, got ${err}`);
        const e = err.errors[0];
        assert.equal(e.extensions.code, 'BAD_USER_INPUT');
        assert.ok(e.extensions.fields?.title, `fields: ${JSON.stringify(e.extensions)}`);
        assert.equal(typeof e.extensions.fields.title.message, 'string');
        return true;
      },
    );
  });

  test('a query on an unknown field fails validation', async () => {
    await assert.rejects(
      client.query({ query: gql`{ posts { nope } }` }),
      (err) => {
        assert.ok(CombinedGraphQLErrors.is(err), `expected GraphQL errors, got ${err}`);
        assert.equal(err.errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
        return true;
      },
    );
  });

  test('deletePost returns the record as it was', async () => {
    const { data } = await client.mutate({
      mutation: gql`mutation($id: ID!) { deletePost(id: $id) { id title } }`,
      variables: { id: postId },
    });
    assert.equal(data.deletePost.title, 'Hello again');
    const res = await client.query({ query: gql`query($id: ID!) { post(id: $id) { id } }`, variables: { id: postId } });
    assert.equal(res.data.post, null);
  });
});
