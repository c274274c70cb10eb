import { BIORE_PATHS, NATIVE_PATHS } from '../wire/paths.js';

/** A signed-in user as the client reports it, whatever the profile's wire format. */
export interface ClientUser {
  id: string;
  email: string;
  name: string | null;
  createdAt: string;
}

/** One active session of the signed-in user. */
export interface ClientSession {
  id: string;
  /** This browser's session. */
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
}

/**
 * How the client talks to one server: paths (null = not offered), envelopes,
 * and how a session is held. Presets: `native`, `biore`, `crocante`; spread one
 * to adapt it (`{ ...profiles.native, paths: { ...profiles.native.paths, login: '/x' } }`).
 */
export interface ClientProfile {
  name: string;
  paths: {
    register: string | null;
    login: string;
    refresh: string | null;
    logout: string;
    /** A dedicated "sign out everywhere" endpoint (biore `logout-all`), or null. */
    logoutAll: string | null;
    me: string | null;
    sessions: string | null;
    /** One session, with `:id` in it. */
    session: string | null;
  };
  /** `plain`: the body is the data, errors are problem+json. `success-data`: `{success, data}` / `{success:false, error:{code,message}}`. */
  envelope: 'plain' | 'success-data';
  /**
   * `token`: login returns an access token (kept in memory only) and a refresh cookie.
   * `cookie`: the server keeps the session in an HttpOnly cookie; no token reaches the browser.
   */
  session: 'token' | 'cookie';
  /** `scope`: logout with `{scope:'others'}`; `revoke-each`: list sessions and end every other one; null: unsupported. */
  logoutOthers: 'scope' | 'revoke-each' | null;
  /** `scope`: logout with `{scope:'all'}`; `endpoint`: POST `paths.logoutAll`; null: unsupported. */
  logoutEverywhere: 'scope' | 'endpoint' | null;
  /** Reads `me` data (after the envelope) into a user and, when known, the session id. */
  readMe(data: unknown): { user: ClientUser; sessionId: string | null };
  /** Reads `sessions` data (after the envelope) into a list. */
  readSessions(data: unknown): ClientSession[];
}

export type PresetName = 'native' | 'biore' | 'crocante';

const asRecord = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/** Latchkey's own contract: problem+json errors, `/auth/*`, logout scopes. */
const native: ClientProfile = {
  name: 'native',
  paths: NATIVE_PATHS,
  envelope: 'plain',
  session: 'token',
  logoutOthers: 'scope',
  logoutEverywhere: 'scope',
  readMe: (data) => {
    const d = asRecord(data);
    return { user: d.user as ClientUser, sessionId: typeof d.sessionId === 'string' ? d.sessionId : null };
  },
  readSessions: (data) => (asRecord(data).sessions as ClientSession[] | undefined) ?? [],
};

/** The bio.re API (seed 004): `/api/v1/auth/*` in `{success, data}` envelopes, `logout-all`. */
const biore: ClientProfile = {
  name: 'biore',
  paths: BIORE_PATHS,
  envelope: 'success-data',
  session: 'token',
  // bio.re documents no "others" scope: end each other session by id.
  logoutOthers: 'revoke-each',
  logoutEverywhere: 'endpoint',
  readMe: (data) => ({ user: data as ClientUser, sessionId: null }),
  readSessions: (data) => (Array.isArray(data) ? (data as ClientSession[]) : []),
};

/**
 * crocante's BFF (seed 001): `POST /api/auth/login` answers `{"success":true}` and sets
 * an encrypted `crocante_session` cookie; `POST /api/auth/logout` answers `{"success":true}`.
 * No token ever reaches the browser, so `me`, `sessions` and the rest are unsupported.
 */
const crocante: ClientProfile = {
  name: 'crocante',
  paths: {
    register: null,
    login: '/api/auth/login',
    refresh: null,
    logout: '/api/auth/logout',
    logoutAll: null,
    me: null,
    sessions: null,
    session: null,
  },
  envelope: 'success-data',
  session: 'cookie',
  logoutOthers: null,
  logoutEverywhere: null,
  readMe: () => {
    throw new Error('crocante has no "me" endpoint');
  },
  readSessions: () => [],
};

export const profiles: Readonly<Record<PresetName, ClientProfile>> = { native, biore, crocante };
