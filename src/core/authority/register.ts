import { LatchkeyError } from '../errors.js';
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN } from '../passwords.js';
import { auditEvent, newId, type AuthorityDeps, type RequestContext } from './deps.js';
import { publicUser, type PublicUser } from './issue.js';

const EMAIL = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]{1,255}\.[^\s@\p{Cc}]{1,63}$/u;

export function normaliseEmail(raw: unknown): string {
  if (typeof raw !== 'string') throw new LatchkeyError('INVALID_INPUT', 'email is required and must be a string.', { field: 'email' });
  const email = raw.trim().toLowerCase();
  if (email.length > 320 || !EMAIL.test(email)) {
    throw new LatchkeyError('INVALID_INPUT', 'email must be an address like name@example.com.', { field: 'email' });
  }
  return email;
}

export function checkPassword(raw: unknown, field = 'password'): string {
  if (typeof raw !== 'string' || raw.length < PASSWORD_MIN || raw.length > PASSWORD_MAX) {
    throw new LatchkeyError('INVALID_INPUT', `${field} must be a string of ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`, { field });
  }
  return raw;
}

export async function register(deps: AuthorityDeps, input: { email: unknown; password: unknown; name?: unknown }, ctx: RequestContext): Promise<PublicUser> {
  const email = normaliseEmail(input.email);
  const password = checkPassword(input.password);
  if (input.name !== undefined && input.name !== null && (typeof input.name !== 'string' || input.name.length > 200 || /\p{Cc}/u.test(input.name))) {
    throw new LatchkeyError('INVALID_INPUT', 'name must be a string of at most 200 characters, without control characters.', { field: 'name' });
  }
  if (await deps.store.findUserByEmail(email)) {
    throw new LatchkeyError('EMAIL_TAKEN', 'An account with this email already exists. Sign in instead.');
  }
  const user = {
    id: newId(deps),
    email,
    name: (input.name as string | undefined)?.trim() || null,
    passwordHash: await hashPassword(password),
    createdAt: deps.clock.now(),
    disabledAt: null,
  };
  try {
    await deps.store.createUser(user, [auditEvent(deps, ctx, 'auth.register', 'success', { userId: user.id })]);
  } catch (err) {
    // Two registrations raced past the check above: the unique index decides.
    if (await deps.store.findUserByEmail(email)) throw new LatchkeyError('EMAIL_TAKEN', 'An account with this email already exists. Sign in instead.');
    throw err;
  }
  return publicUser(user);
}
