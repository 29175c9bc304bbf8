// graphql-sse (distinct connections mode) in Node against the real server:
// a subscription over Server-Sent Events receives a create made over HTTP,
// a rule keeps another user's record out, an invalid token is refused, and
// a query runs over SSE too.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { createClient } from 'graphql-sse';

import { startServer } from './harness.mjs';

/**
 * Subscribes with client and returns { connected, next(), dispose() }:
 * connected resolves once the server answered the request (the
 * subscription is then live), next() the next result ({ completed: true }
 * at the end), rejecting with the client's error.
 */
function subscribe(makeClient, payload) {
  const queue = [];
  const waiters = [];
  let failure;
  let onConnected;
  const connected = new Promise((resolve) => { onConnected = resolve; });
  const client = makeClient({ connected: () => onConnected() });
  const push = (v) => (waiters.length ? waiters.shift().resolve(v) : queue.push(v));
  const fail = (e) => {
    failure = e instanceof Error ? e : new Error(JSON.stringify(e));
    onConnected();
    while (waiters.length) waiters.shift().reject(failure);
  };
  const dispose = client.subscribe(payload, { next: push, error: fail, complete: () => push({ completed: true }) });
  return {
    connected,
    next(timeoutMs = 5000) {
      if (queue.length) return Promise.resolve(queue.shift());
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        waiters.push({ resolve, reject });
        setTimeout(() => reject(new Error(`no result within ${timeoutMs} ms`)), timeoutMs).unref();
      });
    },
    dispose() {
      dispose();
      client.dispose();
    },
  };
}

describe('graphql-sse', () => {
  let server;
  const tokens = {};
  const ids = {};

  /** A graphql-sse client of the server, signed in as user (or not). */
  const sseClient = (user) => (on) => createClient({
    url: server.graphqlUrl,
    headers: user ? { authorization: `Bearer ${tokens[user]}` } : {},
    retryAttempts: 0,
    on,
  });

  before(async () => {
    server = await startServer();
    // Each user sees only their own notes.
    await server.admin(`mutation {
      createCollection(input: {
        name: "notes",
        listRule: "owner = @request.auth.id", viewRule: "owner = @request.auth.id",
        createRule: "@request.auth.id != '' && owner = @request.auth.id",
        fields: [
          {name: "title", type: TEXT, required: true},
          {name: "owner", type: RELATION, collection: "users", maxSelect: 1, required: true}
        ]
      }) { id }
    }`);
    for (const name of ['ann', 'bob']) {
      const email = `${name}@example.com`;
      const made = await server.gql(
        'mutation($e: String!) { createUser(input: {email: $e, password: "pass-word-12", passwordConfirm: "pass-word-12"}) { id } }',
        { e: email },
      );
      assert.equal(made.errors, undefined, JSON.stringify(made.errors));
      ids[name] = made.data.createUser.id;
      const signed = await server.gql(
        'mutation($e: String!) { userAuthWithPassword(identity: $e, password: "pass-word-12") { token } }',
        { e: email },
      );
      assert.equal(signed.errors, undefined, JSON.stringify(signed.errors));
      tokens[name] = signed.data.userAuthWithPassword.token;
    }
  });
  after(async () => {
    await server?.stop();
  });

  test('a subscription receives a create made over HTTP, and not another user\'s', async () => {
    const sub = subscribe(sseClient('ann'), {
      query: 'subscription { noteChanged { action record { title owner { id } } } }',
    });
    await sub.connected;

    const create = 'mutation($t: String!, $o: ID!) { createNote(input: {title: $t, owner: $o}) { id } }';
    const bobs = await server.gql(create, { t: 'bob private', o: ids.bob }, tokens.bob);
    assert.equal(bobs.errors, undefined, JSON.stringify(bobs.errors));
    const anns = await server.gql(create, { t: 'ann note', o: ids.ann }, tokens.ann);
    assert.equal(anns.errors, undefined, JSON.stringify(anns.errors));

    // Bob's note was committed first: had the rule let it through, it
    // would come first.
    const ev = await sub.next();
    assert.equal(ev.errors, undefined, JSON.stringify(ev.errors));
    assert.deepEqual(ev.data.noteChanged, { action: 'CREATE', record: { title: 'ann note', owner: { id: ids.ann } } });
    sub.dispose();
  });

  test('a query runs over SSE: one result, then complete', async () => {
    const sub = subscribe(sseClient('bob'), { query: '{ notes { title } me { id } }' });
    const res = await sub.next();
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.deepEqual(res.data, { notes: [{ title: 'bob private' }], me: { id: ids.bob } });
    assert.deepEqual(await sub.next(), { completed: true });
    sub.dispose();
  });

  test('an invalid token is refused', async () => {
    tokens.mallory = `${tokens.ann.slice(0, -4)}AAAA`; // a bad signature
    const sub = subscribe(sseClient('mallory'), { query: 'subscription { noteChanged { action } }' });
    await assert.rejects(sub.next(), (err) => {
      assert.equal(err.response?.status, 401, String(err));
      return true;
    });
    sub.dispose();
  });

  test('a validation error comes as a result', async () => {
    const sub = subscribe(sseClient('ann'), { query: 'subscription { nope }' });
    const res = await sub.next();
    assert.equal(res.errors?.length, 1, JSON.stringify(res));
    assert.match(res.errors[0].message, /nope/);
    assert.deepEqual(await sub.next(), { completed: true });
    sub.dispose();
  });
});
