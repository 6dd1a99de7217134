// Sign in and register. The session lands in HttpOnly cookies the page
// never reads; the answer's tokens are not kept by the page.
import { useState, type FormEvent } from "react";
import { api } from "../api/client";
import { call, Problem } from "../api/problem";
import { Field, ProblemNote } from "../components/ui";
import { Link, navigate, useLocation, useTitle } from "../router";
import { useSession } from "../session";

/** Where to go after signing in: the `next` query when it is a local path. */
function nextPath(query: URLSearchParams): string {
  const next = query.get("next") ?? "/enhance";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/enhance";
}

export function SignInPage() {
  useTitle("Sign in");
  const { signedIn, expired } = useSession();
  const { query } = useLocation();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    try {
      const tokens = await call(api.POST("/api/v1/auth/login", { body: { email_or_username: name, password } }));
      signedIn(tokens.user);
      navigate(nextPath(query), { replace: true });
    } catch (err) {
      setProblem(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="narrow">
      <h1>Sign in</h1>
      {expired && <p className="notice">Your session has ended. Please sign in again.</p>}
      <form onSubmit={submit}>
        <Field required label="Email or username" name="email_or_username" value={name} onChange={setName} problem={problem} autoComplete="username" />
        <Field required label="Password" name="password" type="password" value={password} onChange={setPassword} problem={problem} autoComplete="current-password" />
        {!(problem instanceof Problem && problem.field) && <ProblemNote problem={problem} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p>
        New here? <Link href="/register">Create an account</Link>
      </p>
    </div>
  );
}

export function RegisterPage() {
  useTitle("Create an account");
  const { signedIn } = useSession();
  const [email, setEmail] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [problem, setProblem] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (password !== confirm) {
      setProblem(new Problem(400, "The two passwords differ.", undefined, "confirm_password"));
      return;
    }
    setBusy(true);
    setProblem(undefined);
    try {
      const tokens = await call(
        api.POST("/api/v1/auth/register", { body: { email, username, password, confirm_password: confirm } }),
      );
      signedIn(tokens.user);
      navigate("/enhance", { replace: true });
    } catch (err) {
      setProblem(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="narrow">
      <h1>Create an account</h1>
      <form onSubmit={submit}>
        <Field required label="Email" name="email" type="email" value={email} onChange={setEmail} problem={problem} autoComplete="email" />
        <Field required label="Username" name="username" value={username} onChange={setUsername} problem={problem} autoComplete="username" />
        <Field required label="Password" name="password" type="password" value={password} onChange={setPassword} problem={problem} autoComplete="new-password" />
        <Field required label="Confirm password" name="confirm_password" type="password" value={confirm} onChange={setConfirm} problem={problem} autoComplete="new-password" />
        <p className="hint">At least 8 characters, with upper and lower case letters, a digit and a symbol.</p>
        {!(problem instanceof Problem && problem.field) && <ProblemNote problem={problem} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Creating…" : "Create account"}
        </button>
      </form>
      <p>
        Have an account? <Link href="/signin">Sign in</Link>
      </p>
    </div>
  );
}
