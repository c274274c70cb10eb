import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
import { startServer, tempDir } from './helpers/server.js';

const README = new URL('../../README.md', import.meta.url);

test('the README starts with the run command and the test command', () => {
  const text = readFileSync(README, 'utf8');
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(text)![1]!;
  assert.match(firstBlock, /^npm start/m);
  assert.match(firstBlock, /^npm test/m);
});

test('the README curl walk-through works verbatim and ends in 401', async () => {
  const text = readFileSync(README, 'utf8');
  const lines = /```sh walkthrough\n([\s\S]*?)```/.exec(text)![1]!.trim().split('\n');
  const s = await startServer({ http: { rateLimiter: false } });
  const tmp = tempDir();
  try {
    // The server runs in this process, so the shell commands must not block the event loop.
    const outputs: string[] = [];
    for (const line of lines) {
      outputs.push((await run('bash', ['-c', line.replaceAll('http://127.0.0.1:4000', s.url)], { cwd: tmp.dir, encoding: 'utf8', timeout: 10_000 })).stdout);
    }
    assert.match(outputs[0]!, /"user":\{"id"/);
    assert.match(outputs[1]!, /"accessToken":"eyJ/);
    assert.match(outputs[2]!, /"accessToken":"eyJ/);
    assert.equal(outputs[4], '{"loggedOut":true,"scope":"session","revokedSessions":1}');
    assert.match(outputs[5]!, /"status":401/);
  } finally {
    tmp.cleanup();
    await s.close();
  }
});
