import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cryptoRandom } from '../src/core/clock.js';

test('the pooled CSPRNG never hands out the same bytes twice, across pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const b = cryptoRandom.bytes(i % 3 === 0 ? 32 : 16);
    assert.equal(b.length, i % 3 === 0 ? 32 : 16);
    const hex = b.toString('hex');
    assert.ok(!seen.has(hex), 'no repeats');
    seen.add(hex);
  }
  assert.equal(cryptoRandom.bytes(5000).length, 5000, 'large requests bypass the pool');
});

test('bytes handed out do not change when the pool is refilled', () => {
  const a = cryptoRandom.bytes(32);
  const copy = Buffer.from(a);
  for (let i = 0; i < 500; i++) cryptoRandom.bytes(64);
  assert.ok(a.equals(copy));
});
