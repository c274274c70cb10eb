import { useCallback, useSyncExternalStore } from 'react';
import { useMutation, useQueryClient, type UseMutationOptions } from '@tanstack/react-query';
import { SESSION_MODE_CHANGED, type LatchkeyClient, type LogoutResult, type SessionMode, type SessionState } from '../client/index.js';
import { useLatchkeyClient } from './context.js';

export interface UseLogoutOptions {
  client?: LatchkeyClient;
  /** Where to go once the logout settled. Default `/login`. */
  to?: string;
  /** How to go there: your router's push (`router.push`, `navigate`). Default `window.location.assign`. */
  navigate?: (to: string) => void;
  /** Extra mutation options (`onSuccess`, `onError`, …); `mutationFn` and `onSettled` are this hook's. */
  mutation?: Omit<UseMutationOptions<LogoutResult, Error, void>, 'mutationFn'>;
}

const defaultNavigate = (to: string) => window.location.assign(to);

/**
 * Seed 004's `useLogout` on `latchkey/client`: the logout always settles (the
 * client never rejects it); then the query cache is cleared, so no signed-in
 * data survives, and the app navigates to `to`.
 */
export function useLogout(opts: UseLogoutOptions = {}) {
  const client = useLatchkeyClient(opts.client);
  const qc = useQueryClient();
  const { to = '/login', navigate = defaultNavigate, mutation } = opts;
  return useMutation<LogoutResult, Error, void>({
    mutationKey: ['latchkey', 'logout'],
    ...mutation,
    mutationFn: () => client.logout(),
    onSettled: async (...args) => {
      await mutation?.onSettled?.(...args);
      qc.clear();
      navigate(to);
    },
  });
}

export interface SessionSnapshot {
  mode: SessionMode;
  /** `token` or `cookie`. */
  signedIn: boolean;
  /** The session is being checked (`unknown`). */
  checking: boolean;
  /** Why the mode last changed: `other-tab`, `session-ended`, `logout`, … */
  reason: SessionState['reason'];
}

const snapshots = new WeakMap<SessionState, SessionSnapshot>();
function snapshotOf(state: SessionState): SessionSnapshot {
  let s = snapshots.get(state);
  if (!s) {
    s = { mode: state.mode, signedIn: state.mode === 'token' || state.mode === 'cookie', checking: state.mode === 'unknown', reason: state.reason };
    snapshots.set(state, s);
  }
  return s;
}

/**
 * The session mode, re-rendering on every `session-mode-changed` (this tab's
 * logins and logouts, and logouts in other tabs of the origin).
 */
export function useSession(client?: LatchkeyClient): SessionSnapshot {
  const c = useLatchkeyClient(client);
  const subscribe = useCallback(
    (onChange: () => void) => {
      const off = c.subscribe(onChange);
      window.addEventListener(SESSION_MODE_CHANGED, onChange);
      return () => {
        off();
        window.removeEventListener(SESSION_MODE_CHANGED, onChange);
      };
    },
    [c],
  );
  const state = useSyncExternalStore(
    subscribe,
    () => c.state,
    () => c.state,
  );
  return snapshotOf(state);
}
