/**
 * SECURITY S10: the access JWT's algorithm is pinned, jku/jwk/x5u are ignored,
 * kid is only looked up, and exp/nbf/iss/aud/typ are checked — by Latchkey's
 * own endpoints and by the verifier its middleware uses.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHmac, createPublicKey } from 'node:crypto';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload } from 'jose';
import { startServer, type TestServer } from './helpers/server.js';
import { PROFILES, SPECS, login, meStatus, register, verifierRejects } from './helpers/security.js';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

for (const profile of PROFILES) {
  const spec = SPECS[profile];

  describe(`${profile}: access-token verification is strict (S10)`, () => {
    let s: TestServer;
    let realJwk: JWK & { kid: string; x: string };
    let publicJwk: JWK;
    let claims: JWTPayload;
    let jwksHits = 0;
    let jwksServer: Server;
    let jwksUrl = '';
    let attacker: { privateKey: CryptoKey; jwk: JWK };

    before(async () => {
      s = await startServer({ profile, http: { rateLimiter: false, docs: false } });
      const email = `jwt-${profile}@example.com`;
      await register(s, spec, email);
      const l = await login(s, spec, email);
      claims = decodeJwt(l.access);
      const stored = JSON.parse(await s.latchkey.store.getOrCreateSecret('access-signing-key', () => 'missing')) as { privateJwk: JWK; publicJwk: JWK };
      realJwk = stored.privateJwk as JWK & { kid: string; x: string };
      publicJwk = stored.publicJwk;
      const kp = await generateKeyPair('EdDSA', { extractable: true });
      attacker = { privateKey: kp.privateKey, jwk: { ...(await exportJWK(kp.publicKey)), kid: realJwk.kid, alg: 'EdDSA', use: 'sig' } };
      jwksServer = createServer((_req, res) => {
        jwksHits++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [attacker.jwk] }));
      });
      await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
      const addr = jwksServer.address();
      jwksUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/jwks.json`;
    });
    after(async () => {
      await new Promise<void>((r) => jwksServer.close(() => r()));
      await s.close();
    });

    const now = () => Math.floor(Date.now() / 1000);

    /** A token with the session's real claims, signed with the real key unless told otherwise. */
    async function forge(opts: { header?: Record<string, unknown>; claims?: Record<string, unknown>; omit?: string[]; key?: CryptoKey } = {}) {
      const payload: Record<string, unknown> = { ...claims, iat: now(), exp: now() + 300, ...opts.claims };
      for (const k of opts.omit ?? []) delete payload[k];
      const header = { alg: 'EdDSA', typ: 'at+jwt', kid: realJwk.kid, ...opts.header };
      const key = opts.key ?? ((await importJWK(realJwk, 'EdDSA')) as CryptoKey);
      return new SignJWT(payload as JWTPayload).setProtectedHeader(header as any).sign(key);
    }

    async function assertRejected(token: string, what: string) {
      const status = await meStatus(s, spec, token);
      assert.equal(status, 401, `${what}: /me answered ${status}`);
      assert.ok(await verifierRejects(s, token), `${what}: latchkey.verifier accepted it`);
    }

    test('control: a token built here with the real key and the real claims is accepted', async () => {
      const t = await forge();
      assert.equal(await meStatus(s, spec, t), 200);
      assert.equal(await verifierRejects(s, t), false);
    });

    test('alg "none" (unsigned) tokens are rejected', async () => {
      for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
        const t = `${b64({ alg, typ: 'at+jwt', kid: realJwk.kid })}.${b64({ ...claims, iat: now(), exp: now() + 300 })}.`;
        await assertRejected(t, `alg ${alg}`);
      }
    });

    test('HS256 tokens signed with the public key as the HMAC secret (alg confusion) are rejected', async () => {
      const spki = createPublicKey({ key: publicJwk as any, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
      const secrets: Array<[string, Buffer]> = [
        ['raw x bytes', Buffer.from(realJwk.x, 'base64url')],
        ['x as text', Buffer.from(realJwk.x)],
        ['public JWK JSON', Buffer.from(JSON.stringify(publicJwk))],
        ['SPKI PEM', Buffer.from(spki)],
      ];
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        for (const [label, secret] of secrets) {
          const body = `${b64({ alg, typ: 'at+jwt', kid: realJwk.kid })}.${b64({ ...claims, iat: now(), exp: now() + 300 })}`;
          const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg]!;
          const t = `${body}.${createHmac(hash, secret).update(body).digest('base64url')}`;
          await assertRejected(t, `${alg} keyed with ${label}`);
        }
      }
    });

    test('a token signed by another key or algorithm under the real kid is rejected', async () => {
      await assertRejected(await forge({ key: attacker.privateKey }), 'EdDSA with an attacker key');
      const ec = await generateKeyPair('ES256');
      await assertRejected(await forge({ header: { alg: 'ES256' }, key: ec.privateKey }), 'ES256 with an attacker key');
      const rsa = await generateKeyPair('RS256');
      await assertRejected(await forge({ header: { alg: 'RS256' }, key: rsa.privateKey }), 'RS256 with an attacker key');
    });

    test('wrong, missing or refresh-like typ headers are rejected', async () => {
      for (const typ of ['JWT', 'jwt', 'rt+jwt', 'application/jwt', 'at+jwt2', undefined]) {
        await assertRejected(await forge({ header: { typ } }), `typ ${String(typ)}`);
      }
    });

    test('wrong or missing iss and aud are rejected', async () => {
      await assertRejected(await forge({ claims: { iss: 'https://evil.example' } }), 'wrong iss');
      await assertRejected(await forge({ omit: ['iss'] }), 'missing iss');
      await assertRejected(await forge({ claims: { aud: 'another-service' } }), 'wrong aud');
      await assertRejected(await forge({ claims: { aud: ['another-service'] } }), 'wrong aud array');
      await assertRejected(await forge({ omit: ['aud'] }), 'missing aud');
    });

    test('expired, not-yet-valid, and exp-less tokens are rejected', async () => {
      await assertRejected(await forge({ claims: { iat: now() - 3600, exp: now() - 60 } }), 'expired a minute ago');
      await assertRejected(await forge({ claims: { nbf: now() + 600 } }), 'nbf ten minutes ahead');
      await assertRejected(await forge({ omit: ['exp'] }), 'no exp');
      await assertRejected(await forge({ claims: { exp: 'never' } }), 'non-numeric exp');
    });

    test('tokens missing sid or sub, or naming another user, are rejected', async () => {
      await assertRejected(await forge({ omit: ['sid'] }), 'no sid');
      await assertRejected(await forge({ omit: ['sub'] }), 'no sub');
      assert.equal(await meStatus(s, spec, await forge({ claims: { sub: 'another-user-id' } })), 401, 'sub not owning sid');
      assert.equal(await meStatus(s, spec, await forge({ claims: { sid: 'no-such-session' } })), 401, 'unknown sid');
    });

    test('an attacker key offered through jwk, jku or x5u headers is never used or fetched', async () => {
      jwksHits = 0;
      const k = attacker.privateKey;
      await assertRejected(await forge({ header: { jwk: attacker.jwk }, key: k }), 'embedded jwk');
      await assertRejected(await forge({ header: { jku: jwksUrl }, key: k }), 'jku');
      await assertRejected(await forge({ header: { x5u: jwksUrl }, key: k }), 'x5u');
      await assertRejected(await forge({ header: { jku: jwksUrl, jwk: attacker.jwk, x5u: jwksUrl, x5c: ['AAAA'] }, key: k }), 'all of them');
      assert.equal(jwksHits, 0, 'the key URL in jku/x5u was never fetched');
    });

    test('an unknown, missing or hostile kid is rejected with 401, never a 5xx', async () => {
      const kids: unknown[] = [undefined, '', 'unknown', realJwk.kid + 'x', '../../../../dev/null', '/etc/passwd', "' OR '1'='1", 'http://127.0.0.1:1/key', '%00', 'a'.repeat(2000), 42, null, { $ne: null }, [realJwk.kid]];
      for (const kid of kids) {
        await assertRejected(await forge({ header: { kid } }), `kid ${JSON.stringify(kid)?.slice(0, 30)}`);
      }
    });
  });
}
