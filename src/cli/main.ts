import { parseArgs } from 'node:util';
import { isLatchkeyError } from '../core/errors.js';
import { SERVE_SETTINGS, parseOptionsFor, resolveSettings, settingsHelp, type ServeConfig } from './config.js';
import { serve } from './serve.js';
import { audit, migrate, outboxList, outboxRetry, sessionsList, sessionsRevoke, stubUpstream, usersDisable } from './admin.js';

const DB = { db: SERVE_SETTINGS.db, redis: SERVE_SETTINGS.redis, redisPrefix: SERVE_SETTINGS.redisPrefix };

const HELP = `latchkey: sessions that end correctly

Usage:
  latchkey serve [options]                 run the HTTP service
  latchkey migrate [--db URL]              create or upgrade the schema
  latchkey audit [--db URL] [--json] [--user EMAIL] [--event NAME] [--limit N]
  latchkey sessions list --user EMAIL [--db URL]
  latchkey sessions revoke --user EMAIL [--db URL] [--redis URL]   end every session of a user (admin)
  latchkey users disable --user EMAIL [--db URL] [--redis URL]     disable an account; ends its sessions
  latchkey outbox list [--db URL] [--state pending|delivered|expired|all] [--json] [--limit N]
  latchkey outbox retry [--db URL] [--id ID …]       make owed upstream revocations due now
  latchkey stub-upstream [--port 5000]               a stand-in auth service for trying judicial/crocante

serve options (each also from its environment variable):
${settingsHelp(SERVE_SETTINGS)}
`;

type Out = (s: string) => void;

function parse(args: string[], extra: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>, settings: Record<string, any>) {
  const { values, positionals } = parseArgs({ args, options: { ...parseOptionsFor(settings), ...extra, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  return { values: values as Record<string, any>, positionals };
}

/** Runs the CLI; returns the exit code (serve keeps running and returns 0). */
export async function main(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out): Promise<number> {
  const [command, ...rest] = argv;
  // `latchkey migrate --help` prints the help; it must not migrate (nor audit create a database, nor a stub listen).
  if (command !== undefined && (rest.includes('--help') || rest.includes('-h'))) return out(HELP), 0;
  try {
    switch (command) {
      case 'serve': {
        const { values, positionals } = parse(rest, {}, SERVE_SETTINGS);
        if (values.help) return out(HELP), 0;
        if (positionals.length) throw usage(`serve takes no positional arguments (got ${positionals.join(' ')})`);
        await serve(resolveSettings(SERVE_SETTINGS, values, env) as ServeConfig, env);
        return 0;
      }
      case 'migrate': {
        const { values } = parse(rest, {}, DB);
        await migrate(resolveSettings(DB, values, env).db, out);
        return 0;
      }
      case 'audit': {
        const { values } = parse(rest, { json: { type: 'boolean' }, user: { type: 'string' }, event: { type: 'string' }, limit: { type: 'string' } }, DB);
        const limit = values.limit === undefined ? 100 : Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100000) throw usage(`--limit ${JSON.stringify(values.limit)} is not valid: expected an integer from 1 to 100000`);
        await audit(resolveSettings(DB, values, env), { user: values.user, event: values.event, limit, json: !!values.json }, out);
        return 0;
      }
      case 'sessions':
      case 'users': {
        const { values, positionals } = parse(rest, { user: { type: 'string' } }, DB);
        const sub = positionals[0];
        const allowed = command === 'sessions' ? ['list', 'revoke'] : ['disable'];
        if (!sub || !allowed.includes(sub)) throw usage(`latchkey ${command} needs one of: ${allowed.join(', ')}`);
        if (!values.user) throw usage(`latchkey ${command} ${sub} needs --user EMAIL`);
        const target = resolveSettings(DB, values, env);
        if (command === 'users') await usersDisable(target, values.user, out);
        else if (sub === 'list') await sessionsList(target, values.user, out);
        else await sessionsRevoke(target, values.user, out);
        return 0;
      }
      case 'outbox': {
        const { values, positionals } = parse(rest, { json: { type: 'boolean' }, state: { type: 'string' }, limit: { type: 'string' }, id: { type: 'string', multiple: true } }, DB);
        const sub = positionals[0];
        if (sub !== 'list' && sub !== 'retry') throw usage('latchkey outbox needs one of: list, retry');
        const db = resolveSettings(DB, values, env).db;
        if (sub === 'retry') {
          await outboxRetry(db, values.id?.length ? values.id : null, out);
          return 0;
        }
        const state = values.state ?? 'pending';
        if (!['pending', 'delivered', 'expired', 'all'].includes(state)) throw usage(`--state ${JSON.stringify(state)} is not valid: expected one of pending, delivered, expired, all`);
        const limit = values.limit === undefined ? 100 : Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100000) throw usage(`--limit ${JSON.stringify(values.limit)} is not valid: expected an integer from 1 to 100000`);
        await outboxList(db, { state, limit, json: !!values.json }, out);
        return 0;
      }
      case 'stub-upstream': {
        const PORT = { port: { ...SERVE_SETTINGS.port, default: '5000', env: 'STUB_PORT' } };
        const { values } = parse(rest, {}, PORT);
        await stubUpstream(resolveSettings(PORT, values, env).port, out);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(HELP);
        return command === undefined ? 2 : 0;
      default:
        throw usage(`unknown command ${JSON.stringify(command)}; expected serve, migrate, audit, sessions, users, outbox or stub-upstream`);
    }
  } catch (e) {
    if (isLatchkeyError(e)) {
      err(`latchkey: ${e.message}\n`);
      return e.code === 'UNSUPPORTED_PROFILE' ? 3 : 2;
    }
    if (e instanceof Error && 'code' in e && String((e as any).code).startsWith('ERR_PARSE_ARGS')) {
      err(`latchkey: ${e.message}\nRun "latchkey --help" for the accepted options.\n`);
      return 2;
    }
    throw e;
  }
}

class UsageError extends Error {}
function usage(message: string) {
  return Object.assign(new UsageError(message), { code: 'ERR_PARSE_ARGS_USAGE' });
}
