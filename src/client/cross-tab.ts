/** What one tab tells the others. */
export interface TabMessage {
  type: 'logout' | 'login';
  /** The sending client, so it ignores its own echo. */
  from: string;
  reason: string;
}

export type CrossTabMode = 'auto' | 'broadcast-channel' | 'storage' | 'off';

export interface CrossTab {
  post(msg: TabMessage): void;
  close(): void;
}

/**
 * Tells every other tab of this origin at once. BroadcastChannel when the
 * browser has it; otherwise (or with mode `storage`) a localStorage key that is
 * written and removed at once, which fires a `storage` event in the other tabs
 * and leaves nothing behind.
 */
export function openCrossTab(mode: CrossTabMode, channelName: string, signalKey: string, onMessage: (msg: TabMessage) => void): CrossTab {
  const accept = (raw: unknown) => {
    if (!raw || typeof raw !== 'object') return;
    const m = raw as Partial<TabMessage>;
    if ((m.type === 'logout' || m.type === 'login') && typeof m.from === 'string') onMessage({ type: m.type, from: m.from, reason: String(m.reason ?? '') });
  };
  const useChannel = (mode === 'auto' || mode === 'broadcast-channel') && typeof BroadcastChannel === 'function';
  if (useChannel) {
    const channel = new BroadcastChannel(channelName);
    channel.onmessage = (e: MessageEvent) => accept(e.data);
    return {
      post: (msg) => {
        try {
          channel.postMessage(msg);
        } catch {
          /* closed */
        }
      },
      close: () => channel.close(),
    };
  }
  if (mode === 'off' || typeof window === 'undefined') return { post: () => {}, close: () => {} };

  const onStorage = (e: StorageEvent) => {
    if (e.key !== signalKey || !e.newValue) return;
    try {
      accept(JSON.parse(e.newValue));
    } catch {
      /* not ours */
    }
  };
  window.addEventListener('storage', onStorage);
  return {
    post: (msg) => {
      try {
        // A nonce makes every signal a change, so the event fires even for the same message twice.
        localStorage.setItem(signalKey, JSON.stringify({ ...msg, nonce: Math.random() }));
        localStorage.removeItem(signalKey);
      } catch {
        /* storage disabled: nothing to tell through */
      }
    },
    close: () => window.removeEventListener('storage', onStorage),
  };
}
