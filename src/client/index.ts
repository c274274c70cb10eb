/**
 * latchkey/client: sign in, sign out and manage sessions from the browser.
 * No framework, no dependencies; the access token stays in memory.
 *
 * @example
 * import { createClient } from 'latchkey/client';
 * const auth = createClient({ profile: 'native' });
 * await auth.login({ email, password });
 * const { user } = await auth.me();
 * await auth.logout(); // always resolves; every tab of this origin signs out
 */
export { LatchkeyClient, createClient, SESSION_MODE_CHANGED } from './client.js';
export type { ClientOptions, SessionMode, SessionState, ChangeReason, SessionModeChangedDetail, LoginInput, RegisterInput, LogoutResult } from './client.js';
export { LatchkeyClientError, isLatchkeyClientError } from './errors.js';
export type { ClientErrorCode } from './errors.js';
export { profiles } from './profiles.js';
export type { ClientProfile, ClientSession, ClientUser, PresetName } from './profiles.js';
export { parseUserAgent } from './user-agent.js';
export type { UserAgentInfo } from './user-agent.js';
export type { CrossTabMode } from './cross-tab.js';
