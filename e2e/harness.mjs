// Test harness: builds the real monobase binary, creates a superuser with
// the CLI, starts `monobase serve` on a free loopback port in a temporary
// data folder, and talks to it over HTTP.
//
// MONOBASE_BIN=/path/to/monobase skips the build (scripts/test.sh builds once).
// startServer({ s3: true }) stores the files in a bucket of a real S3
// protocol server (internal/s3test/fakes3, built once per process, or
// FAKES3_BIN=/path/to/fakes3).
// MONOBASE_TEST_DB=postgres://... runs every server on PostgreSQL: each
// gets `--db` with a fresh search_path schema (Monobase creates it on
// open; stop() drops it with psql). scripts/test.sh sets it for its
// second pass.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'admin-password-1';

let binPromise;

/** Returns the path of a monobase binary, building it once per process. */
export function monobaseBinary() {
  if (process.env.MONOBASE_BIN) return Promise.resolve(process.env.MONOBASE_BIN);
  binPromise ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'monobase-bin-'));
    const bin = path.join(dir, 'monobase');
    await run('go', ['build', '-o', bin, './cmd/monobase'], { cwd: repoRoot, maxBuffer: 16 << 20 });
    return bin;
  })();
  return binPromise;
}

/**
 * Returns the `--db` flags of a new server: [] on SQLite (the default), or
 * ['--db', url] with a fresh schema when MONOBASE_TEST_DB names a
 * PostgreSQL server. dropDatabase(flags) removes that schema again.
 */
export function databaseArgs() {
  const base = process.env.MONOBASE_TEST_DB ?? '';
  if (!base.startsWith('postgres')) return [];
  const u = new URL(base);
  u.searchParams.set('search_path', `e2e_${randomBytes(6).toString('hex')}`);
  return ['--db', u.toString()];
}

/** Drops the schema of databaseArgs' flags (nothing on SQLite). */
export async function dropDatabase(flags) {
  if (flags.length < 2) return;
  const u = new URL(flags[1]);
  const schema = u.searchParams.get('search_path');
  u.searchParams.delete('search_path');
  try {
    await run('psql', [u.toString(), '-qAtc', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`]);
  } catch (err) {
    console.error(`drop schema ${schema}: ${err.message}`);
  }
}

let fakes3Promise;

/** Returns the path of the fakes3 binary, building it once per process. */
export function fakes3Binary() {
  if (process.env.FAKES3_BIN) return Promise.resolve(process.env.FAKES3_BIN);
  fakes3Promise ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'monobase-fakes3-'));
    const bin = path.join(dir, 'fakes3');
    await run('go', ['build', '-o', bin, './internal/s3test/fakes3'], { cwd: repoRoot, maxBuffer: 16 << 20 });
    return bin;
  })();
  return fakes3Promise;
}

/**
 * Starts a real S3 protocol server (objects in memory) on a free loopback
 * port with one bucket. Returns { url, bucket, settings, keys(), stop() }:
 * settings is the S3SettingsInput of the bucket, keys() lists the bucket's
 * object keys (the fake server answers unsigned requests).
 */
export async function startFakeS3(bucket = 'files') {
  const bin = await fakes3Binary();
  const child = spawn(bin, ['-bucket', bucket], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (b) => { errors += b; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`fakes3 printed no URL: ${errors}`)), 20_000);
    child.stdout.on('data', (b) => {
      out += b;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl).trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fakes3 exited (${code}): ${errors}`));
    });
  });
  return {
    url,
    bucket,
    settings: {
      enabled: true, bucket, region: 'us-east-1', endpoint: url,
      accessKey: 'monobase-test', secret: 'monobase-test-secret', forcePathStyle: true,
    },
    async keys() {
      const res = await fetch(`${url}/${bucket}?list-type=2&max-keys=1000`);
      if (!res.ok) throw new Error(`list bucket ${bucket}: ${res.status} ${await res.text()}`);
      const xml = await res.text();
      return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]).sort();
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Lists the keys ("collectionId/recordId/name", thumbnails too) under a local storage folder. */
async function localKeys(root) {
  let entries;
  try {
    entries = await readdir(root, { recursive: true, withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath ?? e.path, e.name)).split(path.sep).join('/'))
    .filter((k) => !k.startsWith('.'))
    .sort();
}

/** Returns a TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a server in a fresh data folder with a superuser; opts.args are
 * more `serve` flags (e.g. ['--dev']); opts.rateLimits keeps the rate limits on;
 * opts.s3 stores the files in a bucket of a fake S3 server started for it
 * (settings.s3 set through updateSettings, as an operator would).
 * Returns { url, graphqlUrl, adminUrl, wsUrl, adminToken, backend, s3,
 * storedKeys(), admin(), gql(), stop(), logs() }: backend is 's3' or
 * 'local', storedKeys() lists the stored objects of the backend in use.
 *
 * Every request of the suite comes from 127.0.0.1, so the rate limit rules
 * (settings.rateLimits, on by default: 2 sign-ins per 3 s, 20 creates per
 * 5 s, 300 requests to /graphql per 10 s) are switched off through
 * updateSettings, as an operator would; { rateLimits: true } keeps the
 * defaults.
 */
export async function startServer(opts = {}) {
  const bin = await monobaseBinary();
  const s3 = opts.s3 ? await startFakeS3() : undefined;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'monobase-e2e-'));
  const dbArgs = databaseArgs();
  await run(bin, [...dbArgs, 'superuser', 'upsert', ADMIN_EMAIL, ADMIN_PASSWORD, '--dir', dir]);

  let child;
  let url;
  let output = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(bin, [...dbArgs, 'serve', '--http', `127.0.0.1:${port}`, '--dir', dir, ...(opts.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    output = '';
    child.stdout.on('data', (b) => { output += b; });
    child.stderr.on('data', (b) => { output += b; });
    if (await waitHealthy(url, child, 20_000)) break;
    child.kill('SIGKILL');
    child = undefined;
  }
  if (!child) {
    await s3?.stop();
    await dropDatabase(dbArgs);
    throw new Error(`monobase serve did not become healthy:\n${output}`);
  }

  const server = {
    dir,
    dbArgs,
    url,
    graphqlUrl: `${url}/graphql`,
    adminUrl: `${url}/graphql/admin`,
    wsUrl: `${url.replace(/^http/, 'ws')}/graphql`,
    adminToken: '',
    backend: s3 ? 's3' : 'local',
    s3,
    logs: () => output,
    /** Lists the stored object keys on the backend in use. */
    storedKeys: () => (s3 ? s3.keys() : localKeys(path.join(dir, 'storage'))),
    /** POSTs a GraphQL request; returns { status, body }. */
    async post(endpoint, query, variables, token) {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      let body;
      try { body = JSON.parse(text); } catch { body = { raw: text }; }
      return { status: res.status, body };
    },
    /** Runs an admin API operation as the superuser; throws on errors. */
    async admin(query, variables) {
      const { status, body } = await server.post(server.adminUrl, query, variables, server.adminToken);
      if (body.errors?.length || status >= 400) {
        throw new Error(`admin API ${status}: ${JSON.stringify(body)}`);
      }
      return body.data;
    },
    /** Runs an application API operation; returns the whole response body. */
    async gql(query, variables, token) {
      return (await server.post(server.graphqlUrl, query, variables, token)).body;
    },
    /** Stops the server with SIGTERM (graceful) and removes the data folder. */
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      await s3?.stop();
      await dropDatabase(dbArgs);
      await rm(dir, { recursive: true, force: true });
    },
  };

  const { body } = await server.post(
    server.adminUrl,
    'mutation($e: String!, $p: String!) { authWithPassword(email: $e, password: $p) { token } }',
    { e: ADMIN_EMAIL, p: ADMIN_PASSWORD },
  );
  server.adminToken = body?.data?.authWithPassword?.token ?? '';
  if (!server.adminToken) {
    await server.stop();
    throw new Error(`superuser sign-in failed: ${JSON.stringify(body)}`);
  }
  if (!opts.rateLimits) {
    await server.admin('mutation { updateSettings(input: {rateLimits: {enabled: false}}) { rateLimits { enabled } } }');
  }
  if (s3) {
    const data = await server.admin(
      'mutation($s: S3SettingsInput!) { updateSettings(input: {s3: $s}) { s3 { enabled bucket } } }',
      { s: s3.settings },
    );
    if (!data.updateSettings.s3.enabled) throw new Error(`settings.s3 not enabled: ${JSON.stringify(data)}`);
  }
  return server;
}

async function waitHealthy(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * The collections the client tests share: public authors and posts
 * (author relation, select, number, bool) and docs with a file field.
 */
export async function createFixtureCollections(server) {
  await server.admin(`mutation {
    createCollection(input: {
      name: "authors", listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
      fields: [{name: "name", type: TEXT, required: true, max: 100}]
    }) { id }
  }`);
  await server.admin(`mutation {
    createCollection(input: {
      name: "posts", listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
      fields: [
        {name: "title", type: TEXT, required: true, min: 3, max: 200},
        {name: "views", type: NUMBER, onlyInt: true, min: 0},
        {name: "published", type: BOOL},
        {name: "status", type: SELECT, values: ["draft", "live"], maxSelect: 1},
        {name: "author", type: RELATION, collection: "authors", maxSelect: 1}
      ]
    }) { id }
  }`);
  await server.admin(`mutation {
    createCollection(input: {
      name: "docs", listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
      fields: [
        {name: "title", type: TEXT, required: true},
        {name: "attachment", type: FILE, maxSelect: 1, maxSize: 1048576}
      ]
    }) { id }
  }`);
}
