// Nested writes (docs/api.md "Nested writes") through Apollo Client and urql
// against the real server: authorCreate and tagsCreate on create and update,
// tagsAppend/tagsRemove beside them, the nested collection's create rule,
// the rollback of everything, and the paths in extensions.fields.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { Client, cacheExchange, fetchExchange, gql as ugql } from '@urql/core';

import { startServer } from './harness.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.admin(`mutation {
    createCollection(input: {
      name: "writers", listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
      fields: [{name: "name", type: TEXT, required: true, max: 100}]
    }) { id }
  }`);
  await server.admin(`mutation {
    createCollection(input: {
      name: "labels", listRule: "", viewRule: "", updateRule: "", deleteRule: "",
      createRule: "@request.body.name != 'forbidden'",
      fields: [{name: "name", type: TEXT, required: true}]
    }) { id }
  }`);
  await server.admin(`mutation {
    createCollection(input: {
      name: "stories", listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
      fields: [
        {name: "title", type: TEXT, required: true, min: 3},
        {name: "writer", type: RELATION, collection: "writers", maxSelect: 1, required: true},
        {name: "labels", type: RELATION, collection: "labels", maxSelect: 10}
      ]
    }) { id }
  }`);
});
after(async () => {
  await server?.stop();
});

/** Counts the stored records of the three collections. */
async function counts() {
  const body = await server.gql('{ storiesAggregate { count } writersAggregate { count } labelsAggregate { count } }');
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const d = body.data;
  return { stories: d.storiesAggregate.count, writers: d.writersAggregate.count, labels: d.labelsAggregate.count };
}

const CREATE = `mutation NewStory($input: StoryCreateInput!) {
  createStory(input: $input) { id title writer { id name } labels { id name } }
}`;

describe('Apollo Client', () => {
  let client;
  before(() => {
    client = new ApolloClient({
      link: new HttpLink({ uri: server.graphqlUrl }),
      cache: new InMemoryCache(),
      defaultOptions: { query: { fetchPolicy: 'no-cache' } },
    });
  });
  after(() => client?.stop());

  test('a story with its writer and 3 labels in one mutation', async () => {
    const { data } = await client.mutate({
      mutation: gql(CREATE),
      variables: {
        input: {
          title: 'Nested',
          writerCreate: { name: 'Ada' },
          labelsCreate: [{ name: 'go' }, { name: 'sql' }, { name: 'graphql' }],
        },
      },
    });
    const s = data.createStory;
    assert.equal(s.writer.name, 'Ada');
    assert.deepEqual(s.labels.map((l) => l.name), ['go', 'sql', 'graphql']);
    assert.deepEqual(await counts(), { stories: 1, writers: 1, labels: 3 });
  });

  test('a label refused by its create rule rolls everything back, with the path', async () => {
    const before = await counts();
    await assert.rejects(
      client.mutate({
        mutation: gql(CREATE),
        variables: { input: { title: 'Refused', writerCreate: { name: 'Bo' }, labelsCreate: [{ name: 'ok' }, { name: 'forbidden' }] } },
      }),
      (err) => {
        assert.ok(CombinedGraphQLErrors.is(err), String(err));
        const e = err.errors[0];
        assert.equal(e.extensions.code, 'FORBIDDEN');
        assert.equal(e.extensions.fields['labelsCreate.1'].code, 'forbidden');
        assert.match(e.message, /^labelsCreate\.1: /);
        return true;
      },
    );
    assert.deepEqual(await counts(), before);
  });

  test('an invalid nested field is BAD_USER_INPUT keyed by its path', async () => {
    const before = await counts();
    await assert.rejects(
      client.mutate({
        mutation: gql(CREATE),
        variables: { input: { title: 'Invalid', writerCreate: { name: 'x'.repeat(101) }, labelsCreate: [{ name: 'a' }] } },
      }),
      (err) => {
        const e = err.errors[0];
        assert.equal(e.extensions.code, 'BAD_USER_INPUT');
        assert.ok(e.extensions.fields['writerCreate.name'], JSON.stringify(e.extensions));
        return true;
      },
    );
    assert.deepEqual(await counts(), before);
  });
});

describe('urql', () => {
  let client;
  before(() => {
    client = new Client({ url: server.graphqlUrl, exchanges: [cacheExchange, fetchExchange], requestPolicy: 'network-only' });
  });

  test('update with writerCreate, labelsCreate, labelsAppend and labelsRemove', async () => {
    const created = await client.mutation(ugql(CREATE), {
      input: { title: 'To update', writerCreate: { name: 'First' }, labelsCreate: [{ name: 'keep' }, { name: 'drop' }] },
    }).toPromise();
    assert.equal(created.error, undefined, String(created.error));
    const story = created.data.createStory;
    const [keep, drop] = story.labels;
    const extra = await client.mutation(ugql`mutation { createLabel(input: {name: "extra"}) { id } }`, {}).toPromise();
    assert.equal(extra.error, undefined, String(extra.error));

    const res = await client.mutation(
      ugql`mutation($id: ID!, $input: StoryUpdateInput!) { updateStory(id: $id, input: $input) { writer { name } labels { id name } } }`,
      {
        id: story.id,
        input: {
          writerCreate: { name: 'Second' },
          labelsCreate: [{ name: 'new' }],
          labelsAppend: [extra.data.createLabel.id],
          labelsRemove: [drop.id],
        },
      },
    ).toPromise();
    assert.equal(res.error, undefined, String(res.error));
    assert.equal(res.data.updateStory.writer.name, 'Second');
    assert.deepEqual(res.data.updateStory.labels.map((l) => l.name), ['keep', 'extra', 'new']);
    assert.equal(res.data.updateStory.labels[0].id, keep.id);
  });

  test('both writer and writerCreate is BAD_USER_INPUT and creates nothing', async () => {
    const before = await counts();
    const res = await client.mutation(ugql(CREATE), {
      input: { title: 'Both', writer: 'aaaaaaaaaaaaaaa', writerCreate: { name: 'C' } },
    }).toPromise();
    const e = res.error?.graphQLErrors?.[0];
    assert.ok(e, 'an error');
    assert.equal(e.extensions.code, 'BAD_USER_INPUT');
    assert.equal(e.extensions.fields.writerCreate.code, 'conflict');
    assert.deepEqual(await counts(), before);
  });

  test('a required relation given neither way is BAD_USER_INPUT', async () => {
    const res = await client.mutation(ugql(CREATE), { input: { title: 'Alone' } }).toPromise();
    const e = res.error?.graphQLErrors?.[0];
    assert.equal(e?.extensions.code, 'BAD_USER_INPUT');
    assert.ok(e.extensions.fields.writer, JSON.stringify(e.extensions));
  });
});
