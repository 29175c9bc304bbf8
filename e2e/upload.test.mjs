// apollo-upload-client: a GraphQL multipart request uploads a file, then the
// file's URL serves the same bytes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import UploadHttpLink from 'apollo-upload-client/UploadHttpLink.mjs';

import { createFixtureCollections, startServer } from './harness.mjs';

describe('apollo-upload-client', () => {
  let server;
  let client;

  before(async () => {
    server = await startServer();
    await createFixtureCollections(server);
    client = new ApolloClient({
      link: new UploadHttpLink({ uri: server.graphqlUrl }),
      cache: new InMemoryCache(),
    });
  });
  after(async () => {
    client?.stop();
    await server?.stop();
  });

  test('upload a file, then GET its URL', async () => {
    const content = 'hello from monobase e2e\n';
    const file = new File([content], 'greeting.txt', { type: 'text/plain' });
    const { data } = await client.mutate({
      mutation: gql`
        mutation($file: Upload!) {
          createDoc(input: {title: "with file", attachment: $file}) { id attachment { name url } }
        }
      `,
      variables: { file },
    });
    const att = data.createDoc.attachment;
    assert.ok(att?.name, JSON.stringify(data));
    assert.match(att.name, /\.txt$/);

    const url = new URL(att.url, server.url);
    assert.equal(url.host, new URL(server.url).host, 'file URL points at the server');
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), content);
  });

  test('a download URL asks the browser to save the file', async () => {
    const file = new File(['abc'], 'a.txt', { type: 'text/plain' });
    const { data } = await client.mutate({
      mutation: gql`
        mutation($file: Upload!) {
          createDoc(input: {title: "download", attachment: $file}) { attachment { url(download: true) } }
        }
      `,
      variables: { file },
    });
    const res = await fetch(new URL(data.createDoc.attachment.url, server.url));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /attachment/);
  });

  test('updating with null clears the file', async () => {
    const file = new File(['x'], 'x.txt', { type: 'text/plain' });
    const created = await client.mutate({
      mutation: gql`mutation($file: Upload!) { createDoc(input: {title: "clear me", attachment: $file}) { id attachment { url } } }`,
      variables: { file },
    });
    const { id } = created.data.createDoc;
    const { data } = await client.mutate({
      mutation: gql`mutation($id: ID!) { updateDoc(id: $id, input: {attachment: null}) { attachment { name } } }`,
      variables: { id },
    });
    assert.equal(data.updateDoc.attachment, null);
  });
});
