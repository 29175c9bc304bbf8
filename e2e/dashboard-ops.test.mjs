// The dashboard's settings, logs and backups screens (/_/#/settings, #/logs,
// #/backups) in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core), against the real binary with its files on a real S3
// protocol server (fakes3) and a real SMTP server (the smtp-server
// package): settings saved and kept after a reload, field errors by their
// fields, the S3 test passing and failing, a test email arriving; request
// logs in the table and the chart, a filter error inline, an entry's data;
// backups created, listed, downloaded (a zip), uploaded, restored and
// deleted. Screenshots go to e2e/artifacts/dashboard-{settings,logs,backups}*.png.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { ADMIN_EMAIL, ADMIN_PASSWORD, startServer } from './harness.mjs';
import { startSmtp } from './smtp.mjs';

const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'artifacts');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `dashboard-${name}.png`), fullPage: true });

describe('dashboard settings, logs and backups in a browser', () => {
  let server;
  let smtp;
  let browser;
  let page;
  let tmp;
  const outside = [];
  const pageErrors = [];
  /** The .field (label, input, message) whose label is label. */
  const field = (label) => page.locator('.field').filter({ has: page.getByLabel(label, { exact: true }) });
  /** A link of the sidebar, and a tab of the settings screen. */
  const nav = (name) => page.locator('#sidebar').getByRole('link', { name, exact: true });
  const tab = (name) => page.locator('nav[aria-label="Settings"]').getByRole('link', { name, exact: true });

  before(async () => {
    assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath} (scripts/test.sh installs it)`);
    await mkdir(artifacts, { recursive: true });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'monobase-dash-ops-'));
    smtp = await startSmtp();
    server = await startServer({ s3: true });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('request', (req) => {
      const u = new URL(req.url());
      if (u.origin !== server.url && u.protocol !== 'data:' && u.protocol !== 'blob:') outside.push(req.url());
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${server.url}/_/`);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await nav('Settings').waitFor();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await smtp?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('settings: the application name is saved and kept after a reload', async () => {
    await nav('Settings').click();
    const name = page.getByLabel('Application name');
    await name.waitFor();
    assert.equal(await name.inputValue(), 'Monobase');
    await name.fill('Dashboard E2E');
    await page.getByRole('button', { name: 'Save application settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await page.reload();
    await page.getByLabel('Application name').waitFor();
    assert.equal(await page.getByLabel('Application name').inputValue(), 'Dashboard E2E');
    const stored = await server.admin('{ settings { meta { appName } } }');
    assert.equal(stored.settings.meta.appName, 'Dashboard E2E');
    await shot(page, 'settings');
  });

  test('settings: an invalid value shows its message by its field and nothing is saved', async () => {
    await tab('Mail').click();
    const port = page.getByLabel('SMTP port');
    await port.waitFor();
    await port.fill('99999');
    await page.getByRole('button', { name: 'Save mail settings' }).click();
    const portField = field('SMTP port');
    await portField.locator('.error-text').waitFor();
    assert.match(await portField.locator('.error-text').innerText(), /between 1 and 65535/);
    assert.equal(await port.getAttribute('aria-invalid'), 'true');
    assert.equal((await server.admin('{ settings { smtp { port } } }')).settings.smtp.port, 587);

    await tab('File storage').click();
    const endpoint = page.getByLabel('S3 endpoint');
    await endpoint.waitFor();
    assert.equal(await endpoint.inputValue(), server.s3.url);
    await endpoint.fill('ftp://nowhere');
    await page.getByRole('button', { name: 'Save file storage settings' }).click();
    const epField = field('S3 endpoint');
    await epField.locator('.error-text').waitFor();
    assert.match(await epField.locator('.error-text').innerText(), /https:\/\/ or http:\/\//);
    assert.equal((await server.admin('{ settings { s3 { endpoint } } }')).settings.s3.endpoint, server.s3.url);
  });

  test('settings: Test S3 connection passes on the real bucket and fails on a missing one', async () => {
    await tab('File storage').click();
    await page.reload(); // drop the bad endpoint typed above
    await page.getByLabel('S3 endpoint').waitFor();
    await page.getByRole('button', { name: 'Test S3 connection' }).click();
    await page.getByRole('status').filter({ hasText: 'The S3 connection works' }).waitFor();

    // The backups bucket: the same server, a bucket that does not exist.
    await tab('Backups').click();
    const form = page.getByRole('form', { name: 'Backup settings' });
    await form.getByLabel('Store backups in S3').check();
    await form.getByLabel('S3 endpoint').fill(server.s3.url);
    await form.getByLabel('S3 bucket').fill('no-such-bucket');
    await form.getByLabel('S3 region').fill('us-east-1');
    await form.getByLabel('S3 access key').fill('monobase-test');
    await form.getByLabel('S3 secret').fill('monobase-test-secret');
    await form.getByLabel(/Force path-style/).check();
    await form.getByRole('button', { name: 'Save backup settings' }).click();
    await form.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    assert.match(await form.getByText('A secret is set').innerText(), /leave blank to keep it/);
    await form.getByRole('button', { name: 'Test backups S3 connection' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /the S3 test for backups failed/);
    assert.match(await alert.innerText(), /no-such-bucket|NoSuchBucket|bucket/i);
    assert.doesNotMatch(await alert.innerText(), /monobase-test-secret/);
    await shot(page, 'settings-backups');

    // Back to local backups for the backups test below.
    await form.getByLabel('Store backups in S3').uncheck();
    await form.getByRole('button', { name: 'Save backup settings' }).click();
    await form.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    assert.equal((await server.admin('{ settings { backups { s3 { enabled bucket } } } }')).settings.backups.s3.enabled, false);
  });

  test('settings: Send test email delivers through the real SMTP server', async () => {
    await tab('Mail').click();
    await page.getByLabel('SMTP host').waitFor();
    await page.getByLabel('Send emails through SMTP').check();
    await page.getByLabel('SMTP host').fill('127.0.0.1');
    await page.getByLabel('SMTP port').fill(String(smtp.port));
    await page.getByRole('button', { name: 'Save mail settings' }).click();
    await page.getByRole('form', { name: 'Mail settings' }).getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

    await page.getByLabel('Send test email to').fill('someone@example.com');
    await page.getByLabel('Email template').selectOption('RESET_PASSWORD');
    await page.getByRole('button', { name: 'Send test email' }).click();
    await page.getByRole('status').filter({ hasText: 'Test email sent to someone@example.com.' }).waitFor();
    const msg = await smtp.next();
    assert.deepEqual(msg.to, ['someone@example.com']);
    assert.match(msg.raw, /Dashboard E2E/); // the application name saved above
    await shot(page, 'settings-mail');

    // A server that refuses: the error comes back to the page.
    await page.getByLabel('Send emails through SMTP').uncheck();
    await page.getByRole('button', { name: 'Save mail settings' }).click();
    await page.getByRole('form', { name: 'Mail settings' }).getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await page.getByRole('button', { name: 'Send test email' }).click();
    const alert = page.getByRole('form', { name: 'Test email' }).getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /not enabled/);
    assert.equal(smtp.pending(), 0);
  });

  test('logs: requests show in the table and the chart, a bad filter is shown inline, a row shows its data', async () => {
    const marker = await server.gql('query DashOpsMarker { __typename }');
    assert.equal(marker.data.__typename, 'Query');
    await nav('Logs').click();
    const table = page.getByRole('table', { name: 'Log entries' });
    await table.locator('tbody tr').first().waitFor();
    await table.getByText('POST /graphql/admin').first().waitFor();

    const bars = page.locator('figure.chart svg rect.bar');
    await bars.first().waitFor();
    const counts = await bars.evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-count'))));
    const total = counts.reduce((a, b) => a + b, 0);
    assert.ok(total >= 5, `the chart counts the requests made (${counts})`);
    const height = await bars.first().evaluate((r) => r.getBoundingClientRect().height);
    assert.ok(height > 10, `the bar has a height (${height})`);

    await page.getByLabel('Filter').fill('data.status >>');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    const f = field('Filter');
    await f.locator('.error-text').waitFor();
    assert.match(await f.locator('.error-text').innerText(), /unexpected.*position 14/);
    assert.match(await page.locator('pre.caret').innerText(), /\^/);

    await page.getByLabel('Filter').fill("data.operation ~ 'DashOpsMarker'");
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await f.locator('.error-text').waitFor({ state: 'detached' });
    await page.getByRole('status').filter({ hasText: '1 entries' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Log entries"] tbody tr').length === 1);
    assert.match(await table.locator('tbody tr').innerText(), /POST \/graphql\b/);
    await table.locator('tbody tr').first().click();
    const data = page.getByLabel('Log entry data');
    await data.waitFor();
    const json = JSON.parse(await data.innerText());
    assert.equal(json.status, 200);
    assert.match(json.operation, /DashOpsMarker/);

    await page.getByLabel('Filter').fill('');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.getByRole('status').filter({ hasText: /\d\d+ entries/ }).waitFor();
    await table.locator('tbody tr').filter({ hasText: 'DashOpsMarker' }).click();
    await page.getByRole('heading', { name: /Log entry/ }).waitFor();
    await shot(page, 'logs');
  });

  test('backups: create, list, download, upload, restore and delete', async () => {
    await nav('Backups').click();
    await page.getByText('No backups yet.').waitFor();
    await page.getByLabel('Backup name (optional)').fill('Bad Name');
    await page.getByRole('button', { name: 'Create backup' }).click();
    const nameField = field('Backup name (optional)');
    await nameField.locator('.error-text').waitFor();
    assert.match(await nameField.locator('.error-text').innerText(), /lowercase/);

    await page.getByLabel('Backup name (optional)').fill('e2e-one.zip');
    await page.getByRole('button', { name: 'Create backup' }).click();
    await page.getByRole('status').filter({ hasText: 'Created e2e-one.zip' }).waitFor();
    const table = page.getByRole('table', { name: 'Backups' });
    const row = table.locator('tr').filter({ hasText: 'e2e-one.zip' });
    await row.waitFor();
    assert.match(await row.innerText(), /\d+(\.\d)? (B|KB|MB)/);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download e2e-one.zip' }).click(),
    ]);
    const saved = path.join(tmp, 'e2e-upload.zip');
    await download.saveAs(saved);
    const bytes = await readFile(saved);
    assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK');
    assert.ok(bytes.length > 100);

    // Upload: a copy under another name is kept; a file that is no zip is refused by its field.
    await page.getByLabel('Backup file (.zip)').setInputFiles(saved);
    await page.getByRole('button', { name: 'Upload backup' }).click();
    await page.getByRole('status').filter({ hasText: 'Uploaded e2e-upload.zip' }).waitFor();
    await table.locator('tr').filter({ hasText: 'e2e-upload.zip' }).waitFor();
    const bad = path.join(tmp, 'bad.zip');
    await writeFile(bad, 'not a zip');
    await page.getByLabel('Backup file (.zip)').setInputFiles(bad);
    await page.getByRole('button', { name: 'Upload backup' }).click();
    await page.locator('.field').filter({ hasText: 'Backup file' }).locator('.error-text').filter({ hasText: 'not a Monobase backup' }).waitFor();

    // Restore: after a change, the backup brings the application name back.
    await server.admin('mutation { updateSettings(input: {meta: {appName: "Changed after backup"}}) { meta { appName } } }');
    await page.getByRole('button', { name: 'Restore e2e-one.zip' }).click();
    await page.getByRole('alertdialog', { name: 'Confirm restore' }).waitFor();
    await page.getByRole('button', { name: 'Yes, restore e2e-one.zip' }).click();
    await page.getByRole('status').filter({ hasText: 'Restored e2e-one.zip' }).waitFor();
    const restored = await server.admin('{ settings { meta { appName } } }');
    assert.equal(restored.settings.meta.appName, 'Dashboard E2E');

    await page.getByRole('button', { name: 'Delete e2e-upload.zip' }).click();
    await shot(page, 'backups');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('alertdialog').waitFor({ state: 'detached' });
    for (const n of ['e2e-upload.zip', 'e2e-one.zip']) {
      await page.getByRole('button', { name: `Delete ${n}` }).click();
      await page.getByRole('button', { name: `Yes, delete ${n}` }).click();
      await page.getByRole('status').filter({ hasText: `Deleted ${n}.` }).waitFor();
      await table.locator('tr').filter({ hasText: n }).waitFor({ state: 'detached' });
    }
    assert.deepEqual((await server.admin('{ backups { name } }')).backups, []);
  });

  test('phone width: the screens fit 390 px', async () => {
    await server.admin('mutation { createBackup(name: "phone.zip") { name } }');
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [route, name] of [['#/logs', 'logs'], ['#/settings/mail', 'settings'], ['#/backups', 'backups'], ['#/settings/limits', 'settings-limits']]) {
      await page.goto(`${server.url}/_/${route}`);
      await page.locator('main h1').waitFor();
      if (name === 'backups') await page.getByRole('button', { name: 'Download phone.zip' }).waitFor();
      if (name === 'logs') await page.locator('figure.chart rect.bar').first().waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${route} is wider than the phone (${overflow} px)`);
      await page.screenshot({ path: path.join(artifacts, `dashboard-${name}-phone.png`), fullPage: name === 'settings-limits' });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('nothing came from outside the server and the page raised no errors', () => {
    assert.deepEqual(outside, []);
    assert.deepEqual(pageErrors, []);
  });
});
