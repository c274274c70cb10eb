// A small React app for the end-to-end test of latchkey/react (bundled by the test, never shipped).
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { createClient } from '../../src/client/index.js';
import { LatchkeyProvider, useLogout, useSession } from '../../src/react/index.js';

const client = createClient({ profile: 'biore' });
const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
// The test reads the cache and drives sign-in through these.
(window as unknown as { __test: unknown }).__test = { client, queryClient };

function Home({ navigate }: { navigate: (to: string) => void }) {
  const session = useSession();
  const me = useQuery({ queryKey: ['me'], queryFn: () => client.me(), enabled: session.signedIn });
  const sessions = useQuery({ queryKey: ['sessions'], queryFn: () => client.sessions(), enabled: session.signedIn });
  const logout = useLogout({ to: '/login', navigate });
  return (
    <main>
      <h1>Home</h1>
      <p>
        Mode: <output id="mode">{session.mode}</output> (<output id="reason">{session.reason ?? ''}</output>)
      </p>
      <p>
        Signed in as <output id="email">{me.data?.user.email ?? ''}</output> with <output id="count">{sessions.data?.length ?? 0}</output> session(s)
      </p>
      <button type="button" onClick={() => logout.mutate()} disabled={logout.isPending}>
        Sign out
      </button>
    </main>
  );
}

function Login() {
  const session = useSession();
  return (
    <main>
      <h1>Login route</h1>
      <p>
        Mode: <output id="mode">{session.mode}</output> (<output id="reason">{session.reason ?? ''}</output>)
      </p>
    </main>
  );
}

function App() {
  const [path, setPath] = useState(location.pathname);
  const navigate = (to: string) => {
    history.pushState(null, '', to);
    setPath(to);
  };
  return path === '/login' ? <Login /> : <Home navigate={navigate} />;
}

createRoot(document.getElementById('root')!).render(
  <LatchkeyProvider client={client}>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </LatchkeyProvider>,
);
