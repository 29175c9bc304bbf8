// Reads `go test -json` from stdin, prints one line per package (ok/FAIL,
// with the output of each failing test and build errors), and appends the
// counts "passed failed" to the file named by argv[2].
import { appendFileSync } from 'node:fs';
import readline from 'node:readline';

const countsFile = process.argv[2];
let passed = 0;
let failed = 0;
const output = new Map(); // "pkg test" -> lines
const failedTests = [];
// Package-level lines printed as they come (ok, FAIL, no test files).
const summaryLine = /^(ok|FAIL|\?)\s/;

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  let ev;
  try {
    ev = JSON.parse(line);
  } catch {
    // Build errors arrive as plain text.
    if (line.trim()) console.log(line);
    continue;
  }
  const key = `${ev.Package} ${ev.Test ?? ''}`;
  switch (ev.Action) {
    case 'output':
      if (!output.has(key)) output.set(key, []);
      output.get(key).push(ev.Output);
      if (ev.Test === undefined && summaryLine.test(ev.Output ?? '')) {
        // package summary lines
        process.stdout.write(ev.Output);
      }
      break;
    case 'pass':
      if (ev.Test) passed++;
      output.delete(key);
      break;
    case 'fail':
      if (ev.Test) {
        // A parent fails with its subtests: count the failing leaves only.
        const parent = failedTests.some((k) => k.startsWith(`${key}/`));
        if (!parent) failed++;
        failedTests.push(key);
        if (!parent) process.stdout.write(`--- FAIL ${ev.Package} ${ev.Test}\n${(output.get(key) ?? []).join('')}`);
      } else if (!failedTests.some((k) => k.startsWith(ev.Package + ' '))) {
        // The package failed without a failing test (build error, panic in init, timeout).
        failed++;
        // Tests still running belong to the failure (a timeout panic is
        // reported in the output of the test that hung): show their tails.
        for (const [k, lines] of output) {
          if (k !== key && k.startsWith(`${ev.Package} `)) {
            process.stdout.write(`--- unfinished ${k}\n${lines.slice(-40).join('')}`);
          }
        }
        process.stdout.write((output.get(key) ?? []).filter((l) => !summaryLine.test(l)).join(''));
      }
      output.delete(key);
      break;
    case 'build-output':
      process.stdout.write(ev.Output ?? '');
      break;
    case 'skip':
      output.delete(key);
      break;
    default:
      break;
  }
}
if (countsFile) appendFileSync(countsFile, `${passed} ${failed}\n`);
console.log(`go test: ${passed} passed, ${failed} failed`);
