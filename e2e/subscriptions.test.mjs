// graphql-ws (graphql-transport-ws) in Node against the real server: a
// subscription receives the event of a createPost made over HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { createFixtureCollections, startServer } from './harness.mjs';

/** Subscribes and returns { next(): Promise<result>, dispose() }. */
function subscribe(client, payload) {
  const queue = [];
  const waiters = [];
  let failure;
  const push = (v) => (waiters.length ? waiters.shift().resolve(v) : queue.push(v));
  const dispose = client.subscribe(payload, {
    next: push,
    error: (e) => {
      if (e instanceof Error) failure = e;
      else if (typeof e?.code === 'number') failure = new Error(`socket closed ${e.code} ${e.reason ?? ''}`);
      else failure = new Error(JSON.stringify(e));
      while (waiters.length) waiters.shift().reject(failure);
    },
    complete: () => push({ completed: true }),
  });
  return {
    next(timeoutMs = 5000) {
      if (queue.length) return Promise.resolve(queue.shift());
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        const w = { resolve, reject };
        waiters.push(w);
        setTimeout(() => reject(new Error('no event within ' + timeoutMs + ' ms')), timeoutMs).unref();
      });
    },
    dispose,
  };
}

describe('graphql-ws subscriptions', () => {
  let server;
  let client;

  before(async () => {
    server = await startServer();
    await createFixtureCollections(server);
    client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${server.adminToken}` },
      retryAttempts: 0,
    });
  });
  after(async () => {
    await client?.dispose();
    await server?.stop();
  });

  test('postChanged receives a CREATE after createPost commits', async () => {
    const sub = subscribe(client, {
      query: 'subscription { postChanged(actions: [CREATE]) { action record { id title } } }',
    });
    // Give the server a moment to register the subscriber.
    await new Promise((r) => setTimeout(r, 300));

    const created = await server.gql('mutation { createPost(input: {title: "Live news"}) { id } }');
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));

    const ev = await sub.next();
    assert.equal(ev.errors, undefined, JSON.stringify(ev.errors));
    assert.equal(ev.data.postChanged.action, 'CREATE');
    assert.equal(ev.data.postChanged.record.title, 'Live news');
    assert.equal(ev.data.postChanged.record.id, created.data.createPost.id);
    sub.dispose();
  });

  test('a where filter keeps other records out', async () => {
    const sub = subscribe(client, {
      query: 'subscription { postChanged(where: {title: {eq: "wanted"}}) { action record { title } } }',
    });
    await new Promise((r) => setTimeout(r, 300));
    await server.gql('mutation { createPost(input: {title: "unwanted"}) { id } }');
    await server.gql('mutation { createPost(input: {title: "wanted"}) { id } }');
    const ev = await sub.next();
    assert.equal(ev.data?.postChanged?.record?.title, 'wanted', JSON.stringify(ev));
    sub.dispose();
  });

  test('an invalid token in connection_init closes the socket with 4403', async () => {
    const bad = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: 'Bearer not-a-token' },
      retryAttempts: 0,
    });
    const sub = subscribe(bad, { query: 'subscription { postChanged { action } }' });
    await assert.rejects(sub.next(), (err) => {
      assert.match(String(err.message), /4403|Forbidden|UNAUTHENTICATED|invalid/i);
      return true;
    });
    await bad.dispose();
  });
});
