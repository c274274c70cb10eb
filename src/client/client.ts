import { LatchkeyClientError, type ClientErrorCode } from './errors.js';
import { openCrossTab, type CrossTab, type CrossTabMode, type TabMessage } from './cross-tab.js';
import { profiles, type ClientProfile, type ClientSession, type ClientUser, type PresetName } from './profiles.js';

/**
 * `unknown`: a session may exist (this origin was signed in) and is being checked.
 * `none`: signed out. `token`: an access token in memory and a refresh cookie.
 * `cookie`: a server-side session cookie (crocante); no token in the browser.
 */
export type SessionMode = 'unknown' | 'none' | 'token' | 'cookie';

/** Why the mode changed. `other-tab`: another tab of this origin signed out. `session-ended`: the server refused the session. */
export type ChangeReason = 'restoring' | 'restored' | 'login' | 'logout' | 'logout-everywhere' | 'session-ended' | 'other-tab';

export interface SessionState {
  mode: SessionMode;
  reason: ChangeReason | null;
}

/** `detail` of the `session-mode-changed` event dispatched on `window`. */
export interface SessionModeChangedDetail {
  mode: SessionMode;
  previous: SessionMode;
  reason: ChangeReason;
}

export const SESSION_MODE_CHANGED = 'session-mode-changed';

export interface ClientOptions {
  /** A preset name or a full profile. Default `native`. */
  profile?: PresetName | ClientProfile;
  /** Prefix for every path, e.g. `https://auth.example.com`. Default: same origin. */
  baseUrl?: string;
  /**
   * What logout clears from localStorage: `null` (default) clears everything, as
   * seed 001 does; a string clears only keys starting with it. The client's own
   * keys (`<prefix>latchkey.*`) always fall under it.
   */
  storagePrefix?: string | null;
  /** How other tabs learn of a logout. Default `auto`: BroadcastChannel, else storage events. */
  crossTab?: CrossTabMode;
  /** BroadcastChannel name. Default `latchkey`. */
  channelName?: string;
  /** Give up waiting for the logout endpoint after this long (the logout still completes locally). Default 5000. */
  logoutTimeoutMs?: number;
  /** Timeout of every other request. Default 15000. */
  requestTimeoutMs?: number;
  /** Check a remembered session with one refresh as soon as the client is created. Default true. */
  autoRestore?: boolean;
}

export interface LoginInput {
  email: string;
  password: string;
  [field: string]: unknown;
}

export interface RegisterInput extends LoginInput {
  name?: string;
}

export interface LogoutResult {
  /** The server answered with success. When false, this browser is signed out anyway. */
  serverConfirmed: boolean;
  /** Why the server did not confirm, if it did not. */
  error: LatchkeyClientError | null;
}

interface SendOptions {
  token?: string | null;
  body?: unknown;
  timeoutMs?: number;
}

const asRecord = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

const CODE_BY_STATUS: Record<number, ClientErrorCode> = {
  400: 'INVALID_INPUT',
  401: 'INVALID_TOKEN',
  403: 'CROSS_SITE_REQUEST',
  404: 'ROUTE_NOT_FOUND',
  409: 'EMAIL_TAKEN',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

const signedOut = () => new LatchkeyClientError('SIGNED_OUT', 'You are signed out.');
const sessionEnded = () => new LatchkeyClientError('SESSION_ENDED', 'Your session has ended. Sign in again.', 401);
const toClientError = (e: unknown) =>
  e instanceof LatchkeyClientError ? e : new LatchkeyClientError('NETWORK_ERROR', e instanceof Error ? e.message : String(e));

/**
 * A `LoginService` for the browser. The access token lives in this object only
 * (never in storage); a 401 triggers one refresh shared by every request that
 * is waiting (single-flight), and each request is retried once. Once a logout
 * has begun, no refresh is started and a refresh already in flight is discarded.
 */
export class LatchkeyClient {
  readonly profile: ClientProfile;
  readonly #base: string;
  readonly #prefix: string | null;
  readonly #modeKey: string;
  readonly #logoutTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #id = Math.random().toString(36).slice(2) + Date.now().toString(36);
  readonly #tabs: CrossTab;
  readonly #listeners = new Set<(state: SessionState) => void>();

  #state: SessionState;
  #token: string | null = null;
  #sessionId: string | null = null;
  /** Bumped by login and by every kind of sign-out: a refresh answer from an older epoch is thrown away. */
  #epoch = 0;
  #refreshing: Promise<string> | null = null;
  /** A sign-out has begun and not finished: nothing may refresh. */
  #closing = false;
  #logoutInFlight: Promise<LogoutResult> | null = null;

  constructor(opts: ClientOptions = {}) {
    const p = opts.profile ?? 'native';
    this.profile = typeof p === 'string' ? profiles[p] : p;
    if (!this.profile) throw new LatchkeyClientError('UNSUPPORTED', `Unknown profile ${JSON.stringify(p)}; presets: ${Object.keys(profiles).join(', ')}.`);
    this.#base = (opts.baseUrl ?? '').replace(/\/+$/, '');
    this.#prefix = opts.storagePrefix ?? null;
    this.#modeKey = `${this.#prefix ?? ''}latchkey.session-mode`;
    this.#logoutTimeoutMs = opts.logoutTimeoutMs ?? 5000;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 15000;
    this.#tabs = openCrossTab(opts.crossTab ?? 'auto', opts.channelName ?? 'latchkey', `${this.#prefix ?? ''}latchkey.tab-signal`, (m) => this.#onTabMessage(m));

    const hint = this.#readHint();
    const mode: SessionMode = this.profile.session === 'cookie' ? (hint === 'cookie' ? 'cookie' : 'none') : hint === 'token' ? 'unknown' : 'none';
    this.#state = { mode, reason: null };
    if (mode === 'unknown' && opts.autoRestore !== false) queueMicrotask(() => void this.restore().catch(() => {}));
  }

  /** The current session mode. */
  get mode(): SessionMode {
    return this.#state.mode;
  }

  /** Mode and the reason of its last change (a new object on every change). */
  get state(): SessionState {
    return this.#state;
  }

  /** The id of this browser's session, when the profile reports it. */
  get sessionId(): string | null {
    return this.#sessionId;
  }

  /** Called on every mode change (in this tab, and when another tab signs out). Returns an unsubscribe function. */
  subscribe(listener: (state: SessionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Finds out whether this browser still has a session: with one refresh when
   * this origin was signed in (a remembered session mode), without any request otherwise.
   */
  async restore(): Promise<SessionMode> {
    const hint = this.#readHint();
    if (this.profile.session === 'cookie') {
      this.#setMode(hint === 'cookie' ? 'cookie' : 'none', 'restored');
      return this.mode;
    }
    if (this.mode === 'token' && this.#token) return 'token';
    if (hint !== 'token') {
      this.#setMode('none', 'restored');
      return 'none';
    }
    return this.#probe();
  }

  /** Creates an account (does not sign in). */
  async register(input: RegisterInput): Promise<ClientUser> {
    const path = this.#path('register');
    const data = asRecord(await this.#read(await this.#send('POST', path, { body: input })));
    return (data.user ?? data) as ClientUser;
  }

  /** Signs in. Token profiles keep the access token in memory; the refresh token stays in its HttpOnly cookie. */
  async login(input: LoginInput): Promise<{ user: ClientUser | null; sessionId: string | null }> {
    const data = asRecord(await this.#read(await this.#send('POST', this.profile.paths.login, { body: input })));
    this.#epoch++;
    this.#refreshing = null;
    this.#closing = false;
    if (this.profile.session === 'token') {
      if (typeof data.accessToken !== 'string') throw new LatchkeyClientError('HTTP_ERROR', 'The login answer carried no access token.', 200);
      this.#token = data.accessToken;
      this.#sessionId = typeof data.sessionId === 'string' ? data.sessionId : null;
    }
    this.#writeHint(this.profile.session);
    this.#setMode(this.profile.session, 'login');
    this.#tabs.post({ type: 'login', from: this.#id, reason: 'login' });
    return { user: (data.user as ClientUser | undefined) ?? null, sessionId: this.#sessionId };
  }

  /**
   * Signs out (seed 001): calls the logout endpoint with credentials, clears
   * localStorage (all of it, or the configured prefix), sets the mode to `none`,
   * dispatches `session-mode-changed` on `window`, and tells the other tabs.
   * Always resolves, offline or when the server fails.
   */
  logout(): Promise<LogoutResult> {
    this.#logoutInFlight ??= this.#endSession('logout').finally(() => (this.#logoutInFlight = null));
    return this.#logoutInFlight;
  }

  /** Ends every session of the user, this one included, then signs out here like `logout`. */
  async logoutEverywhere(): Promise<LogoutResult> {
    if (!this.profile.logoutEverywhere) throw this.#unsupported('logoutEverywhere');
    return this.#endSession('logout-everywhere');
  }

  /** Ends every other session of the user; this one stays signed in. */
  async logoutOthers(): Promise<{ revokedSessions: number | null }> {
    const how = this.profile.logoutOthers;
    if (how === 'scope') {
      const data = asRecord(await this.#authed('POST', this.profile.paths.logout, { scope: 'others' }));
      return { revokedSessions: typeof data.revokedSessions === 'number' ? data.revokedSessions : null };
    }
    if (how === 'revoke-each') {
      const others = (await this.sessions()).filter((s) => !s.current);
      const results = await Promise.allSettled(others.map((s) => this.#authed('DELETE', this.#sessionPath(s.id))));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof LatchkeyClientError && r.reason.code === 'NOT_FOUND'));
      if (failed) throw toClientError(failed.reason);
      return { revokedSessions: others.length };
    }
    throw this.#unsupported('logoutOthers');
  }

  /** The signed-in user. */
  async me(): Promise<{ user: ClientUser; sessionId: string | null }> {
    const r = this.profile.readMe(await this.#authed('GET', this.#path('me')));
    return { user: r.user, sessionId: r.sessionId ?? this.#sessionId };
  }

  /** The user's active sessions, `current` marking this browser's. */
  async sessions(): Promise<ClientSession[]> {
    const list = this.profile.readSessions(await this.#authed('GET', this.#path('sessions')));
    return list.map((s) => ({ ...s, current: s.current || s.id === this.#sessionId }));
  }

  /** Ends one session. Ending this browser's own session signs out here too. */
  async revokeSession(id: string): Promise<void> {
    await this.#authed('DELETE', this.#sessionPath(id));
    if (id === this.#sessionId) this.#dropLocal('logout', true, true);
  }

  /** Refreshes the access token now (joining a refresh already under way). */
  async refresh(): Promise<void> {
    if (this.profile.session === 'cookie') throw this.#unsupported('refresh');
    await this.#refreshOnce(this.#token);
  }

  /** The access token, for your own API calls; refreshed first when there is none. Null when signed out. */
  async accessToken(): Promise<string | null> {
    if (this.profile.session === 'cookie' || this.#ending()) return null;
    return this.#token ?? this.#refreshOnce(null).catch(() => null);
  }

  /**
   * `fetch` for your own API: adds the access token (or, in cookie mode, the
   * credentials), refreshes once on 401 and retries once. Resolves to the last
   * Response; rejects with `SIGNED_OUT`/`SESSION_ENDED` when there is no session.
   * The body must be re-sendable (string, FormData, Blob, …), not a stream.
   */
  async fetch(input: string, init: RequestInit = {}): Promise<Response> {
    if (this.#ending()) throw signedOut();
    const go = (token: string | null) => {
      const headers = new Headers(init.headers);
      if (token) headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { credentials: 'include', ...init, headers });
    };
    if (this.profile.session === 'cookie') {
      const res = await go(null);
      if (res.status === 401) this.#dropLocal('session-ended', true, true);
      return res;
    }
    let token = this.#token ?? (await this.#refreshOnce(null));
    let res = await go(token);
    if (res.status !== 401) return res;
    if (this.#ending()) throw signedOut();
    token = await this.#refreshOnce(token);
    res = await go(token);
    if (res.status === 401 && !this.#closing) this.#dropLocal('session-ended', true, true);
    return res;
  }

  /** Stops listening to other tabs. */
  close(): void {
    this.#tabs.close();
  }

  // ---- internals -------------------------------------------------------

  /** Signed out, or a sign-out under way: no request is sent and nothing refreshes. */
  #ending(): boolean {
    return this.#closing || this.#state.mode === 'none';
  }

  async #endSession(kind: 'logout' | 'logout-everywhere'): Promise<LogoutResult> {
    const token = this.#token;
    // From here on nothing refreshes, and a refresh in flight is discarded when it answers.
    this.#closing = true;
    this.#epoch++;
    this.#refreshing = null;
    this.#token = null;
    let error: LatchkeyClientError | null = null;
    try {
      const p = this.profile;
      const [path, body] =
        kind === 'logout' ? [p.paths.logout, undefined] : p.logoutEverywhere === 'scope' ? [p.paths.logout, { scope: 'all' }] : [this.#path('logoutAll'), undefined];
      await this.#read(await this.#send('POST', path, { token, body, timeoutMs: this.#logoutTimeoutMs }));
    } catch (e) {
      error = toClientError(e);
    }
    this.#dropLocal(kind, true, true);
    this.#closing = false;
    return { serverConfirmed: error === null, error };
  }

  /** Forgets the session in this tab; optionally clears storage and tells the other tabs. */
  #dropLocal(reason: ChangeReason, clearStorage: boolean, broadcast: boolean): void {
    this.#epoch++;
    this.#refreshing = null;
    this.#token = null;
    this.#sessionId = null;
    if (clearStorage) this.#clearStorage();
    // An explicit sign-out always announces itself, even when already signed out (seed 001).
    this.#setMode('none', reason, reason === 'logout' || reason === 'logout-everywhere');
    if (broadcast) this.#tabs.post({ type: 'logout', from: this.#id, reason });
  }

  /** One refresh decides: a session (mode `token`) or none. */
  async #probe(): Promise<SessionMode> {
    this.#setMode('unknown', 'restoring');
    try {
      await this.#refreshOnce(null, true);
    } catch (e) {
      if (e instanceof LatchkeyClientError && (e.code === 'SESSION_ENDED' || e.code === 'SIGNED_OUT')) return this.mode;
      throw e;
    }
    return this.mode;
  }

  #onTabMessage(msg: TabMessage): void {
    if (msg.from === this.#id) return;
    if (msg.type === 'logout') {
      // Forget the session here and clear storage too: a localStorage change made by another
      // tab can reach this one after the message does, and nothing of the session may survive.
      if (this.mode !== 'none') this.#dropLocal('other-tab', true, false);
    } else if (this.mode === 'none') {
      // Signed in elsewhere: the refresh cookie is shared, so one refresh brings this tab in
      // (without waiting for the remembered mode, which may not have reached this tab yet).
      if (this.profile.session === 'cookie') this.#setMode('cookie', 'restored');
      else void this.#probe().catch(() => {});
    }
  }

  /** One refresh for everyone: callers that saw `stale` rejected wait for (or reuse) its successor. */
  #refreshOnce(stale: string | null, force = false): Promise<string> {
    if (!this.profile.paths.refresh || this.profile.session !== 'token') return Promise.reject(this.#unsupported('refresh'));
    if (this.#closing || (!force && this.mode === 'none')) return Promise.reject(signedOut());
    if (this.#token && this.#token !== stale) return Promise.resolve(this.#token);
    if (!this.#refreshing) {
      const p = this.#doRefresh(this.#epoch, this.profile.paths.refresh);
      this.#refreshing = p;
      const done = () => {
        if (this.#refreshing === p) this.#refreshing = null;
      };
      p.then(done, done);
    }
    return this.#refreshing;
  }

  async #doRefresh(epoch: number, path: string): Promise<string> {
    const res = await this.#send('POST', path, {});
    const stale = () => epoch !== this.#epoch || this.#closing;
    if (stale()) throw signedOut();
    if (res.status === 401) {
      await res.text().catch(() => '');
      if (stale()) throw signedOut();
      this.#dropLocal('session-ended', true, true);
      throw sessionEnded();
    }
    const data = asRecord(await this.#read(res));
    if (stale()) throw signedOut();
    if (typeof data.accessToken !== 'string') throw new LatchkeyClientError('HTTP_ERROR', 'The refresh answer carried no access token.', res.status);
    this.#token = data.accessToken;
    if (typeof data.sessionId === 'string') this.#sessionId = data.sessionId;
    this.#writeHint('token');
    this.#setMode('token', 'restored');
    return data.accessToken;
  }

  /** A request with the access token; on 401 one shared refresh, then one retry. */
  async #authed(method: string, path: string, body?: unknown): Promise<unknown> {
    if (this.#ending()) throw signedOut();
    if (this.profile.session === 'cookie') {
      const res = await this.#send(method, path, { body });
      if (res.status === 401) {
        this.#dropLocal('session-ended', true, true);
        throw sessionEnded();
      }
      return this.#read(res);
    }
    let token = this.#token ?? (await this.#refreshOnce(null));
    let res = await this.#send(method, path, { token, body });
    if (res.status === 401) {
      await res.text().catch(() => '');
      if (this.#ending()) throw signedOut();
      token = await this.#refreshOnce(token);
      res = await this.#send(method, path, { token, body });
      if (res.status === 401) {
        if (this.#closing) throw signedOut();
        this.#dropLocal('session-ended', true, true);
        throw sessionEnded();
      }
    }
    return this.#read(res);
  }

  async #send(method: string, path: string, o: SendOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), o.timeoutMs ?? this.#requestTimeoutMs);
    try {
      return await fetch(this.#base + path, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        credentials: 'include',
        cache: 'no-store',
        signal: ctrl.signal,
      });
    } catch (e) {
      const timedOut = ctrl.signal.aborted;
      throw new LatchkeyClientError('NETWORK_ERROR', timedOut ? 'The server did not answer in time.' : `The server could not be reached (${e instanceof Error ? e.message : String(e)}).`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The data of a success answer, or a LatchkeyClientError from the profile's error envelope. */
  async #read(res: Response): Promise<unknown> {
    const text = await res.text().catch(() => '');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const body = asRecord(json);
    const enveloped = this.profile.envelope === 'success-data';
    if (res.ok && !(enveloped && body.success === false)) return enveloped ? body.data : json;

    const e = enveloped ? asRecord(body.error) : body;
    const status = res.ok ? 400 : res.status;
    const code = typeof e.code === 'string' ? e.code : (CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'HTTP_ERROR'));
    const message =
      typeof e.message === 'string' ? e.message : typeof e.detail === 'string' ? e.detail : typeof e.title === 'string' ? e.title : `The server answered ${status}.`;
    const retry = Number.parseInt(res.headers.get('retry-after') ?? '', 10);
    return Promise.reject(new LatchkeyClientError(code, message, status, Number.isFinite(retry) ? retry : null));
  }

  #setMode(mode: SessionMode, reason: ChangeReason, always = false): void {
    const previous = this.#state.mode;
    if (previous === mode && !always) return;
    if (mode === 'none' && this.#readHint() !== null) this.#writeHint(null);
    this.#state = { mode, reason };
    for (const l of [...this.#listeners]) l(this.#state);
    if (typeof window !== 'undefined' && typeof window.dispatchEvent === 'function') {
      const detail: SessionModeChangedDetail = { mode, previous, reason };
      window.dispatchEvent(new CustomEvent(SESSION_MODE_CHANGED, { detail }));
    }
  }

  #path(op: 'register' | 'me' | 'sessions' | 'logoutAll'): string {
    const path = this.profile.paths[op];
    if (!path) throw this.#unsupported(op);
    return path;
  }

  #sessionPath(id: string): string {
    const path = this.profile.paths.session;
    if (!path) throw this.#unsupported('revokeSession');
    return path.replace(':id', encodeURIComponent(id));
  }

  #unsupported(op: string): LatchkeyClientError {
    return new LatchkeyClientError('UNSUPPORTED', `The ${this.profile.name} profile does not support ${op}.`);
  }

  #readHint(): string | null {
    try {
      return localStorage.getItem(this.#modeKey);
    } catch {
      return null;
    }
  }

  #writeHint(mode: 'token' | 'cookie' | null): void {
    try {
      if (mode) localStorage.setItem(this.#modeKey, mode);
      else localStorage.removeItem(this.#modeKey);
    } catch {
      /* storage disabled: the session still works for this page's life */
    }
  }

  #clearStorage(): void {
    try {
      if (this.#prefix === null) return localStorage.clear();
      for (let i = localStorage.length - 1; i >= 0; i--) {
        const key = localStorage.key(i);
        if (key !== null && key.startsWith(this.#prefix)) localStorage.removeItem(key);
      }
    } catch {
      /* storage disabled: nothing to clear */
    }
  }
}

/** Creates a client. `createClient({ profile: 'biore' })`. */
export function createClient(opts: ClientOptions = {}): LatchkeyClient {
  return new LatchkeyClient(opts);
}
