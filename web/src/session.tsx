// The signed-in session: kept in localStorage so that a new tab is signed in too, until the
// token expires; then it is dropped, in every tab, and the page says so (docs/api.md: no refresh).
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { storedSession, type Session } from './logic';

export const SESSION_KEY = 'flash-sale-session';

export interface SessionState {
  session: Session | null;
  /** How the last session ended: its token expired (the page says so), or the buyer signed out. */
  ended: Ended;
  signIn(session: Session): void;
  signOut(): void;
  /** The API refused the token (401): the session is over whatever its clock said. */
  expire(): void;
  /** The buyer has moved on from a sign-out: pages for signed-in buyers ask to sign in again. */
  forgetSignOut(): void;
}

export type Ended = 'expired' | 'signed out' | null;

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(() => storedSession(localStorage.getItem(SESSION_KEY), Date.now()));
  const [ended, setEnded] = useState<Ended>(() => (localStorage.getItem(SESSION_KEY) && !session ? 'expired' : null));

  const signIn = useCallback((s: Session) => {
    localStorage.setItem(SESSION_KEY, JSON.stringify(s));
    setSession(s);
    setEnded(null);
  }, []);
  const signOut = useCallback(() => {
    localStorage.removeItem(SESSION_KEY);
    setSession(null);
    setEnded('signed out');
  }, []);
  const expire = useCallback(() => {
    localStorage.removeItem(SESSION_KEY);
    setSession((current) => {
      if (current) setEnded('expired');
      return null;
    });
  }, []);

  const forgetSignOut = useCallback(() => setEnded((e) => (e === 'signed out' ? null : e)), []);

  // Drop the session the moment its token expires.
  useEffect(() => {
    if (!session) return;
    let t: ReturnType<typeof setTimeout>;
    const arm = () => {
      const left = session.expiresAtMs - Date.now();
      // setTimeout fires at once past 2^31 - 1 ms: a long token is waited for in steps.
      t = left <= 0 ? setTimeout(expire, 0) : setTimeout(arm, Math.min(left, 2 ** 30));
    };
    arm();
    return () => clearTimeout(t);
  }, [session, expire]);

  // Another tab signed in or out: follow it.
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key !== SESSION_KEY && e.key !== null) return;
      const next = storedSession(localStorage.getItem(SESSION_KEY), Date.now());
      setSession((current) => {
        if (current && !next) setEnded(current.expiresAtMs <= Date.now() ? 'expired' : 'signed out');
        return next;
      });
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);

  const value = useMemo(() => ({ session, ended, signIn, signOut, expire, forgetSignOut }), [session, ended, signIn, signOut, expire, forgetSignOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession outside SessionProvider');
  return state;
}
