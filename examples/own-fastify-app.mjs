// Mount Latchkey inside your own Fastify app and protect your own routes.
//   npm ci && node examples/own-fastify-app.mjs
import Fastify from 'fastify';
import { createLatchkey, latchkeyPlugin, nativeProfile, requireAccessToken } from 'latchkey';

const latchkey = await createLatchkey({ db: process.env.DATABASE_URL ?? 'sqlite:./.latchkey/example.db' });
const app = Fastify();

// Latchkey's routes (/auth/register, /auth/login, /auth/refresh, /auth/logout, …) in their own plugin scope.
await app.register(latchkeyPlugin(latchkey, { profile: nativeProfile }));

// Your route: 401 unless the access token is valid AND its session has not been logged out.
app.get('/api/notes', { preHandler: requireAccessToken(latchkey.verifier) }, async (req) => ({
  owner: req.auth.sub,
  session: req.auth.sid,
  notes: ['logout takes effect at once'],
}));

app.addHook('onClose', () => latchkey.close());
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => app.close().then(() => process.exit(0)));

await app.listen({ port: Number(process.env.PORT ?? 4001), host: '127.0.0.1' });
console.log(`example app listening on http://127.0.0.1:${app.server.address().port}`);
