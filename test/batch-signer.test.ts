import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { BatchSigner } from '../src/core/tokens/batch-signer.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const valid = (input: string, signature: string) => verify(null, Buffer.from(input), publicKey, Buffer.from(signature, 'base64url'));

test('signs on a worker thread in batches: every signature is the right one for its own input, beyond one batch', async () => {
  const signer = new BatchSigner(privateKey, 16);
  try {
    const inputs = Array.from({ length: 100 }, (_, i) => `header.payload-${i}-${'x'.repeat(i)}`);
    const signatures = await Promise.all(inputs.map((input) => signer.sign(input)));
    inputs.forEach((input, i) => assert.ok(valid(input, signatures[i]!), `signature ${i} verifies`));
    assert.ok(!valid(inputs[0]!, signatures[1]!), 'signatures are not interchangeable');
    assert.ok(signer['worker'], 'a worker thread did the signing');
  } finally {
    await signer.close();
  }
});

test('a worker that dies with batches in flight costs nothing: they are signed on the thread pool, and a new worker takes over', async () => {
  const signer = new BatchSigner(privateKey);
  try {
    await signer.sign('warm-up');
    const first = signer['worker']!;
    const inputs = Array.from({ length: 40 }, (_, i) => `in-flight-${i}`);
    const pending = inputs.map((input) => signer.sign(input));
    await new Promise((resolve) => setImmediate(resolve)); // the batch is posted to the worker
    await first.terminate();
    const signatures = await Promise.all(pending);
    inputs.forEach((input, i) => assert.ok(valid(input, signatures[i]!), `signature ${i} verifies`));
    assert.ok(valid('after', await signer.sign('after')));
    assert.ok(signer['worker'] && signer['worker'] !== first, 'a new worker signs later batches');
  } finally {
    await signer.close();
  }
});

test('close waits for the tokens being signed, stops the worker, and later signatures still come (from the thread pool)', async () => {
  const signer = new BatchSigner(privateKey);
  const pending = Array.from({ length: 10 }, (_, i) => signer.sign(`closing-${i}`));
  await signer.close();
  const signatures = await Promise.all(pending);
  signatures.forEach((s, i) => assert.ok(valid(`closing-${i}`, s)));
  assert.equal(signer['worker'], null);
  assert.ok(valid('late', await signer.sign('late')));
  assert.equal(signer['worker'], null, 'no worker is started after close');
});

test('an idle worker does not keep the process alive: a script that signs and never closes the signer ends by itself', async () => {
  const script = `
    import { generateKeyPairSync } from 'node:crypto';
    import { BatchSigner } from ${JSON.stringify(new URL('../src/core/tokens/batch-signer.js', import.meta.url).href)};
    const signer = new BatchSigner(generateKeyPairSync('ed25519').privateKey);
    console.log((await signer.sign('hello')).length);
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 15_000 });
  assert.equal(stdout.trim(), '86', 'it signed, then exited (before: the worker kept it running until the timeout killed it)');
});
