// The application shell: header navigation, the theme switch, the page for
// the current path, and the guard that sends signed-out visitors of private
// pages to sign in.
import { useEffect, useState, type ReactNode } from "react";
import { Link, match, navigate, useLocation, useTitle } from "./router";
import { useSession } from "./session";
import { ProblemNote } from "./components/ui";
import { LandingPage } from "./pages/Landing";
import { EnhancePage } from "./pages/Enhance";
import { RegisterPage, SignInPage } from "./pages/Auth";
import { HistoryDetailPage, HistoryPage } from "./pages/History";
import { SettingsPage } from "./pages/Settings";
import { InsightsPage } from "./pages/Insights";
import { AdminPage } from "./pages/Admin";
import { CollectionPage, LibraryPage, SharedPage } from "./pages/Library";

type Theme = "light" | "dark" | "system";

function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(() => (window.localStorage.getItem("bp.theme") as Theme | null) ?? "system");
  useEffect(() => {
    if (theme === "system") document.documentElement.removeAttribute("data-theme");
    else document.documentElement.setAttribute("data-theme", theme);
    window.localStorage.setItem("bp.theme", theme);
  }, [theme]);
  return [theme, setTheme];
}

function NotFound() {
  useTitle("Not found");
  return (
    <>
      <h1>Page not found</h1>
      <p>
        <Link href="/">Go to the start page</Link>
      </p>
    </>
  );
}

/** A page for signed-in people only. */
function Private({ children }: { children: ReactNode }) {
  const { user, unavailable, reload } = useSession();
  const { path } = useLocation();
  useEffect(() => {
    if (user === null) navigate(`/signin?next=${encodeURIComponent(path)}`, { replace: true });
  }, [user, path]);
  if (user === undefined && unavailable) {
    return (
      <>
        <ProblemNote problem={unavailable} />
        <button type="button" onClick={() => void reload()}>
          Try again
        </button>
      </>
    );
  }
  if (!user) return <p aria-busy="true">Loading…</p>;
  return <>{children}</>;
}

/** The admin pages; others are told so (the server refuses them anyway). */
function AdminOnly({ children }: { children: ReactNode }) {
  const { user } = useSession();
  if (user?.role !== "admin") return <p className="notice">This page is for administrators.</p>;
  return <>{children}</>;
}

function page(path: string): ReactNode {
  if (path === "/") return <LandingPage />;
  if (path === "/signin") return <SignInPage />;
  if (path === "/register") return <RegisterPage />;
  if (path === "/enhance") return <EnhancePage />;
  if (path === "/history")
    return (
      <Private>
        <HistoryPage />
      </Private>
    );
  if (path === "/library")
    return (
      <Private>
        <LibraryPage />
      </Private>
    );
  const collection = match("/library/collections/:id", path);
  if (collection?.id)
    return (
      <Private>
        <CollectionPage id={collection.id} />
      </Private>
    );
  const shared = match("/s/:token", path);
  if (shared?.token) return <SharedPage token={shared.token} />;
  if (path === "/admin")
    return (
      <Private>
        <AdminOnly>
          <AdminPage />
        </AdminOnly>
      </Private>
    );
  if (path === "/insights")
    return (
      <Private>
        <InsightsPage />
      </Private>
    );
  if (path === "/settings")
    return (
      <Private>
        <SettingsPage />
      </Private>
    );
  const detail = match("/history/:id", path);
  if (detail?.id)
    return (
      <Private>
        <HistoryDetailPage id={detail.id} />
      </Private>
    );
  return <NotFound />;
}

export function App() {
  const { path } = useLocation();
  // The first effect after the first render: the page answers input from here.
  useEffect(() => {
    performance.mark("bp-interactive");
  }, []);
  const { user, signOut } = useSession();
  const [theme, setTheme] = useTheme();
  const nav: [string, string][] = user
    ? [
        ["/enhance", "Enhance"],
        ["/history", "History"],
        ["/library", "Library"],
        ["/insights", "Insights"],
        ["/settings", "Settings"],
        ...(user.role === "admin" ? ([["/admin", "Admin"]] as [string, string][]) : []),
      ]
    : [["/enhance", "Enhance"]];
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          BetterPrompts
        </Link>
        <nav aria-label="Main">
          {nav.map(([href, name]) => (
            <Link key={href} href={href} aria-current={path === href || path.startsWith(`${href}/`) ? "page" : undefined}>
              {name}
            </Link>
          ))}
        </nav>
        <div className="account">
          <label>
            <span className="visually-hidden">Theme</span>
            <select value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
              <option value="system">System theme</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
          {user ? (
            <>
              <span className="who" data-testid="who">
                {user.username}
              </span>
              <button
                type="button"
                onClick={() => {
                  void signOut().then(() => navigate("/"));
                }}
              >
                Sign out
              </button>
            </>
          ) : user === null ? (
            <Link href="/signin" className="button">
              Sign in
            </Link>
          ) : null}
        </div>
      </header>
      <main id="main">{page(path)}</main>
      <footer className="foot">
        <span>BetterPrompts</span> · <a href="/api/v1/openapi.json">API</a>
      </footer>
    </>
  );
}
