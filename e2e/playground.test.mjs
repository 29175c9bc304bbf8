// The playground in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core): it loads from the binary alone, runs { __typename } and
// shows the result. Screenshots go to e2e/artifacts/.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { createFixtureCollections, startServer } from './harness.mjs';

const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'artifacts');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

describe('playground in a browser', () => {
  let server;
  let browser;
  let page;
  const outside = [];

  before(async () => {
    assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath} (scripts/test.sh installs it)`);
    await mkdir(artifacts, { recursive: true });
    server = await startServer();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // The page must not need anything but the server (no CDN).
    page.on('request', (req) => {
      const u = new URL(req.url());
      if (u.origin !== server.url && !u.protocol.startsWith('data') && u.protocol !== 'blob:') outside.push(req.url());
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('runs { __typename } and shows the result', async () => {
    await page.goto(`${server.url}/playground`);
    await page.locator('.graphiql-container').waitFor({ timeout: 20_000 });
    // Replace the default query with { __typename }.
    const editor = page.locator('.graphiql-query-editor .CodeMirror').first();
    await editor.waitFor();
    await page.evaluate(() => {
      document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('{ __typename }');
    });
    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.graphiql-response');
    await result.getByText('"Query"').waitFor({ timeout: 10_000 });
    const text = await result.innerText();
    assert.match(text, /"__typename":\s*"Query"/);
    await page.screenshot({ path: path.join(artifacts, 'playground.png') });
    assert.deepEqual(outside, [], 'the playground loaded nothing from outside the server');
  });

  test('the headers tab sends the token and the admin endpoint is selectable', async () => {
    await page.goto(`${server.url}/playground?endpoint=admin`);
    await page.locator('.graphiql-container').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('#endpoint').inputValue(), 'admin');
    await page.evaluate((token) => {
      document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('{ collections { name } }');
      const headers = document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
      headers.CodeMirror.setValue(JSON.stringify({ Authorization: `Bearer ${token}` }));
    }, server.adminToken);
    // GraphiQL reads the edited headers after a short debounce; run again
    // if the first click still went out without them.
    const result = page.locator('.graphiql-response');
    let text = '';
    for (let attempt = 0; attempt < 3 && !text.includes('"users"'); attempt++) {
      await page.waitForTimeout(500);
      await page.locator('.graphiql-execute-button').click();
      try {
        await result.getByText('"users"').waitFor({ timeout: 3000 });
      } catch {
        // checked below
      }
      text = await result.innerText();
    }
    await page.screenshot({ path: path.join(artifacts, 'playground-admin.png') });
    assert.match(text, /"users"/, `response pane: ${text}`);
  });

  test('the endpoint select switches to the application API', async () => {
    await page.selectOption('#endpoint', 'app');
    await page.waitForURL((u) => !u.search.includes('endpoint=admin'));
    await page.locator('.graphiql-container').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('#endpoint').inputValue(), 'app');
  });

  test('a subscription runs over graphql-ws and shows the event', async () => {
    await createFixtureCollections(server);
    await page.reload();
    await page.locator('.graphiql-container').waitFor({ timeout: 20_000 });
    await page.evaluate(() => {
      document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror
        .setValue('subscription { postChanged { action record { title } } }');
    });
    await page.locator('.graphiql-execute-button').click();
    // Let the socket connect and the subscription register.
    await page.waitForTimeout(1000);
    const created = await server.gql('mutation { createPost(input: {title: "From the playground test"}) { id } }');
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const result = page.locator('.graphiql-response');
    await result.getByText('From the playground test').waitFor({ timeout: 10_000 });
    assert.match(await result.innerText(), /"action":\s*"CREATE"/);
    await page.screenshot({ path: path.join(artifacts, 'playground-subscription.png') });
  });
});
