import type { AuthorityDeps, RequestContext } from './deps.js';
import { register } from './register.js';
import { login, startSession } from './login.js';
import { refresh } from './refresh.js';
import { logout, type LogoutInput } from './logout.js';
import { authenticate } from './authenticate.js';
import { listSessions, revokeOwnSession } from './sessions.js';
import { changePassword, disableAccount, findUser, me, revokeAllForUser } from './account.js';
import type { UserRecord } from '../../ports/records.js';

/**
 * The session authority: every use case, bound to its dependencies.
 * No HTTP in here; each method lives in its own file.
 *
 * @example
 * const issued = await authority.login({ email, password }, { ip, userAgent });
 * await authority.logout({ refreshTokens: [issued.refreshToken], scope: 'session' }, ctx);
 */
export class Authority {
  constructor(readonly deps: AuthorityDeps) {}

  register(input: { email: unknown; password: unknown; name?: unknown }, ctx: RequestContext) {
    return register(this.deps, input, ctx);
  }
  login(input: { email: unknown; password: unknown }, ctx: RequestContext) {
    return login(this.deps, input, ctx);
  }
  /** Starts a session for a user you authenticated yourself (SSO, tests, benchmarks). */
  startSession(user: UserRecord, ctx: RequestContext) {
    return startSession(this.deps, user, ctx);
  }
  refresh(token: unknown, ctx: RequestContext) {
    return refresh(this.deps, token, ctx);
  }
  logout(input: LogoutInput, ctx: RequestContext) {
    return logout(this.deps, input, ctx);
  }
  authenticate(accessToken: string) {
    return authenticate(this.deps, accessToken);
  }
  me(userId: string) {
    return me(this.deps, userId);
  }
  listSessions(userId: string, currentSessionId: string | null) {
    return listSessions(this.deps, userId, currentSessionId);
  }
  revokeSession(userId: string, sessionId: string, ctx: RequestContext) {
    return revokeOwnSession(this.deps, userId, sessionId, ctx);
  }
  changePassword(userId: string, input: { currentPassword: unknown; newPassword: unknown }, ctx: RequestContext) {
    return changePassword(this.deps, userId, input, ctx);
  }
  disableAccount(email: string, ctx: RequestContext) {
    return disableAccount(this.deps, email, ctx);
  }
  revokeAllForUser(email: string, ctx: RequestContext) {
    return revokeAllForUser(this.deps, email, ctx);
  }
  findUser(email: string) {
    return findUser(this.deps, email);
  }
}
