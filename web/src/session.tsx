// The signed-in person: read once at load (only when a session cookie
// exists, so an anonymous visit makes no request), and updated by sign-in,
// registration and sign-out.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, hasSession, onSessionEnded, type UserView } from "./api/client";
import { call, Problem } from "./api/problem";

interface Session {
  /** undefined while loading, null when signed out. */
  user: UserView | null | undefined;
  /** Set after sign-in or registration. */
  signedIn: (user: UserView) => void;
  signOut: () => Promise<void>;
  /** Re-reads the account (after a profile or preference change). */
  reload: () => Promise<void>;
  /** True when a silent refresh failed: the page asks to sign in again. */
  expired: boolean;
  /** Why the account could not be read (the server is down or degraded):
   * the session is kept, and private pages say so instead of signing out. */
  unavailable: unknown;
  /** Whether new enhancements go into the history (a preference); when
   * not, the page offers no save or rating for them. */
  keepHistory: boolean;
  /** Sets it after the settings page saved the preference. */
  setKeepHistory: (on: boolean) => void;
}

/** Whether an error from reading the account means "not signed in". */
function signedOut(e: unknown): boolean {
  return e instanceof Problem && (e.status === 401 || e.status === 403);
}

const SessionContext = createContext<Session | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<UserView | null | undefined>(hasSession() ? undefined : null);
  const [expired, setExpired] = useState(false);
  const [unavailable, setUnavailable] = useState<unknown>();
  const [keepHistory, setKeepHistory] = useState(true);

  /** The preference, read beside the account (never after it). */
  const readKeepHistory = useCallback(() => {
    call(api.GET("/api/v1/account/preferences")).then(
      (p) => setKeepHistory(p.keep_history),
      () => setKeepHistory(true),
    );
  }, []);

  const reload = useCallback(async () => {
    if (!hasSession()) {
      setUser(null);
      return;
    }
    readKeepHistory();
    try {
      setUser(await call(api.GET("/api/v1/auth/me")));
      setUnavailable(undefined);
    } catch (e) {
      if (signedOut(e)) setUser(null);
      else setUnavailable(e);
    }
  }, [readKeepHistory]);

  useEffect(() => {
    onSessionEnded(() => {
      setExpired(true);
      setUser(null);
    });
    if (hasSession()) {
      readKeepHistory();
      call(api.GET("/api/v1/auth/me")).then(setUser, (e: unknown) => {
        if (signedOut(e)) setUser(null);
        else setUnavailable(e);
      });
    }
  }, [readKeepHistory]);

  const signedIn = useCallback(
    (u: UserView) => {
      setExpired(false);
      setUser(u);
      readKeepHistory();
    },
    [readKeepHistory],
  );

  const signOut = useCallback(async () => {
    try {
      await api.POST("/api/v1/auth/logout", { body: {} });
    } finally {
      setUser(null);
    }
  }, []);

  const value = useMemo(
    () => ({ user, signedIn, signOut, reload, expired, unavailable, keepHistory, setKeepHistory }),
    [user, signedIn, signOut, reload, expired, unavailable, keepHistory],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
