// The graphql-http server audit (GraphQL over HTTP spec conformance) run
// against /graphql. A MUST audit that fails fails the test; SHOULD and MAY
// audits that fail are reported (as diagnostics and in
// e2e/artifacts/graphql-http-audit.json) without failing.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { serverAudits } from 'graphql-http';

import { startServer } from './harness.mjs';

const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'artifacts');

describe('graphql-http server audit on /graphql', () => {
  let server;
  const results = [];

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    const count = (s) => results.filter((r) => r.status === s).length;
    const summary = {
      total: results.length,
      ok: count('ok'),
      error: count('error'),
      warn: count('warn'),
      notice: count('notice'),
      failures: results.filter((r) => r.status !== 'ok'),
    };
    await mkdir(artifacts, { recursive: true });
    await writeFile(path.join(artifacts, 'graphql-http-audit.json'), JSON.stringify(summary, null, 2));
    console.log(
      `graphql-http audit: ${summary.ok} ok, ${summary.error} MUST failures, ` +
        `${summary.warn} SHOULD warnings, ${summary.notice} MAY notices (of ${summary.total})`,
    );
    await server?.stop();
  });

  // serverAudits needs the URL lazily: the server starts in before().
  for (const audit of serverAudits({ url: () => server.graphqlUrl, fetchFn: fetch })) {
    test(audit.name, async (t) => {
      const result = await audit.fn();
      const entry = { id: result.id, name: result.name, status: result.status };
      if (result.status !== 'ok') {
        entry.reason = result.reason;
        entry.httpStatus = result.response?.status;
        try {
          entry.body = await result.response?.clone().text();
        } catch {
          // body already consumed by the audit
        }
        t.diagnostic(`${result.status}: ${result.reason}`);
      }
      results.push(entry);
      assert.notEqual(result.status, 'error', `MUST audit failed: ${result.reason}`);
    });
  }
});
