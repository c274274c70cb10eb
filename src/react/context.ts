import { createContext, createElement, useContext, type ReactNode } from 'react';
import type { LatchkeyClient } from '../client/index.js';

const LatchkeyContext = createContext<LatchkeyClient | null>(null);

/** Makes a client available to `useSession` and `useLogout` below it. */
export function LatchkeyProvider(props: { client: LatchkeyClient; children?: ReactNode }) {
  return createElement(LatchkeyContext.Provider, { value: props.client }, props.children);
}

/** The client passed in, or the one from the nearest `LatchkeyProvider`. */
export function useLatchkeyClient(client?: LatchkeyClient): LatchkeyClient {
  const fromContext = useContext(LatchkeyContext);
  const c = client ?? fromContext;
  if (!c) throw new Error('latchkey/react: pass a client, or render inside <LatchkeyProvider client={…}>.');
  return c;
}
