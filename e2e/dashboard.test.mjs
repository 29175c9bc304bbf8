// The admin dashboard (/_/) in headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core), against the real binary: first-run setup,
// sign-in, a collection with several field types, rules checked as they
// are typed and refused on save, the API preview, records (create with a
// file upload and its thumbnail, edit, filter with an inline error, sort,
// delete), a record created by another client appearing live, fields
// reordered by a mouse drag, a view collection, the JSON and rich-text
// editors, live row updates without a reload, a protected file's
// thumbnail, OAuth2 providers and email templates, and the phone layout. Screenshots go to e2e/artifacts/dashboard-*.png.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { ADMIN_EMAIL, ADMIN_PASSWORD, databaseArgs, dropDatabase, freePort, monobaseBinary, startServer } from './harness.mjs';
import { png } from './png.mjs';

const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'artifacts');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `dashboard-${name}.png`), fullPage: true });

/** Starts `monobase serve` on a fresh data folder with no superuser; resolves with { url, output(), stop() }. */
async function startFresh() {
  const bin = await monobaseBinary();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'monobase-e2e-fresh-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dbArgs = databaseArgs();
  const child = spawn(bin, [...dbArgs, 'serve', '--http', `127.0.0.1:${port}`, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b) => { output += b; });
  child.stderr.on('data', (b) => { output += b; });
  const deadline = Date.now() + 20_000;
  while (!output.includes('/_/#/setup?token=')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve printed no setup link:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await dropDatabase(dbArgs);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function launch() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

/** Records the requests a page makes outside origin (there must be none: no CDN). */
function watchOutside(page, origin, outside) {
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.origin !== origin && !['data:', 'blob:'].includes(u.protocol)) outside.push(req.url());
  });
}

describe('dashboard: first run', () => {
  let server;
  let browser;
  before(async () => {
    assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath} (scripts/test.sh installs it)`);
    await mkdir(artifacts, { recursive: true });
    server = await startFresh();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('/ goes to the dashboard, which offers to create the first superuser from loopback', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const outside = [];
    watchOutside(page, server.url, outside);
    await page.goto(`${server.url}/`);
    assert.equal(new URL(page.url()).pathname, '/_/');
    await page.getByRole('heading', { name: 'Create the first superuser' }).waitFor();
    await page.getByLabel('Email').fill('first@example.com');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create superuser' }).click();
    await page.getByRole('alert').waitFor();
    await shot(page, 'setup');
    await page.getByLabel('Password').fill('first-password-1');
    await page.getByRole('button', { name: 'Create superuser' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('heading', { name: 'Collections', level: 1 }).waitFor();
    // The token is kept: a reload stays signed in.
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    // Now a superuser exists: the sign-in form, and the new account works.
    await page.getByRole('heading', { name: 'Superuser sign-in' }).waitFor();
    await page.getByLabel('Email').fill('first@example.com');
    await page.getByLabel('Password').fill('first-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    assert.deepEqual(outside, [], 'the dashboard loaded nothing from outside the server');
    await page.close();
  });
});

describe('dashboard', () => {
  let server;
  let browser;
  let page;
  const outside = [];

  before(async () => {
    assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath} (scripts/test.sh installs it)`);
    await mkdir(artifacts, { recursive: true });
    server = await startServer();
    // A users record for the relation picker.
    const made = await server.gql(
      'mutation { createUser(input: {email: "ann@example.com", password: "ann-password-1", passwordConfirm: "ann-password-1"}) { id } }',
      {},
      server.adminToken,
    );
    assert.ok(made.data?.createUser?.id, JSON.stringify(made));
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watchOutside(page, server.url, outside);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('sign-in refuses a wrong password, then signs in', async () => {
    await page.goto(`${server.url}/_/`);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('invalid credentials').waitFor();
    await shot(page, 'signin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Collections', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Collections' }).getByRole('link', { name: /^users\b/ }).waitFor();
    await shot(page, 'collections');
  });

  test('creates a collection with several field types; a bad rule is shown as typed and refused on save', async () => {
    await page.getByRole('link', { name: 'New collection' }).first().click();
    await page.getByRole('heading', { name: 'New collection' }).waitFor();
    await page.getByLabel('Name', { exact: true }).first().fill('articles');
    const add = async (type, name, fill) => {
      await page.getByLabel('New field type').selectOption(type);
      await page.getByRole('button', { name: 'Add field' }).click();
      const field = page.locator('fieldset.field-card').last();
      await field.getByLabel('Name', { exact: true }).fill(name);
      await fill?.(field);
    };
    await add('TEXT', 'title', async (f) => {
      await f.getByLabel('Required').check();
      await f.getByLabel('Max').fill('200');
    });
    await add('NUMBER', 'views', (f) => f.getByLabel('Integers only').check());
    await add('BOOL', 'published');
    await add('SELECT', 'status', (f) => f.getByLabel('Values (comma-separated)').fill('draft, live'));
    await add('JSON', 'meta');
    await add('FILE', 'cover', async (f) => {
      await f.getByLabel('MIME types (comma-separated)').fill('image/png');
      await f.getByLabel('Thumb sizes (e.g. 100x100)').fill('100x100');
    });
    await add('RELATION', 'author', (f) => f.getByLabel('Related collection').selectOption({ label: 'users' }));
    // Reorder: meta moves up above status.
    await page.getByRole('button', { name: 'Move field meta up' }).click();
    const names = await page.locator('fieldset.field-card').evaluateAll((fs) => fs.map((f) => f.querySelector('input').value));
    assert.deepEqual(names, ['title', 'views', 'published', 'meta', 'status', 'cover', 'author']);

    // Rules: unlock the list rule and type a bad one.
    await page.getByLabel('Lock list rule (superusers only)').uncheck();
    await page.getByLabel('List rule', { exact: true }).fill("title != '' && nope = 1");
    const listError = page.locator('.rule', { has: page.getByLabel('List rule', { exact: true }) }).locator('.error-text');
    await listError.waitFor();
    assert.match(await listError.innerText(), /nope.*position 16/);
    assert.equal(await page.getByLabel('List rule', { exact: true }).getAttribute('aria-invalid'), 'true');
    await shot(page, 'rule-error');
    // A rule naming a field of the draft is fine.
    await page.getByLabel('List rule', { exact: true }).fill("title != '' && views > 0");
    await listError.waitFor({ state: 'detached' });
    await page.getByLabel('Lock view rule (superusers only)').uncheck();
    // Saved with a syntax error: the server refuses it, naming the rule.
    await page.getByLabel('View rule', { exact: true }).fill('title = &&');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('alert').getByText(/viewRule/).waitFor();
    assert.equal((await server.admin('{ collection(idOrName: "articles") { id } }')).collection, null, 'nothing saved');
    await page.getByLabel('View rule', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('tab', { name: 'Records' }).or(page.getByRole('link', { name: 'Records' })).waitFor();
    const saved = (await server.admin('{ collection(idOrName: "articles") { listRule viewRule fields { name type system } } }')).collection;
    assert.equal(saved.listRule, "title != '' && views > 0");
    assert.equal(saved.viewRule, '');
    assert.deepEqual(saved.fields.filter((f) => !f.system).map((f) => `${f.name}:${f.type}`),
      ['title:TEXT', 'views:NUMBER', 'published:BOOL', 'meta:JSON', 'status:SELECT', 'cover:FILE', 'author:RELATION']);
    await shot(page, 'collection');
  });

  test('the API preview shows the generated types and example operations', async () => {
    await page.getByRole('link', { name: 'API preview' }).click();
    const types = page.getByLabel('Types of articles');
    await types.waitFor();
    const sdl = await types.innerText();
    assert.match(sdl, /type Article implements Record/);
    assert.match(sdl, /input ArticleCreateInput/);
    assert.match(sdl, /articles\(/);
    assert.doesNotMatch(sdl, /type User implements/, 'only the collection’s own types');
    const examples = (await page.locator('pre.code').allInnerTexts()).slice(1).join('\n');
    assert.match(examples, /createArticle\(input: \{ title: "text"/);
    assert.match(examples, /subscription \{\n  articleChanged \{/);
    assert.match(examples, /articles\(filter: /);
    await shot(page, 'api-preview');
  });

  test('records: create with a file and a relation, see the thumbnail, edit, filter, sort, live, delete', async () => {
    await page.getByRole('link', { name: 'Records' }).click();
    await page.getByText('No records.').waitFor();
    await page.getByRole('button', { name: 'New record' }).click();
    await page.getByLabel('title *').fill('Hello dashboard');
    await page.getByLabel('views').fill('12');
    await page.getByLabel('published').check();
    await page.getByLabel('meta').fill('{"tags": ["a", "b"]}');
    await page.getByLabel('status').selectOption('live');
    await page.getByLabel('cover').setInputFiles({ name: 'cover.png', mimeType: 'image/png', buffer: png(160, 120) });
    await page.getByRole('img', { name: 'Preview of cover.png' }).waitFor();
    await page.getByLabel('Search users').fill('ann');
    await page.getByLabel('Choose author').locator('option', { hasText: 'ann@example.com' }).waitFor({ state: 'attached' });
    await page.getByLabel('Choose author').selectOption({ label: (await page.getByLabel('Choose author').locator('option', { hasText: 'ann@example.com' }).innerText()) });
    await shot(page, 'record-form');
    await page.getByRole('button', { name: 'Create record' }).click();
    const table = page.getByRole('table', { name: 'Records of articles' });
    await table.getByText('Hello dashboard').waitFor();
    const thumb = table.getByRole('img', { name: /cover.*\.png/ });
    await thumb.waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('table img')].some((i) => i.complete && i.naturalWidth > 0));
    const src = await thumb.getAttribute('src');
    assert.match(src, /thumb=100x100/);
    const res = await fetch(new URL(src, server.url));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');

    // Bad JSON is refused in the form, before any request.
    const row = table.getByRole('row', { name: /Hello dashboard/ });
    await row.getByRole('button', { name: /Edit record/ }).click();
    await page.getByLabel('meta').fill('{not json');
    await page.getByRole('button', { name: 'Save record' }).click();
    await page.getByText(/not valid JSON/).waitFor();
    await page.getByLabel('meta').fill('{"tags": ["a"]}');
    await page.getByLabel('title *').fill('Hello again');
    await page.getByRole('button', { name: 'Save record' }).click();
    await table.getByText('Hello again').waitFor();
    const stored = await server.gql('{ articles { title views published status meta authorId cover { name } } }', {}, server.adminToken);
    assert.equal(stored.data.articles.length, 1);
    const a = stored.data.articles[0];
    assert.deepEqual({ title: a.title, views: a.views, published: a.published, status: a.status, meta: a.meta },
      { title: 'Hello again', views: 12, published: true, status: 'live', meta: { tags: ['a'] } });
    assert.ok(a.authorId, 'the relation was set');
    assert.match(a.cover.name, /^cover.*\.png$/);

    // A record created by another client appears live.
    const other = await server.gql('mutation { createArticle(input: {title: "From elsewhere", views: 3}) { id } }', {}, server.adminToken);
    assert.ok(other.data?.createArticle?.id, JSON.stringify(other));
    await table.getByText('From elsewhere').waitFor({ timeout: 10_000 });
    await page.getByText(/Live: create/).waitFor();
    await shot(page, 'records');

    // Filter: a bad one shows its error inline, a good one narrows the rows.
    await page.getByLabel('Filter').fill('views >');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    const filterError = page.locator('.filter .error-text');
    await filterError.waitFor();
    assert.match(await filterError.innerText(), /position/);
    await shot(page, 'filter-error');
    await page.getByLabel('Filter').fill('views > 5');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await filterError.waitFor({ state: 'detached' });
    await table.getByText('From elsewhere').waitFor({ state: 'detached' });
    await table.getByText('Hello again').waitFor();
    await page.getByLabel('Filter').fill('');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await table.getByText('From elsewhere').waitFor();

    // Sort by title, both ways.
    const titles = () => table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.textContent));
    await table.getByRole('button', { name: /^title/ }).click();
    await page.waitForFunction(() => document.querySelector('th[aria-sort="ascending"]'));
    let t = await titles();
    assert.ok(t[0].includes('From elsewhere') && t[1].includes('Hello again'), t.join(' | '));
    await table.getByRole('button', { name: /^title/ }).click();
    await page.waitForFunction(() => document.querySelector('th[aria-sort="descending"]'));
    await page.waitForFunction(() => document.querySelector('tbody tr')?.textContent.includes('Hello again'));

    // Column choice.
    await page.getByText('Columns').click();
    await page.getByLabel('Show meta').uncheck();
    assert.equal(await table.getByRole('columnheader', { name: 'meta' }).count(), 0);

    // Delete.
    await table.getByRole('row', { name: /From elsewhere/ }).getByRole('button', { name: /Edit record/ }).click();
    await page.getByRole('button', { name: 'Delete record' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).click();
    // The editor replaces the table: the table is back once the delete
    // answered (a row of an unmounted table is "detached" at once).
    await table.waitFor();
    await table.getByText('From elsewhere').waitFor({ state: 'detached' });
    const left = await server.gql('{ articles { title } }', {}, server.adminToken);
    assert.deepEqual(left.data.articles.map((x) => x.title), ['Hello again']);
  });

  test('edits and deletes a collection', async () => {
    await page.getByRole('link', { name: 'Edit collection' }).click();
    await page.getByRole('button', { name: 'Save changes' }).waitFor();
    await page.getByLabel('New field type').selectOption('EMAIL');
    await page.getByRole('button', { name: 'Add field' }).click();
    await page.locator('fieldset.field-card').last().getByLabel('Name', { exact: true }).fill('contact');
    await page.getByRole('button', { name: 'Remove field published' }).click();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();
    const c = (await server.admin('{ collection(idOrName: "articles") { fields { name system } } }')).collection;
    const userFields = c.fields.filter((f) => !f.system).map((f) => f.name);
    assert.ok(userFields.includes('contact') && !userFields.includes('published'), userFields.join(','));
    // The record kept its data through the change.
    const kept = await server.gql('{ articles { title } }', {}, server.adminToken);
    assert.deepEqual(kept.data.articles.map((x) => x.title), ['Hello again']);
    await shot(page, 'collection-edit');

    await page.getByRole('button', { name: 'Delete collection' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).click();
    await page.getByRole('heading', { name: 'Collections', level: 1 }).waitFor();
    assert.equal((await server.admin('{ collection(idOrName: "articles") { id } }')).collection, null);
  });

  /** Opens a route of the dashboard afresh (the schema is read again). */
  async function open(route) {
    await page.goto(`${server.url}/_/#${route}`);
    await page.reload();
  }

  test('reorders fields by dragging with the mouse, then a view collection shows its query’s records', async () => {
    await open('/collections/new');
    await page.getByRole('heading', { name: 'New collection' }).waitFor();
    await page.getByLabel('Name', { exact: true }).first().fill('ordered');
    for (const [type, name] of [['TEXT', 'one'], ['NUMBER', 'two'], ['BOOL', 'three']]) {
      await page.getByLabel('New field type').selectOption(type);
      await page.getByRole('button', { name: 'Add field' }).click();
      await page.locator('fieldset.field-card').last().getByLabel('Name', { exact: true }).fill(name);
    }
    const cards = page.locator('fieldset.field-card');
    const names = () => cards.evaluateAll((fs) => fs.map((f) => f.querySelector('input').value));
    assert.deepEqual(await names(), ['one', 'two', 'three']);
    // A real mouse drag: press on the handle of "three", move over "one", release.
    const handle = await cards.nth(2).locator('.drag').boundingBox();
    const target = await cards.nth(0).boundingBox();
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(target.x + target.width / 2, target.y + 30, { steps: 12 });
    await page.mouse.move(target.x + target.width / 2, target.y + 40, { steps: 3 });
    await page.mouse.up();
    assert.deepEqual(await names(), ['three', 'one', 'two'], 'the dragged field moved to the top');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('link', { name: 'Records' }).waitFor();
    const saved = (await server.admin('{ collection(idOrName: "ordered") { fields { name system } } }')).collection;
    assert.deepEqual(saved.fields.filter((f) => !f.system).map((f) => f.name), ['three', 'one', 'two']);
    // Dragged again on the edit screen: "two" onto "three", saved with Save changes.
    await page.getByRole('link', { name: 'Edit collection' }).click();
    await page.getByRole('button', { name: 'Save changes' }).waitFor();
    const h2 = await cards.nth(2).locator('.drag').boundingBox();
    const t2 = await cards.nth(0).boundingBox();
    await page.mouse.move(h2.x + h2.width / 2, h2.y + h2.height / 2);
    await page.mouse.down();
    await page.mouse.move(t2.x + t2.width / 2, t2.y + 30, { steps: 12 });
    await shot(page, 'drag');
    await page.mouse.up();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();
    const again = (await server.admin('{ collection(idOrName: "ordered") { fields { name system } } }')).collection;
    assert.deepEqual(again.fields.filter((f) => !f.system).map((f) => f.name), ['two', 'three', 'one']);

    for (const [one, two] of [['first row', 1], ['second row', 2]]) {
      const r = await server.gql('mutation($one: String, $two: Float) { createOrdered(input: {one: $one, two: $two}) { id } }', { one, two }, server.adminToken);
      assert.ok(r.data?.createOrdered?.id, JSON.stringify(r));
    }
    // A view collection over it, with its query.
    await page.getByRole('link', { name: 'New collection' }).first().click();
    await page.getByRole('heading', { name: 'New collection' }).waitFor();
    await page.getByLabel('Name', { exact: true }).first().fill('ordered_view');
    await page.getByLabel('Type', { exact: true }).selectOption('VIEW');
    await page.getByLabel('View query (SQL SELECT)').fill('SELECT id, one AS label, two * 10 AS score FROM ordered');
    await shot(page, 'view-collection');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('link', { name: 'Records' }).click();
    const table = page.getByRole('table', { name: 'Records of ordered_view' });
    await table.getByText('first row').waitFor();
    await table.getByText('second row').waitFor();
    await table.getByRole('cell', { name: '20', exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'New record' }).count(), 0, 'a view has no New record');
    const view = (await server.admin('{ collection(idOrName: "ordered_view") { type viewQuery } }')).collection;
    assert.equal(view.type, 'VIEW');
    assert.match(view.viewQuery, /FROM ordered/);
    await shot(page, 'view-records');
  });

  test('the JSON editor shows where a parse error is; the rich-text editor saves bold HTML', async () => {
    await server.admin(`mutation { createCollection(input: {name: "notes", fields: [
      {name: "title", type: TEXT}, {name: "body", type: EDITOR}, {name: "data", type: JSON},
      {name: "created", type: AUTODATE, onCreate: true}]}) { id } }`);
    await open('/collections/notes');
    await page.getByRole('button', { name: 'New record' }).click();
    await page.getByLabel('title').fill('Rich note');
    const json = page.getByLabel('data', { exact: true });
    await json.fill('{\n  "a": 1,\n  "b": }');
    const jsonMsg = page.locator('.json-editor .error-text');
    await jsonMsg.waitFor();
    assert.match(await jsonMsg.innerText(), /not valid JSON: line 3, column 8: .*expected a value/);
    assert.equal(await json.getAttribute('aria-invalid'), 'true');
    assert.ok(await page.getByRole('button', { name: 'Format data JSON' }).isDisabled(), 'no formatting of bad JSON');
    await shot(page, 'json-error');
    // Auto-indent: Enter after "{" indents the new line and closes the block.
    await json.fill('');
    await json.type('{');
    await json.press('End');
    await json.press('Enter');
    await json.type('"k": [1,2]');
    assert.equal(await json.inputValue(), '{\n  "k": [1,2]');
    await json.type('}');
    await jsonMsg.waitFor({ state: 'detached' });
    await json.fill('{"a":1,"b":[true,null]}');
    await page.getByRole('button', { name: 'Format data JSON' }).click();
    assert.equal(await json.inputValue(), JSON.stringify({ a: 1, b: [true, null] }, null, 2));

    const body = page.getByRole('textbox', { name: 'body', exact: true });
    assert.equal(await body.getAttribute('aria-multiline'), 'true');
    await page.getByLabel('body', { exact: true }).click();
    await page.keyboard.type('plain ');
    await page.getByRole('button', { name: 'Bold', exact: true }).click();
    await page.keyboard.type('strong');
    await page.getByRole('button', { name: 'Bold', exact: true }).click();
    await page.keyboard.type(' end');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Heading', exact: true }).click();
    await page.keyboard.type('Title');
    assert.equal(await page.getByRole('button', { name: 'Heading', exact: true }).getAttribute('aria-pressed'), 'true');
    assert.match(await body.innerHTML(), /<b>strong<\/b>/);
    await shot(page, 'rich-text');
    await page.getByRole('button', { name: 'Create record' }).click();
    await page.getByRole('table', { name: 'Records of notes' }).getByText('Rich note').waitFor();
    const r = await server.gql('{ notes { title body data } }', {}, server.adminToken);
    const note = r.data.notes[0];
    assert.match(note.body, /plain <(b|strong)>strong<\/(b|strong)> end/);
    assert.match(note.body, /<h2>Title<\/h2>/);
    assert.deepEqual(note.data, { a: 1, b: [true, null] });
  });

  test('rows change live: another client’s create, update and delete, without reloading the page', async () => {
    await open('/collections/notes');
    const table = page.getByRole('table', { name: 'Records of notes' });
    await table.getByText('Rich note').waitFor();
    let reloads = 0;
    const count = (req) => {
      if (req.method() === 'POST' && req.url().endsWith('/graphql') && (req.postData() || '').includes('query Records')) reloads++;
    };
    page.on('request', count);
    const made = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.adminToken}` },
      body: JSON.stringify({ query: 'mutation { createNote(input: {title: "Live one", data: {n: 1}}) { id } }' }),
    }).then((res) => res.json());
    const id = made.data?.createNote?.id;
    assert.ok(id, JSON.stringify(made));
    await table.getByText('Live one').waitFor({ timeout: 10_000 });
    const first = await table.locator('tbody tr').first().innerText();
    assert.match(first, /Live one/, 'a new record goes on top (newest first)');
    await page.getByRole('status').getByText('Page 1 of 1 · 2 records').waitFor();
    const upd = await server.gql(`mutation { updateNote(id: "${id}", input: {title: "Live two"}) { id } }`, {}, server.adminToken);
    assert.ok(upd.data?.updateNote, JSON.stringify(upd));
    await table.getByText('Live two').waitFor();
    assert.match(await table.locator('tbody tr').first().innerText(), /Live two/, 'updated in place');
    await shot(page, 'live');
    const del = await server.gql(`mutation { deleteNote(id: "${id}") { id } }`, {}, server.adminToken);
    assert.ok(del.data?.deleteNote, JSON.stringify(del));
    await table.getByText('Live two').waitFor({ state: 'detached' });
    await page.getByRole('status').getByText('Page 1 of 1 · 1 records').waitFor();
    page.off('request', count);
    assert.equal(reloads, 0, 'the table was not reloaded');
  });

  test('a protected file’s thumbnail loads with a file token', async () => {
    await server.admin(`mutation { createCollection(input: {name: "vault", fields: [
      {name: "label", type: TEXT}, {name: "doc", type: FILE, maxSelect: 1, protected: true, thumbs: ["100x100"], mimeTypes: ["image/png"]},
      {name: "created", type: AUTODATE, onCreate: true}]}) { id } }`);
    await open('/collections/vault');
    await page.getByRole('button', { name: 'New record' }).click();
    await page.getByLabel('label').fill('Secret picture');
    await page.getByLabel('doc').setInputFiles({ name: 'secret.png', mimeType: 'image/png', buffer: png(120, 90) });
    await page.getByRole('img', { name: 'Preview of secret.png' }).waitFor();
    await page.getByRole('button', { name: 'Create record' }).click();
    const table = page.getByRole('table', { name: 'Records of vault' });
    const thumb = table.getByRole('img', { name: /secret.*\.png/ });
    await thumb.waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('table img')].some((i) => i.complete && i.naturalWidth > 0));
    const src = await thumb.getAttribute('src');
    assert.match(src, /thumb=100x100&token=/);
    const withToken = await fetch(new URL(src, server.url));
    assert.equal(withToken.status, 200);
    assert.equal(withToken.headers.get('content-type'), 'image/png');
    const bare = new URL(src, server.url);
    bare.searchParams.delete('token');
    const without = await fetch(bare);
    assert.notEqual(without.status, 200, 'a protected file needs the token');
    // The edit form shows the stored file's thumbnail too.
    await table.getByRole('button', { name: /Edit record/ }).click();
    await page.waitForFunction(() => [...document.querySelectorAll('form ul.files img')].some((i) => i.complete && i.naturalWidth > 0));
    await shot(page, 'protected-file');
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  test('auth collections: an OAuth2 provider and an email template are saved; the secret is never shown', async () => {
    await open('/collections/users/edit');
    await page.getByRole('button', { name: 'Save changes' }).waitFor();
    await page.getByLabel('OAuth2 sign-in enabled').check();
    await page.getByRole('button', { name: 'Add OAuth2 provider' }).click();
    const prov = page.getByRole('group', { name: /^OAuth2 provider/ }).last();
    await prov.getByLabel('Provider name').fill('github');
    await prov.getByLabel('Client ID').fill('gh-client-1');
    await prov.getByLabel('Client secret', { exact: true }).fill('gh-secret-value-123');
    await page.getByLabel('Name field', { exact: true }).fill('name');
    await page.getByLabel('Custom verification email').check();
    await page.getByLabel('Verification email subject', { exact: true }).fill('Confirm your {APP_NAME} account');
    await page.getByLabel('Verification email body (HTML)', { exact: true }).fill('<p>Token: {TOKEN}</p>');
    await shot(page, 'oauth2');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();
    const q = '{ collection(idOrName: "users") { oauth2 { enabled mappedFields { name } providers { name clientId clientSecretSet pkce } } emailTemplates { verification { subject body } resetPassword { subject } } } }';
    let c = (await server.admin(q)).collection;
    assert.equal(c.oauth2.enabled, true);
    assert.deepEqual(c.oauth2.providers, [{ name: 'github', clientId: 'gh-client-1', clientSecretSet: true, pkce: true }]);
    assert.equal(c.oauth2.mappedFields.name, 'name');
    assert.deepEqual(c.emailTemplates.verification, { subject: 'Confirm your {APP_NAME} account', body: '<p>Token: {TOKEN}</p>' });
    assert.equal(c.emailTemplates.resetPassword, null, 'the others stay the default');

    // Reopened: the secret shows as set, never its value; a change of the client id keeps it.
    await open('/collections/users/edit');
    const again = page.getByRole('group', { name: 'OAuth2 provider github' });
    await again.getByText('A client secret is set').waitFor();
    assert.equal(await again.getByLabel('Replace client secret').inputValue(), '');
    assert.ok(!(await page.content()).includes('gh-secret-value-123'), 'the secret is not in the page');
    await again.getByLabel('Client ID').fill('gh-client-2');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();
    c = (await server.admin(q)).collection;
    assert.deepEqual(c.oauth2.providers, [{ name: 'github', clientId: 'gh-client-2', clientSecretSet: true, pkce: true }]);
    await shot(page, 'auth-options');
  });

  test('fits a phone: the menu opens the collections', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    watchOutside(phone, server.url, outside);
    await phone.goto(`${server.url}/_/`);
    await phone.evaluate((token) => localStorage.setItem('monobase.dashboard.token', token), server.adminToken);
    await phone.goto(`${server.url}/_/#/collections/users`);
    await phone.reload();
    await phone.getByRole('table', { name: 'Records of users' }).waitFor();
    const nav = phone.getByRole('navigation', { name: 'Collections' });
    assert.equal(await nav.isVisible(), false, 'the sidebar folds away on a phone');
    await phone.getByRole('button', { name: 'Menu' }).click();
    await nav.getByRole('link', { name: /^users\b/ }).waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await shot(phone, 'phone');
    await phone.close();
    assert.deepEqual(outside, [], 'the dashboard loaded nothing from outside the server');
  });
});
