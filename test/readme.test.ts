import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
import { startGateway, startServer, tempDir } from './helpers/server.js';
import { StubUpstream } from './helpers/stub-upstream.js';

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

async function runBlock(marker: string, url: string): Promise<string[]> {
  const text = readFileSync(README, 'utf8');
  const lines = new RegExp('```sh ' + marker + '\\n([\\s\\S]*?)```').exec(text)![1]!.trim().split('\n');
  const tmp = tempDir();
  try {
    const outputs: string[] = [];
    for (const line of lines) {
      const cmd = line.replaceAll('http://localhost:4000', url).replaceAll('http://127.0.0.1:4000', url);
      outputs.push((await run('bash', ['-c', cmd], { cwd: tmp.dir, encoding: 'utf8', timeout: 10_000 })).stdout);
    }
    return outputs;
  } finally {
    tmp.cleanup();
  }
}

for (const [profile, marker, loggedOut] of [
  ['judicial', 'judicial-walkthrough', '{"status":"success","message":"Sesión cerrada","data":null}'],
  ['crocante', 'crocante-walkthrough', '{"success":true}'],
] as const) {
  test(`the README ${profile} walk-through works verbatim against the stand-in upstream`, async () => {
    const up = await new StubUpstream().start();
    const gw = await startGateway(profile, up.url, { http: { rateLimiter: false } });
    try {
      const out = await runBlock(marker, gw.url);
      assert.match(out[0]!, /"status":"success"|"success":true/);
      assert.match(out[1]!, profile === 'judicial' ? /"access_token":"ey/ : /"authorization":"Bearer ey/);
      assert.equal(out[2], loggedOut);
    } finally {
      await gw.close();
      await up.down();
    }
  });
}
