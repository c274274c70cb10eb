import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createLatchkey } from '../src/runtime/latchkey.js';
import { tempDir } from './helpers/server.js';
import { PASSWORD } from './helpers/client.js';

const ctx = { ip: null, userAgent: null };

test('a node starting after a revoke-all of more than 5000 sessions (one timestamp) catches up on every one, and does not hang', { timeout: 120_000 }, async () => {
  const tmp = tempDir();
  const db = `sqlite:${join(tmp.dir, 'big.db')}`;
  const a = await createLatchkey({ db });
  try {
    await a.authority.register({ email: 'big@example.com', password: PASSWORD }, ctx);
    const user = (await a.store.findUserByEmail('big@example.com'))!;
    const ids: string[] = [];
    for (let i = 0; i < 5200; i += 400) {
      ids.push(...(await Promise.all(Array.from({ length: Math.min(400, 5200 - i) }, () => a.authority.startSession(user, ctx)))).map((s) => s.sessionId));
    }
    assert.equal(await a.authority.revokeAllForUser('big@example.com', ctx), 5200);
    const b = await createLatchkey({ db });
    try {
      assert.ok(ids.every((id) => b.revocations.has(id)), 'every revoked session is known to the new node');
    } finally {
      await b.close();
    }
  } finally {
    await a.close();
    tmp.cleanup();
  }
});
