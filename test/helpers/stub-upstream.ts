export { StubUpstream, fakeJwt, type Mode, type Received } from '../../src/dev/stub-upstream.js';

/** Polls `check` until true or the deadline (bounded waiting for asynchronous delivery). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
