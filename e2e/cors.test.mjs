// CORS in headless Chromium: a page served from another port (another
// origin) runs a GraphQL query with fetch (a preflighted POST with an
// Authorization header) and a graphql-ws subscription (the graphql-ws
// browser bundle) against the real server. Allowed through
// settings.cors.allowedOrigins, both work; not allowed, the fetch fails
// with a CORS error and the WebSocket is refused.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { createFixtureCollections, startServer } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// The app page: query() and subscribe() are called by the test through
// page.evaluate, so they run as the page's origin.
const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>CORS app</title>
<script src="/graphql-ws.js"></script>
<script>
window.query = async (api, token) => {
  try {
    const res = await fetch(api + '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
      body: JSON.stringify({ query: '{ posts { title } }' }),
    });
    return { status: res.status, body: await res.json() };
  } catch (e) {
    return { error: e.name + ': ' + e.message };
  }
};
window.subscribe = (wsUrl, token) => new Promise((resolve) => {
  window.events = [];
  const client = graphqlWs.createClient({
    url: wsUrl,
    connectionParams: { Authorization: 'Bearer ' + token },
    retryAttempts: 0,
    lazy: false,
    on: { connected: () => resolve({ connected: true }) },
  });
  window.wsClient = client;
  client.subscribe(
    { query: 'subscription { postChanged(actions: [CREATE]) { action record { title } } }' },
    {
      next: (v) => window.events.push(v),
      error: (e) => resolve({ connected: false, error: typeof e?.code === 'number' ? 'closed ' + e.code : String(e?.type ?? e) }),
      complete: () => {},
    },
  );
});
</script></head><body>app</body></html>`;

/** Serves the app page and the graphql-ws bundle on a free port of 127.0.0.1. */
async function startAppServer() {
  const bundle = await readFile(path.join(here, 'node_modules/graphql-ws/umd/graphql-ws.js'));
  const srv = http.createServer((req, res) => {
    if (req.url === '/graphql-ws.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}

describe('CORS from a page on another origin (Chromium)', () => {
  let server;
  let app;
  let browser;
  let token;

  before(async () => {
    assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath} (scripts/test.sh installs it)`);
    server = await startServer(); // not --dev: no origin is allowed out of the box
    await createFixtureCollections(server);
    const signUp = await server.gql(
      'mutation { createUser(input: {email: "ann@example.com", password: "ann-password-1", passwordConfirm: "ann-password-1"}) { id } }');
    assert.equal(signUp.errors, undefined, JSON.stringify(signUp.errors));
    const auth = await server.gql('mutation { userAuthWithPassword(identity: "ann@example.com", password: "ann-password-1") { token } }');
    token = auth.data.userAuthWithPassword.token;
    await server.gql('mutation { createPost(input: {title: "first post"}) { id } }');
    app = await startAppServer();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await server?.stop();
  });

  /**
   * Opens the app page in a fresh context (no cached preflight); logs
   * collects what Chromium reports (its CORS and handshake errors).
   */
  async function openApp() {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    const logs = [];
    p.on('console', (m) => logs.push(m.text()));
    await p.goto(app.url);
    await p.waitForFunction(() => typeof window.graphqlWs?.createClient === 'function');
    return { p, logs, close: () => ctx.close() };
  }

  /** Asserts that Chromium blocked the fetch by CORS and the server refused the socket. */
  function assertRefused(q, ws, logs) {
    assert.match(q.error ?? '', /TypeError: Failed to fetch/, JSON.stringify(q));
    assert.equal(ws.connected, false, JSON.stringify(ws));
    const log = logs.join('\n');
    assert.match(log, /blocked by CORS policy: Response to preflight request/, log);
    assert.match(log, /WebSocket connection to .* failed: .*Unexpected response code: 403/, log);
  }

  async function setOrigins(origins) {
    await server.admin('mutation($o: [String!]) { updateSettings(input: {cors: {allowedOrigins: $o}}) { cors { allowedOrigins } } }', { o: origins });
  }

  test('not allowed: the fetch fails with a CORS error and the WebSocket is refused', async () => {
    const { p, logs, close } = await openApp();
    try {
      const q = await p.evaluate(([api, t]) => window.query(api, t), [server.url, token]);
      const ws = await p.evaluate(([u, t]) => window.subscribe(u, t), [server.wsUrl, token]);
      assertRefused(q, ws, logs);
    } finally {
      await close();
    }
  });

  test('allowed (applied at once by updateSettings): the query and the subscription work', async () => {
    await setOrigins([app.url]);
    const { p, logs, close } = await openApp();
    try {
      const q = await p.evaluate(([api, t]) => window.query(api, t), [server.url, token]);
      assert.equal(q.status, 200, JSON.stringify(q));
      assert.deepEqual(q.body, { data: { posts: [{ title: 'first post' }] } });

      const ws = await p.evaluate(([u, t]) => window.subscribe(u, t), [server.wsUrl, token]);
      assert.deepEqual(ws, { connected: true });
      await new Promise((r) => setTimeout(r, 300)); // the subscription registers
      const created = await server.gql('mutation { createPost(input: {title: "live from another origin"}) { id } }');
      assert.equal(created.errors, undefined, JSON.stringify(created.errors));
      await p.waitForFunction(() => window.events.length > 0, null, { timeout: 5000 });
      const events = await p.evaluate(() => window.events);
      assert.deepEqual(events[0], { data: { postChanged: { action: 'CREATE', record: { title: 'live from another origin' } } } });
      await p.evaluate(() => window.wsClient.dispose());
      assert.doesNotMatch(logs.join('\n'), /CORS|Unexpected response code/);
    } finally {
      await close();
    }
  });

  test('taken off the list again: refused again, at once', async () => {
    await setOrigins(['https://elsewhere.example']);
    const { p, logs, close } = await openApp();
    try {
      const q = await p.evaluate(([api, t]) => window.query(api, t), [server.url, token]);
      const ws = await p.evaluate(([u, t]) => window.subscribe(u, t), [server.wsUrl, token]);
      assertRefused(q, ws, logs);
    } finally {
      await close();
    }
  });
});
