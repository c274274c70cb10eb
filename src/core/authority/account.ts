import { LatchkeyError } from '../errors.js';
import { hashPassword, verifyPassword } from '../passwords.js';
import { auditEvent, revoked, type AuthorityDeps, type RequestContext } from './deps.js';
import { checkPassword, normaliseEmail } from './register.js';
import { publicUser, type PublicUser } from './issue.js';

export async function me(deps: AuthorityDeps, userId: string): Promise<PublicUser> {
  const user = await deps.store.findUserById(userId);
  if (!user) throw new LatchkeyError('INVALID_TOKEN', 'The account of this access token no longer exists.');
  return publicUser(user);
}

/** Changing the password ends every session of the user, access tokens included. */
export async function changePassword(deps: AuthorityDeps, userId: string, input: { currentPassword: unknown; newPassword: unknown }, ctx: RequestContext): Promise<number> {
  const next = checkPassword(input.newPassword, 'newPassword');
  const user = await deps.store.findUserById(userId);
  if (!user || typeof input.currentPassword !== 'string' || !(await verifyPassword(user.passwordHash, input.currentPassword))) {
    throw new LatchkeyError('INVALID_CREDENTIALS', 'The current password is incorrect.');
  }
  const ids = await deps.store.changePassword(userId, await hashPassword(next), deps.clock.now(), [auditEvent(deps, ctx, 'auth.password.changed', 'revoked', { userId })]);
  await revoked(deps, ids, 'password_changed');
  return ids.length;
}

async function userByEmail(deps: AuthorityDeps, email: string) {
  const user = await deps.store.findUserByEmail(normaliseEmail(email));
  if (!user) throw new LatchkeyError('NOT_FOUND', `No user with email ${JSON.stringify(email)}.`);
  return user;
}

/** Admin: disable an account; every session ends at once. */
export async function disableAccount(deps: AuthorityDeps, email: string, ctx: RequestContext): Promise<number> {
  const user = await userByEmail(deps, email);
  const ids = await deps.store.disableUser(user.id, deps.clock.now(), [auditEvent(deps, ctx, 'admin.account.disabled', 'revoked', { userId: user.id })]);
  await revoked(deps, ids, 'account_disabled');
  return ids.length;
}

/** Admin "revoke all": every session of the user ends at once. */
export async function revokeAllForUser(deps: AuthorityDeps, email: string, ctx: RequestContext): Promise<number> {
  const user = await userByEmail(deps, email);
  const ids = await deps.store.revokeUserSessions(user.id, 'admin', deps.clock.now(), [auditEvent(deps, ctx, 'admin.sessions.revoked', 'revoked', { userId: user.id })]);
  await revoked(deps, ids, 'admin');
  return ids.length;
}

export async function findUser(deps: AuthorityDeps, email: string): Promise<PublicUser> {
  return publicUser(await userByEmail(deps, email));
}
