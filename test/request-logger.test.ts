import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import pino from 'pino';
import { lazyRequestLogger } from '../src/http/request-logger.js';
import { REDACT_PATHS } from '../src/http/server.js';

/** A real pino logger writing JSON lines into memory, and a count of the children made from it. */
function memoryLogger(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const logger = pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, stream);
  let children = 0;
  // Counts every child() made from this logger or its children (pino children inherit from their parent).
  const child = logger.child;
  logger.child = function (this: typeof logger, ...args: Parameters<typeof child>) {
    children++;
    return child.apply(this, args);
  } as typeof logger.child;
  return { logger, lines, children: () => children };
}

test('a request logger becomes a pino child only when the request logs, and then carries the request id and redaction', async () => {
  const { logger, lines, children } = memoryLogger();
  const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }), childLoggerFactory: lazyRequestLogger });
  app.get('/quiet', async () => ({ ok: true }));
  app.get('/loud', async (req) => {
    req.log.warn({ headers: req.headers }, 'something odd');
    req.log.debug('below the level: not written');
    return { ok: true, level: req.log.level };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const made = children();
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${base}/quiet`)).status, 200);
    assert.equal(children(), made, 'requests that log nothing make no child logger');
    const loud = await fetch(`${base}/loud`, { headers: { cookie: 'refreshToken=secret-value' } });
    assert.deepEqual(await loud.json(), { ok: true, level: 'info' });
    assert.equal(children(), made + 1);
    const line = lines.find((l) => l.msg === 'something odd');
    assert.ok(line, JSON.stringify(lines));
    assert.equal(line.level, 40);
    assert.match(String(line.reqId), /^req-/, 'the line carries the request id');
    assert.equal((line.headers as { cookie: string }).cookie, '[redacted]');
    assert.ok(!JSON.stringify(lines).includes('secret-value'));
    assert.ok(!lines.some((l) => l.msg === 'below the level: not written'));
  } finally {
    await app.close();
  }
});

test('a request logger passes child(), level changes and every level method through to pino', () => {
  const { logger, lines } = memoryLogger('trace');
  const log = lazyRequestLogger(logger, { reqId: 'r1' }, {});
  assert.equal(log.level, 'trace');
  for (const m of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) log[m](`via ${m}`);
  assert.deepEqual(
    lines.map((l) => [l.msg, l.level, l.reqId]),
    [['via trace', 10, 'r1'], ['via debug', 20, 'r1'], ['via info', 30, 'r1'], ['via warn', 40, 'r1'], ['via error', 50, 'r1'], ['via fatal', 60, 'r1']],
  );
  log.child({ sub: 1 }).info('nested');
  assert.deepEqual([lines.at(-1)!.reqId, lines.at(-1)!.sub], ['r1', 1]);
  log.level = 'error';
  log.warn('now below the level');
  assert.equal(lines.at(-1)!.msg, 'nested');
  assert.equal(log.level, 'error');
  assert.equal(logger.level, 'trace', 'the parent keeps its level');
});
