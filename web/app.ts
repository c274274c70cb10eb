// The account page: sign up, sign in, who am I, active sessions, and every way to sign out.
// Plain DOM on latchkey/client; no inline script (the page is served with a strict CSP).
import {
  createClient,
  isLatchkeyClientError,
  parseUserAgent,
  SESSION_MODE_CHANGED,
  type ClientSession,
  type ClientUser,
  type LatchkeyClientError,
  type LogoutResult,
  type PresetName,
  type SessionModeChangedDetail,
} from '../src/client/index.js';

const profileName = document.querySelector<HTMLMetaElement>('meta[name="latchkey-profile"]')?.content;
const preset: PresetName = profileName === 'biore' ? 'biore' : 'native';
const auth = createClient({ profile: preset, autoRestore: false });

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el as T;
};

const el = {
  notice: byId('notice'),
  alert: byId('alert'),
  views: {
    loading: byId('view-loading'),
    offline: byId('view-offline'),
    signedOut: byId('view-signed-out'),
    account: byId('view-account'),
  },
  retry: byId<HTMLButtonElement>('retry'),
  offlineTitle: byId('offline-title'),
  authTitle: byId('auth-title'),
  authLede: byId('auth-lede'),
  chooseSignin: byId<HTMLButtonElement>('choose-signin'),
  chooseSignup: byId<HTMLButtonElement>('choose-signup'),
  form: byId<HTMLFormElement>('auth-form'),
  nameField: byId('name-field'),
  name: byId<HTMLInputElement>('name'),
  email: byId<HTMLInputElement>('email'),
  emailError: byId('email-error'),
  password: byId<HTMLInputElement>('password'),
  passwordHint: byId('password-hint'),
  passwordError: byId('password-error'),
  submit: byId<HTMLButtonElement>('auth-submit'),
  accountTitle: byId('account-title'),
  avatar: byId('avatar'),
  whoName: byId('who-name'),
  whoEmail: byId('who-email'),
  whoSince: byId('who-since'),
  signOut: byId<HTMLButtonElement>('sign-out'),
  signOutOthers: byId<HTMLButtonElement>('sign-out-others'),
  signOutEverywhere: byId<HTMLButtonElement>('sign-out-everywhere'),
  reload: byId<HTMLButtonElement>('reload-sessions'),
  sessionsCard: byId('sessions-card'),
  sessionsSummary: byId('sessions-summary'),
  sessions: byId<HTMLUListElement>('sessions'),
};

byId('profile-tag').textContent = preset === 'biore' ? 'bio.re profile' : 'native profile';

// ---- messages ------------------------------------------------------------

type Tone = 'success' | 'info' | 'warning';

function say(text: string, tone: Tone = 'success'): void {
  el.alert.textContent = '';
  el.notice.className = `notice notice-${tone}`;
  el.notice.textContent = text;
}

function fail(text: string): void {
  el.notice.textContent = '';
  el.alert.textContent = text;
}

function clearMessages(): void {
  el.notice.textContent = '';
  el.alert.textContent = '';
}

/** A sentence for every way a call can fail. */
function describe(err: unknown, action: string): string {
  if (!isLatchkeyClientError(err)) return `Could not ${action}: something unexpected happened in this page. Reload and try again.`;
  const e: LatchkeyClientError = err;
  switch (e.code) {
    case 'NETWORK_ERROR':
      return `Could not ${action}: Latchkey can't be reached. Check your connection and try again.`;
    case 'RATE_LIMITED':
      return `Too many attempts. Wait ${e.retryAfterSeconds ?? 60} seconds, then try again.`;
    case 'INVALID_CREDENTIALS':
      return 'That email and password do not match an account. Check them and try again.';
    case 'EMAIL_TAKEN':
      return 'An account with this email already exists. Sign in instead.';
    case 'ACCOUNT_DISABLED':
      return 'This account has been disabled. Contact your administrator.';
    case 'INVALID_INPUT':
    case 'INVALID_JSON':
      return `Could not ${action}: ${e.message}`;
    case 'CROSS_SITE_REQUEST':
      return `Could not ${action}: the server refused a request from this page's address.`;
    case 'NOT_FOUND':
      return 'That session has already ended.';
    case 'SESSION_ENDED':
    case 'SIGNED_OUT':
      return 'Your session has ended. Sign in again to continue.';
    case 'INTERNAL':
      return `Could not ${action}: something went wrong on the server. Try again in a moment.`;
    case 'STORE_UNAVAILABLE':
    case 'UPSTREAM_UNAVAILABLE':
      return `Could not ${action}: the server is briefly unavailable. Try again in a moment.`;
    default:
      return `Could not ${action}: ${e.message}`;
  }
}

// ---- views ---------------------------------------------------------------

type View = keyof typeof el.views;
let view: View = 'loading';

function show(next: View, focus?: HTMLElement): void {
  view = next;
  for (const [name, section] of Object.entries(el.views)) section.hidden = name !== next;
  focus?.focus();
}

function showSignedOut(focus = true): void {
  el.sessions.replaceChildren();
  setBusy(false);
  show('signedOut', focus ? el.authTitle : undefined);
}

// ---- sign in / create account --------------------------------------------

let signingUp = false;

function chooseMode(up: boolean, focus = true): void {
  signingUp = up;
  el.chooseSignin.setAttribute('aria-pressed', String(!up));
  el.chooseSignup.setAttribute('aria-pressed', String(up));
  el.authTitle.textContent = up ? 'Create your account' : 'Sign in';
  el.authLede.textContent = up ? 'One account, every session in view. It takes a minute.' : 'Welcome back. Sign in to see and manage your sessions.';
  el.submit.textContent = up ? 'Create account' : 'Sign in';
  el.nameField.hidden = !up;
  el.passwordHint.hidden = !up;
  el.password.autocomplete = up ? 'new-password' : 'current-password';
  setFieldError(el.email, el.emailError, null);
  setFieldError(el.password, el.passwordError, null);
  if (focus) (up ? el.name : el.email).focus();
}

function setFieldError(input: HTMLInputElement, box: HTMLElement, message: string | null): void {
  box.textContent = message ?? '';
  box.hidden = message === null;
  if (message === null) input.removeAttribute('aria-invalid');
  else input.setAttribute('aria-invalid', 'true');
}

function validate(): boolean {
  const email = el.email.value.trim();
  const password = el.password.value;
  const emailError = email === '' ? 'Enter your email address.' : /^[^\s@]+@[^\s@]+$/.test(email) ? null : 'Enter an email address like name@example.com.';
  const passwordError = password === '' ? 'Enter your password.' : signingUp && password.length < 8 ? 'Use at least 8 characters.' : null;
  setFieldError(el.email, el.emailError, emailError);
  setFieldError(el.password, el.passwordError, passwordError);
  if (emailError) el.email.focus();
  else if (passwordError) el.password.focus();
  return !emailError && !passwordError;
}

el.chooseSignin.addEventListener('click', () => chooseMode(false));
el.chooseSignup.addEventListener('click', () => chooseMode(true));

el.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearMessages();
  if (!validate()) return;
  const email = el.email.value.trim();
  const password = el.password.value;
  const label = el.submit.textContent ?? '';
  el.submit.disabled = true;
  el.submit.textContent = signingUp ? 'Creating account…' : 'Signing in…';
  el.form.setAttribute('aria-busy', 'true');
  try {
    if (signingUp) {
      const name = el.name.value.trim();
      await auth.register({ email, password, ...(name ? { name } : {}) });
    }
    await auth.login({ email, password });
    el.password.value = '';
    const created = signingUp;
    chooseMode(false, false);
    if (await enterAccount()) say(created ? 'Your account is ready, and you are signed in.' : 'You are signed in.');
  } catch (err) {
    el.submit.textContent = label;
    if (isLatchkeyClientError(err, 'EMAIL_TAKEN')) {
      setFieldError(el.email, el.emailError, 'An account with this email already exists. Sign in instead.');
      el.email.focus();
    } else if (isLatchkeyClientError(err, 'INVALID_CREDENTIALS')) {
      el.password.setAttribute('aria-invalid', 'true');
      el.password.focus();
    }
    fail(describe(err, signingUp ? 'create your account' : 'sign in'));
  } finally {
    el.submit.disabled = false;
    el.form.removeAttribute('aria-busy');
  }
});

// ---- the account ---------------------------------------------------------

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'long' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

function ago(iso: string): string {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  const abs = Math.abs(seconds);
  if (abs < 60) return 'just now';
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), 'hour');
  if (abs < 30 * 86400) return relative.format(Math.round(seconds / 86400), 'day');
  return dateTime.format(new Date(iso));
}

function timeEl(iso: string, text: string): HTMLTimeElement {
  const t = document.createElement('time');
  t.dateTime = iso;
  t.title = dateTime.format(new Date(iso));
  t.textContent = text;
  return t;
}

function renderUser(user: ClientUser): void {
  const display = user.name?.trim() || user.email.split('@')[0] || user.email;
  el.avatar.textContent = display.charAt(0).toUpperCase();
  el.whoName.textContent = display;
  el.whoEmail.textContent = user.email;
  el.whoSince.textContent = `Member since ${dateOnly.format(new Date(user.createdAt))}`;
}

const ICONS = {
  desktop:
    '<svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"><rect x="3" y="4" width="18" height="12" rx="2"/><path d="M8 20h8M12 16v4"/></svg>',
  mobile:
    '<svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"><rect x="7" y="2.5" width="10" height="19" rx="2.5"/><path d="M11 18.5h2"/></svg>',
};

function describeDevice(s: ClientSession): { label: string; mobile: boolean } {
  const ua = parseUserAgent(s.userAgent);
  if (!s.userAgent) return { label: 'Unknown device', mobile: false };
  return { label: `${ua.browser} on ${ua.os}`, mobile: ua.mobile };
}

function meta(term: string, value: string | Node): HTMLDivElement {
  const row = document.createElement('div');
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = term;
  dd.append(value);
  row.append(dt, dd);
  return row;
}

function renderSessions(list: ClientSession[]): void {
  const sorted = [...list].sort((a, b) => Number(b.current) - Number(a.current) || Date.parse(b.lastSeenAt) - Date.parse(a.lastSeenAt));
  const others = sorted.filter((s) => !s.current).length;
  el.sessionsSummary.textContent =
    sorted.length === 0 ? 'No active sessions.' : others === 0 ? 'Only this device is signed in.' : `This device and ${others} other${others === 1 ? '' : 's'} ${others === 1 ? 'is' : 'are'} signed in.`;

  el.sessions.replaceChildren(
    ...sorted.map((s) => {
      const { label, mobile } = describeDevice(s);
      const li = document.createElement('li');
      li.className = s.current ? 'session session-current' : 'session';
      li.dataset.sessionId = s.id;

      const icon = document.createElement('span');
      icon.className = 'session-icon';
      icon.setAttribute('aria-hidden', 'true');
      icon.innerHTML = mobile ? ICONS.mobile : ICONS.desktop;

      const body = document.createElement('div');
      body.className = 'session-body';
      const title = document.createElement('h3');
      title.className = 'session-title';
      title.textContent = label;
      if (s.current) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = 'This device';
        title.append(' ', badge);
      }
      const dl = document.createElement('dl');
      dl.className = 'session-meta';
      dl.append(
        meta('IP address', s.ip ?? 'unknown'),
        meta('Signed in', timeEl(s.createdAt, dateTime.format(new Date(s.createdAt)))),
        meta('Last active', timeEl(s.lastSeenAt, s.current ? 'now' : ago(s.lastSeenAt))),
      );
      body.append(title, dl);

      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'btn btn-small session-end';
      button.disabled = busy;
      button.textContent = s.current ? 'Sign out' : 'End session';
      button.setAttribute('aria-label', s.current ? 'Sign out of this device' : `End session: ${label}, last active ${ago(s.lastSeenAt)}`);
      button.addEventListener('click', () => (s.current ? void signOut() : void endSession(s, label, li)));

      li.append(icon, body, button);
      return li;
    }),
  );
}

async function loadAccount(): Promise<void> {
  const [me, list] = await Promise.all([auth.me(), auth.sessions()]);
  renderUser(me.user);
  renderSessions(list);
}

async function showAccount(): Promise<void> {
  await loadAccount();
  show('account', el.accountTitle);
}

/** Shows the account once signed in; false (with the reason shown) when it could not be loaded. */
async function enterAccount(): Promise<boolean> {
  try {
    await showAccount();
    return true;
  } catch (err) {
    showSignedOut(false);
    fail(describe(err, 'load your account'));
    return false;
  }
}

// ---- actions -------------------------------------------------------------

let busy = false;
const actionButtons = () => [el.signOut, el.signOutOthers, el.signOutEverywhere, el.reload, ...el.sessions.querySelectorAll<HTMLButtonElement>('button')];

function setBusy(on: boolean): void {
  busy = on;
  for (const b of actionButtons()) b.disabled = on;
  if (on) el.sessionsCard.setAttribute('aria-busy', 'true');
  else el.sessionsCard.removeAttribute('aria-busy');
}

/** The session ended on the server or this page signed out: the mode listener shows it, nothing else to say. */
const sessionGone = (err: unknown) => isLatchkeyClientError(err, 'SESSION_ENDED') || isLatchkeyClientError(err, 'SIGNED_OUT');

/** Runs one account action at a time; a session that ended on the server is handled by the mode listener. */
async function act(action: string, run: () => Promise<void>, quiet = false): Promise<void> {
  if (busy) return;
  if (!quiet) clearMessages();
  setBusy(true);
  try {
    await run();
  } catch (err) {
    if (sessionGone(err)) return;
    fail(describe(err, action));
  } finally {
    if (view === 'account') setBusy(false);
  }
}

/** Why the server did not confirm a sign-out, in a few words. */
function why(err: LatchkeyClientError | null): string {
  switch (err?.code) {
    case 'NETWORK_ERROR':
      return "it can't be reached";
    case 'RATE_LIMITED':
      return 'too many sign-outs in a short time';
    case 'INTERNAL':
    case undefined:
      return 'it had a problem';
    default:
      return err?.message.replace(/\.$/, '') ?? 'it had a problem';
  }
}

function afterLogout(result: LogoutResult, everywhere: boolean): void {
  showSignedOut();
  if (result.serverConfirmed) {
    say(everywhere ? 'You are signed out everywhere: every session of this account has ended.' : 'You are signed out.');
  } else if (everywhere) {
    say(
      `You are signed out on this device, but the server did not confirm that your other sessions ended (${why(result.error)}). Sign in and try again to be sure.`,
      'warning',
    );
  } else {
    say(
      `You are signed out on this device. The server could not be told (${why(result.error)}), so the session stays valid there until it expires: sign in and out again once you are back online, or end it from another device.`,
      'warning',
    );
  }
}

function signOut(): Promise<void> {
  return act('sign out', async () => afterLogout(await auth.logout(), false));
}

function endSession(s: ClientSession, label: string, li: HTMLLIElement): Promise<void> {
  return act('end that session', async () => {
    let said: [string, Tone] = [`Session ended: ${label}. That device is signed out.`, 'success'];
    try {
      await auth.revokeSession(s.id);
    } catch (err) {
      if (!isLatchkeyClientError(err, 'NOT_FOUND')) throw err;
      said = ['That session had already ended.', 'info'];
    }
    // Keep the keyboard in the list: the other session that takes this one's place, else the refresh button.
    const index = [...el.sessions.querySelectorAll('.session:not(.session-current)')].indexOf(li);
    // The list changes before the announcement, so nobody is told the session ended while it is still listed.
    try {
      renderSessions(await auth.sessions());
    } catch (err) {
      li.remove();
      if (sessionGone(err)) return;
      say(...said);
      el.alert.textContent = describe(err, 'refresh your sessions');
      return;
    }
    say(...said);
    setBusy(false);
    const others = el.sessions.querySelectorAll<HTMLButtonElement>('.session:not(.session-current) .session-end');
    (others[Math.min(index, others.length - 1)] ?? el.reload).focus();
  });
}

el.signOut.addEventListener('click', () => void signOut());

el.signOutOthers.addEventListener('click', () =>
  void act('sign out your other devices', async () => {
    const { revokedSessions } = await auth.logoutOthers();
    renderSessions(await auth.sessions());
    say(
      revokedSessions === 0
        ? 'No other device was signed in.'
        : revokedSessions === null
          ? 'Your other devices are signed out.'
          : `Signed out of ${revokedSessions} other device${revokedSessions === 1 ? '' : 's'}. Only this device is still signed in.`,
    );
  }),
);

el.signOutEverywhere.addEventListener('click', () => void act('sign out everywhere', async () => afterLogout(await auth.logoutEverywhere(), true)));

el.reload.addEventListener('click', () =>
  void act('refresh your sessions', async () => {
    await loadAccount();
    say('Sessions are up to date.', 'info');
  }),
);

// Coming back to the tab: check the session is still alive (another device may have ended it).
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && view === 'account' && !busy) void act('refresh your sessions', loadAccount, true);
});

// ---- session changes from elsewhere ---------------------------------------

window.addEventListener(SESSION_MODE_CHANGED, (event) => {
  const { mode, reason } = (event as CustomEvent<SessionModeChangedDetail>).detail;
  if (mode === 'none' && view === 'account') {
    if (reason === 'other-tab') {
      showSignedOut();
      say('You signed out in another tab.', 'info');
    } else if (reason === 'session-ended') {
      showSignedOut();
      fail('Your session has ended: this device was signed out, perhaps from another device. Sign in again to continue.');
    }
  } else if (mode === 'token' && view === 'signedOut' && reason === 'restored') {
    // Signed in from another tab.
    void enterAccount().then((ok) => ok && say('You signed in in another tab.', 'info'));
  }
});

// ---- start ---------------------------------------------------------------

async function start(): Promise<void> {
  clearMessages();
  show('loading');
  let mode;
  try {
    mode = await auth.restore();
  } catch {
    show('offline', el.offlineTitle);
    return;
  }
  if (mode !== 'token') return showSignedOut(false);
  await enterAccount();
}

el.retry.addEventListener('click', () => void start());
chooseMode(false, false);
void start();
