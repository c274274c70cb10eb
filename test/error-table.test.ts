import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_TABLE } from '../src/http/errors.js';

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
