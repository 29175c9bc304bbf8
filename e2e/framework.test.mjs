// Monobase as a Go framework: e2e/testapp (monobase.New, ExtendSchema,
// Start) built with go build and run as the server; Apollo Client, urql
// and graphql-ws call its custom root fields beside the generated ones,
// and the graphql package reads them from introspection and schemaSDL.
//
// TESTAPP_BIN=/path/to/testapp skips the build.
import { execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { Client, cacheExchange, fetchExchange } from '@urql/core';
import { buildClientSchema, buildSchema, getIntrospectionQuery } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { repoRoot, startServer } from './harness.mjs';

const run = promisify(execFile);

async function testappBinary() {
  if (process.env.TESTAPP_BIN) return process.env.TESTAPP_BIN;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'monobase-testapp-'));
  const bin = path.join(dir, 'testapp');
  await run('go', ['build', '-o', bin, './e2e/testapp'], { cwd: repoRoot, maxBuffer: 16 << 20 });
  return bin;
}

/** Collects the events of one graphql-ws subscription until it completes. */
function collect(client, payload) {
  return new Promise((resolve) => {
    const events = [];
    client.subscribe(payload, {
      next: (ev) => events.push(ev),
      error: (err) => resolve({ events, error: err }),
      complete: () => resolve({ events }),
    });
  });
}

describe('custom GraphQL fields of a Go app', () => {
  let server;
  let apollo;
  let urql;
  let ws;

  before(async () => {
    // startServer runs MONOBASE_BIN: here, the app.
    process.env.MONOBASE_BIN = await testappBinary();
    server = await startServer();
    apollo = new ApolloClient({
      link: new HttpLink({ uri: server.graphqlUrl }),
      cache: new InMemoryCache(),
      defaultOptions: { query: { fetchPolicy: 'no-cache' } },
    });
    urql = new Client({
      url: server.graphqlUrl,
      exchanges: [cacheExchange, fetchExchange],
      requestPolicy: 'network-only',
      fetchOptions: () => ({ headers: { authorization: `Bearer ${server.adminToken}` } }),
    });
    ws = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  });
  after(async () => {
    apollo?.stop();
    await ws?.dispose();
    await server?.stop();
  });

  test('Apollo Client: a custom query with a variable', async () => {
    const { data } = await apollo.query({
      query: gql`query Hello($name: String!) { hello(name: $name) }`,
      variables: { name: 'Ada' },
    });
    assert.equal(data.hello, 'hi Ada');
  });

  test('Apollo Client: a custom mutation with an input object, then an object query (with __typename)', async () => {
    const { data } = await apollo.mutate({
      mutation: gql`mutation Add($in: NoteInput!) { addNote(input: $in) { id text tags } }`,
      variables: { in: { text: 'first', tags: ['go', 'graphql'] } },
    });
    // Apollo's cache adds __typename to every selection: the server answers it.
    assert.deepEqual(data.addNote, { __typename: 'Note', id: '1', text: 'first', tags: ['go', 'graphql'] });
    await apollo.mutate({ mutation: gql`mutation { addNote(input: {text: "second"}) { id } }` });
    const stats = await apollo.query({ query: gql`{ stats { notes level latest } }` });
    assert.deepEqual(stats.data.stats, { __typename: 'Stats', notes: 2, level: 'HIGH', latest: 'second' });
  });

  test('Apollo Client: a resolver error is BAD_USER_INPUT with its message', async () => {
    await assert.rejects(
      apollo.mutate({ mutation: gql`mutation { addNote(input: {text: "  "}) { id } }` }),
      (err) => {
        assert.ok(CombinedGraphQLErrors.is(err), String(err));
        assert.equal(err.errors[0].message, 'text must not be empty');
        assert.equal(err.errors[0].extensions.code, 'BAD_USER_INPUT');
        assert.deepEqual(err.errors[0].path, ['addNote']);
        return true;
      },
    );
  });

  test('urql: a list result, and the resolver sees the viewer', async () => {
    const res = await urql.query('query($t: String) { notes(tag: $t) { id text } whoami }', { t: 'go' }).toPromise();
    assert.equal(res.error, undefined, String(res.error));
    assert.deepEqual(res.data.notes.map((n) => n.text), ['first']);
    assert.equal(res.data.whoami, 'superuser');
    const anon = await server.gql('{ whoami }');
    assert.deepEqual(anon, { data: { whoami: 'anonymous' } });
  });

  test('graphql-ws: a custom subscription streams the channel until it closes', async () => {
    const { events, error } = await collect(ws, { query: 'subscription { countdown(from: 3) }' });
    assert.equal(error, undefined, String(error));
    assert.deepEqual(events.map((e) => e.data.countdown), [3, 2, 1, 0]);
  });

  test('graphql-ws: a resolver error ends the subscription with BAD_USER_INPUT', async () => {
    const { events, error } = await collect(ws, { query: 'subscription { countdown(from: 500) }' });
    const errs = error ?? events[0]?.errors;
    assert.ok(Array.isArray(errs) && errs.length === 1, JSON.stringify({ events, error }));
    assert.equal(errs[0].message, 'from must be between 0 and 100');
    assert.equal(errs[0].extensions.code, 'BAD_USER_INPUT');
  });

  test('introspection and schemaSDL show the custom fields beside the generated ones, after a rebuild too', async () => {
    // No collection has a subscription yet: schemaSDL declares the
    // Subscription type the extension extends.
    const before = buildSchema((await server.admin('{ schemaSDL }')).schemaSDL);
    assert.ok(before.getSubscriptionType().getFields().countdown);
    await server.admin(`mutation { createCollection(input: {name: "posts", listRule: "", viewRule: "", createRule: "",
      fields: [{name: "title", type: TEXT}]}) { id } }`);
    const intro = await server.gql(getIntrospectionQuery());
    assert.equal(intro.errors, undefined, JSON.stringify(intro.errors));
    const schema = buildClientSchema(intro.data);
    const q = schema.getQueryType().getFields();
    assert.equal(String(q.hello.type), 'String!');
    assert.equal(String(q.hello.args[0].type), 'String!');
    assert.equal(String(q.stats.type), 'Stats!');
    assert.ok(q.posts && q.post && q.me, 'the generated fields are there too');
    assert.equal(schema.getType('Stats').description, 'Counts kept by the app.');
    assert.deepEqual(schema.getType('Level').getValues().map((v) => v.name), ['LOW', 'HIGH']);
    assert.ok(schema.getMutationType().getFields().addNote);
    assert.ok(schema.getMutationType().getFields().createPost);
    assert.equal(String(schema.getSubscriptionType().getFields().countdown.type), 'Int!');

    const { schemaSDL } = await server.admin('{ schemaSDL }');
    const sdl = buildSchema(schemaSDL);
    assert.equal(String(sdl.getQueryType().getFields().hello.type), 'String!');
    assert.ok(sdl.getQueryType().getFields().posts);
    assert.ok(sdl.getSubscriptionType().getFields().countdown);

    const res = await server.gql('{ hello(name: "after the rebuild") posts { title } }');
    assert.deepEqual(res, { data: { hello: 'hi after the rebuild', posts: [] } });
  });

  test('a collection that clashes with a custom field is refused with BAD_USER_INPUT naming it', async () => {
    const { body } = await server.post(
      server.adminUrl,
      'mutation { createCollection(input: {name: "hellos", fields: [{name: "x", type: TEXT}]}) { id } }',
      undefined,
      server.adminToken,
    );
    assert.equal(body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(body));
    assert.match(JSON.stringify(body.errors[0]), /Query\.hello of the Go schema extension clashes with a field of collection hellos/);
    const still = await server.gql('{ hello(name: "x") }');
    assert.deepEqual(still, { data: { hello: 'hi x' } });
  });
});
