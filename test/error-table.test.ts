import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_TABLE, HttpProblem } from '../src/http/errors.js';

test('every error code in the table is documented in the README with its status, and nothing else is', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split('## Error codes')[1]!.split('\n## ')[0]!;
  const documented = new Map([...section.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.deepEqual([...documented.keys()].sort(), Object.keys(ERROR_TABLE).sort());
  for (const [code, { status }] of Object.entries(ERROR_TABLE)) assert.equal(documented.get(code), status, code);
});

test('error statuses are client errors except start-up, upstream and internal ones', () => {
  for (const [code, { status }] of Object.entries(ERROR_TABLE)) {
    if (code === 'UPSTREAM_UNAVAILABLE') assert.equal(status, 502);
    else if (code === 'STORE_UNAVAILABLE') assert.equal(status, 503);
    else if (['UNSUPPORTED_PROFILE', 'CONFIG_INVALID', 'INTERNAL'].includes(code)) assert.equal(status, 500);
    else assert.ok(status >= 400 && status < 500, code);
  }
});

test('an HttpProblem is an answer, not a fault: it captures no stack trace, and leaves the stack limit as it was', () => {
  const before = Error.stackTraceLimit;
  const p = new HttpProblem('RATE_LIMITED', 'Too many requests.', { 'retry-after': '3' });
  assert.equal(Error.stackTraceLimit, before);
  assert.doesNotMatch(p.stack ?? '', /\n\s+at /, 'no frames');
  assert.equal(p.status, 429);
  assert.equal(p.code, 'RATE_LIMITED');
  assert.deepEqual(p.headers, { 'retry-after': '3' });
  assert.ok(p instanceof Error);
  assert.match(new Error('x').stack ?? '', /\n\s+at /, 'other errors still have frames');
});
