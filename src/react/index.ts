/**
 * latchkey/react: hooks over `latchkey/client` for React 18+ and TanStack Query 5
 * (both optional peer dependencies: only this entry point needs them).
 *
 * @example
 * const auth = createClient({ profile: 'biore' });
 * <LatchkeyProvider client={auth}><QueryClientProvider client={qc}><App /></QueryClientProvider></LatchkeyProvider>
 * const logout = useLogout({ navigate: router.push, to: '/login' });
 * const { signedIn } = useSession();
 */
export { LatchkeyProvider, useLatchkeyClient } from './context.js';
export { useLogout, useSession } from './hooks.js';
export type { UseLogoutOptions, SessionSnapshot } from './hooks.js';
