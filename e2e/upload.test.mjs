// apollo-upload-client: a GraphQL multipart request uploads a file, then the
// file's URL serves the same bytes. The suite runs once with the files on
// the local disk and once in an S3 bucket (a real S3 protocol server,
// settings.s3 set through updateSettings): downloads, thumbnails and
// deletes must behave the same, and the objects must land on that backend.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import UploadHttpLink from 'apollo-upload-client/UploadHttpLink.mjs';

import { createFixtureCollections, startServer } from './harness.mjs';
import { png } from './png.mjs';

/** The width and height in a PNG's IHDR. */
function pngSize(buf) {
  assert.equal(buf.subarray(1, 4).toString('ascii'), 'PNG', 'a PNG');
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

for (const backend of ['local', 's3']) {
  describe(`apollo-upload-client, files on ${backend}`, () => {
    let server;
    let client;

    before(async () => {
      server = await startServer({ s3: backend === 's3' });
      assert.equal(server.backend, backend);
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

    /** The stored keys of a record's files (thumbnails included). */
    async function keysOf(recordId) {
      return (await server.storedKeys()).filter((k) => k.split('/')[1] === recordId);
    }

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
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(await res.text(), content);
      assert.deepEqual((await keysOf(data.createDoc.id)).map((k) => k.split('/')[2]), [att.name],
        `stored on ${backend}`);

      // A range of the file, as a video player or a resumed download asks.
      const part = await fetch(url, { headers: { range: 'bytes=6-9' } });
      assert.equal(part.status, 206);
      assert.equal(await part.text(), 'from');
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
      assert.equal(await res.text(), 'abc');
    });

    test('an image gets a stored thumbnail; deleting the record removes both', async () => {
      const image = png(320, 200);
      const file = new File([image], 'photo.png', { type: 'image/png' });
      const { data } = await client.mutate({
        mutation: gql`mutation($file: Upload!) { createDoc(input: {title: "photo", attachment: $file}) { id attachment { name url } } }`,
        variables: { file },
      });
      const { id, attachment } = data.createDoc;
      const url = new URL(attachment.url, server.url);
      const original = await fetch(url);
      assert.equal(original.status, 200);
      assert.deepEqual(Buffer.from(await original.arrayBuffer()), image);

      const thumbUrl = new URL(url);
      thumbUrl.searchParams.set('thumb', '100x100');
      const thumb = await fetch(thumbUrl);
      assert.equal(thumb.status, 200);
      assert.equal(thumb.headers.get('content-type'), 'image/png');
      assert.deepEqual(pngSize(Buffer.from(await thumb.arrayBuffer())), [100, 100]);
      // Served again from the stored thumbnail.
      const again = await fetch(thumbUrl);
      assert.deepEqual(pngSize(Buffer.from(await again.arrayBuffer())), [100, 100]);
      const keys = await keysOf(id);
      assert.deepEqual(keys.map((k) => k.split('/').slice(2).join('/')),
        [attachment.name, `thumbs_${attachment.name}/100x100_${attachment.name}`], `stored on ${backend}`);

      const del = await client.mutate({ mutation: gql`mutation($id: ID!) { deleteDoc(id: $id) { id } }`, variables: { id } });
      assert.equal(del.data.deleteDoc.id, id);
      assert.equal((await fetch(url)).status, 404);
      assert.equal((await fetch(thumbUrl)).status, 404);
      assert.deepEqual(await keysOf(id), [], `nothing left on ${backend}`);
    });

    test('updating with null clears the file', async () => {
      const file = new File(['x'], 'x.txt', { type: 'text/plain' });
      const created = await client.mutate({
        mutation: gql`mutation($file: Upload!) { createDoc(input: {title: "clear me", attachment: $file}) { id attachment { url } } }`,
        variables: { file },
      });
      const { id } = created.data.createDoc;
      const oldUrl = new URL(created.data.createDoc.attachment.url, server.url);
      assert.equal((await fetch(oldUrl)).status, 200);
      const { data } = await client.mutate({
        mutation: gql`mutation($id: ID!) { updateDoc(id: $id, input: {attachment: null}) { attachment { name } } }`,
        variables: { id },
      });
      assert.equal(data.updateDoc.attachment, null);
      assert.equal((await fetch(oldUrl)).status, 404);
      assert.deepEqual(await keysOf(id), [], `the cleared file is deleted from ${backend}`);
    });
  });
}
