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

/** Waits ms milliseconds. */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Creates a user through public sign-up and returns { id, token }. */
async function signUp(server, email) {
  const password = 'password-123';
  const created = await server.gql(
    'mutation($e: String!, $p: String!) { createUser(input: {email: $e, password: $p, passwordConfirm: $p}) { id } }',
    { e: email, p: password },
  );
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  const auth = await server.gql(
    'mutation($e: String!, $p: String!) { userAuthWithPassword(identity: $e, password: $p) { token } }',
    { e: email, p: password },
  );
  assert.equal(auth.errors, undefined, JSON.stringify(auth.errors));
  return { id: created.data.createUser.id, token: auth.data.userAuthWithPassword.token };
}

/**
 * Opens a raw WebSocket with the legacy subprotocol (subscriptions-transport-ws)
 * and returns { send(msg), next(pred), close() }.
 */
async function legacySocket(url, initPayload) {
  const ws = new WebSocket(url, 'graphql-ws');
  const inbox = [];
  const waiters = [];
  ws.on('message', (data) => {
    const m = JSON.parse(String(data));
    inbox.push(m);
    for (const w of [...waiters]) w();
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  assert.equal(ws.protocol, 'graphql-ws');
  const sock = {
    send: (m) => ws.send(JSON.stringify(m)),
    /** Resolves with (and removes) the first message matching pred. */
    next(pred, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const i = inbox.findIndex(pred);
          if (i < 0) return false;
          const [m] = inbox.splice(i, 1);
          waiters.splice(waiters.indexOf(check), 1);
          clearTimeout(timer);
          resolve(m);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(inbox)}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
    close: () => ws.close(),
  };
  sock.send({ type: 'connection_init', payload: initPayload ?? {} });
  await sock.next((m) => m.type === 'connection_ack');
  return sock;
}

describe('graphql-ws subscriptions: actions, rules, errors, both protocols', () => {
  let server;
  let client;
  const clients = [];
  const connect = (connectionParams, on) => {
    const c = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, on });
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startServer();
    await createFixtureCollections(server);
    await server.admin(`mutation {
      createCollection(input: {
        name: "notes", listRule: "owner = @request.auth.id", viewRule: "owner = @request.auth.id",
        createRule: "", updateRule: "owner = @request.auth.id", deleteRule: "owner = @request.auth.id",
        fields: [{name: "text", type: TEXT}, {name: "owner", type: RELATION, collection: "users", maxSelect: 1}]
      }) { id }
    }`);
    client = connect({ Authorization: `Bearer ${server.adminToken}` });
  });
  after(async () => {
    for (const c of clients) await c.dispose();
    await server?.stop();
  });

  test('CREATE, UPDATE and DELETE of one record arrive in commit order', async () => {
    const sub = subscribe(client, { query: 'subscription { postChanged { action record { title views } } }' });
    await sleep(300);
    const c = await server.gql('mutation { createPost(input: {title: "first", views: 1}) { id } }');
    const id = c.data.createPost.id;
    await server.gql('mutation($id: ID!) { updatePost(id: $id, input: {title: "second", views: 2}) { id } }', { id });
    await server.gql('mutation($id: ID!) { deletePost(id: $id) { id } }', { id });
    const got = [];
    for (let i = 0; i < 3; i++) {
      const ev = await sub.next();
      assert.equal(ev.errors, undefined, JSON.stringify(ev.errors));
      got.push(`${ev.data.postChanged.action} ${ev.data.postChanged.record.title}`);
    }
    assert.deepEqual(got, ['CREATE first', 'UPDATE second', 'DELETE second']);
    sub.dispose();
  });

  test('a mutation rolled back as a whole sends nothing', async () => {
    const sub = subscribe(client, { query: 'subscription { postChanged(actions: [CREATE]) { record { title } } }' });
    await sleep(300);
    const failed = await server.gql(`mutation {
      a: createPost(input: {id: "rollbackxxxxxxx", title: "rolled back"}) { id }
      b: createPost(input: {id: "rollbackxxxxxxx", title: "duplicate"}) { id }
    }`);
    assert.ok(failed.errors?.length, 'the duplicate id must fail the mutation');
    await server.gql('mutation { createPost(input: {title: "committed"}) { id } }');
    const ev = await sub.next();
    assert.equal(ev.data.postChanged.record.title, 'committed');
    sub.dispose();
  });

  test('each viewer receives only the records its list rule lets it see', async () => {
    const ann = await signUp(server, 'ann@example.com');
    const bob = await signUp(server, 'bob@example.com');
    const q = { query: 'subscription { noteChanged { record { text } } }' };
    const annSub = subscribe(connect({ authToken: ann.token }), q);
    const bobSub = subscribe(connect({ Authorization: `Bearer ${bob.token}` }), q);
    const anonSub = subscribe(connect(), q);
    await sleep(300);
    await server.gql('mutation($o: ID!) { createNote(input: {text: "ann\'s", owner: $o}) { id } }', { o: ann.id }, ann.token);
    await server.gql('mutation($o: ID!) { createNote(input: {text: "bob\'s", owner: $o}) { id } }', { o: bob.id }, bob.token);
    assert.equal((await annSub.next()).data.noteChanged.record.text, "ann's");
    assert.equal((await bobSub.next()).data.noteChanged.record.text, "bob's");
    await assert.rejects(anonSub.next(500), /no event/);
    await assert.rejects(annSub.next(300), /no event/);
    for (const s of [annSub, bobSub, anonSub]) s.dispose();
  });

  test('deleting the collection ends the subscription with an error, then completes', async () => {
    await server.admin(`mutation { createCollection(input: {name: "drafts", listRule: "", viewRule: "", createRule: "",
      fields: [{name: "text", type: TEXT}]}) { id } }`);
    const sub = subscribe(client, { query: 'subscription { draftChanged { action } }' });
    await sleep(300);
    await server.admin('mutation { deleteCollection(idOrName: "drafts") }');
    const ev = await sub.next();
    assert.equal(ev.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(ev));
    assert.match(ev.errors[0].message, /drafts was deleted/);
    assert.deepEqual(await sub.next(), { completed: true });
  });

  test('the legacy graphql-ws subprotocol works on the same path', async () => {
    const sock = await legacySocket(server.wsUrl, { authToken: server.adminToken });
    sock.send({ id: 'l1', type: 'start', payload: { query: 'subscription { postChanged(actions: [CREATE]) { record { title } } }' } });
    await sleep(300);
    await server.gql('mutation { createPost(input: {title: "legacy"}) { id } }');
    const data = await sock.next((m) => m.id === 'l1' && m.type === 'data');
    assert.equal(data.payload.data.postChanged.record.title, 'legacy');
    sock.send({ id: 'l1', type: 'stop' });
    await sock.next((m) => m.id === 'l1' && m.type === 'complete');
    sock.close();
  });

  test('a WebSocket from another origin is refused', async () => {
    const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws', { origin: 'https://evil.example' });
    const status = await new Promise((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('open', () => resolve('open'));
      ws.on('error', () => {});
    });
    assert.equal(status, 403);
  });
});

describe('graceful shutdown', () => {
  test('stopping the server closes open subscription sockets with 1001', async () => {
    const server = await startServer();
    await createFixtureCollections(server);
    let closed;
    const gotClose = new Promise((resolve) => { closed = resolve; });
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      on: { closed: (ev) => closed(ev) },
    });
    const sub = subscribe(client, { query: 'subscription { postChanged { action } }' });
    await sleep(300);
    await server.stop();
    const ev = await gotClose;
    assert.equal(ev.code, 1001, `close code ${ev.code} ${ev.reason}`);
    sub.dispose();
    await client.dispose();
  });
});
