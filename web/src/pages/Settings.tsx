// Settings and account: profile, password, enhancement preferences, API
// keys (developers), download my data, delete my account.
import { useEffect, useId, useState, type FormEvent, type ReactNode } from "react";
import { api, type Schemas } from "../api/client";
import { call, Problem } from "../api/problem";
import { CopyButton, Download, Field, ProblemNote, TechniqueChoices, type Choice } from "../components/ui";
import { LEVELS, label, when } from "../lib/words";
import { navigate, useTitle } from "../router";
import { useSession } from "../session";

type Preferences = Schemas["PreferencesView"];

function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

function Saved({ when: at }: { when: number }) {
  return at ? (
    <span role="status" className="muted">
      Saved.
    </span>
  ) : null;
}

function Profile() {
  const { user, reload } = useSession();
  const [first, setFirst] = useState(user?.first_name ?? "");
  const [last, setLast] = useState(user?.last_name ?? "");
  const [problem, setProblem] = useState<unknown>();
  const [saved, setSaved] = useState(0);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      await call(api.PUT("/api/v1/auth/profile", { body: { first_name: first || null, last_name: last || null } }));
      await reload();
      setSaved(Date.now());
    } catch (err) {
      setProblem(err);
    }
  };
  return (
    <Section title="Profile">
      <p className="muted">
        Signed in as <strong>{user?.username}</strong> ({user?.email}), role {user?.role}.
      </p>
      <form onSubmit={submit}>
        <Field label="First name" name="first_name" value={first} onChange={setFirst} problem={problem} autoComplete="given-name" />
        <Field label="Last name" name="last_name" value={last} onChange={setLast} problem={problem} autoComplete="family-name" />
        <button type="submit">Save profile</button> <Saved when={saved} />
        {!(problem instanceof Problem && problem.field) && <ProblemNote problem={problem} />}
      </form>
    </Section>
  );
}

function Password() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [problem, setProblem] = useState<unknown>();
  const [saved, setSaved] = useState(0);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    if (next !== confirm) {
      setProblem(new Problem(400, "The two new passwords differ.", undefined, "confirm_password"));
      return;
    }
    try {
      await call(
        api.POST("/api/v1/auth/change-password", {
          body: { current_password: current, new_password: next, confirm_password: confirm },
        }),
      );
      setCurrent("");
      setNext("");
      setConfirm("");
      setSaved(Date.now());
    } catch (err) {
      setProblem(err);
    }
  };
  return (
    <Section title="Password">
      <form onSubmit={submit}>
        <Field label="Current password" name="current_password" type="password" value={current} onChange={setCurrent} problem={problem} autoComplete="current-password" required />
        <Field label="New password" name="password" type="password" value={next} onChange={setNext} problem={problem} autoComplete="new-password" required />
        <Field label="Confirm new password" name="confirm_password" type="password" value={confirm} onChange={setConfirm} problem={problem} autoComplete="new-password" required />
        <p className="hint">Your other sessions are signed out when the password changes.</p>
        <button type="submit">Change password</button> <Saved when={saved} />
        {!(problem instanceof Problem && problem.field) && <ProblemNote problem={problem} />}
      </form>
    </Section>
  );
}

function PreferencesForm() {
  const { setKeepHistory } = useSession();
  const [prefs, setPrefs] = useState<Preferences>();
  const [problem, setProblem] = useState<unknown>();
  const [saved, setSaved] = useState(0);
  useEffect(() => {
    call(api.GET("/api/v1/account/preferences")).then(setPrefs, setProblem);
  }, []);
  if (!prefs) return <Section title="Enhancement preferences">{problem ? <ProblemNote problem={problem} /> : <p aria-busy="true">Loading…</p>}</Section>;
  const choice = (t: string) =>
    prefs.preferred_techniques.includes(t) ? "prefer" : prefs.excluded_techniques.includes(t) ? "exclude" : "auto";
  const setChoice = (t: string, c: Choice) => {
    const preferred = prefs.preferred_techniques.filter((x) => x !== t);
    const excluded = prefs.excluded_techniques.filter((x) => x !== t);
    if (c === "prefer") preferred.push(t);
    if (c === "exclude") excluded.push(t);
    setPrefs({ ...prefs, preferred_techniques: preferred, excluded_techniques: excluded });
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      const next = await call(api.PUT("/api/v1/account/preferences", { body: prefs }));
      setPrefs(next);
      setKeepHistory(next.keep_history);
      setSaved(Date.now());
    } catch (err) {
      setProblem(err);
    }
  };
  return (
    <Section title="Enhancement preferences">
      <form onSubmit={submit}>
        <div className="form-row">
          <label>
            Level{" "}
            <select
              name="enhancement_level"
              value={prefs.enhancement_level ?? ""}
              onChange={(e) => setPrefs({ ...prefs, enhancement_level: e.target.value || null })}
            >
              <option value="">Standard (default)</option>
              {LEVELS.map((l) => (
                <option key={l} value={l}>
                  {label(l)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Complexity{" "}
            <select
              name="complexity_preference"
              value={prefs.complexity_preference ?? ""}
              onChange={(e) => setPrefs({ ...prefs, complexity_preference: e.target.value || null })}
            >
              <option value="">As measured</option>
              {["simple", "moderate", "complex"].map((c) => (
                <option key={c} value={c}>
                  {label(c)}
                </option>
              ))}
            </select>
          </label>
          <label className="toggle">
            <input
              type="checkbox"
              name="keep_history"
              checked={prefs.keep_history}
              onChange={(e) => setPrefs({ ...prefs, keep_history: e.target.checked })}
            />{" "}
            Keep my history
          </label>
        </div>
        {!prefs.keep_history && (
          <p className="hint">New enhancements will not be added to your history; they are kept only without your account, as a visitor&apos;s are.</p>
        )}
        <fieldset>
          <legend>Techniques</legend>
          <TechniqueChoices prefix="pref-" choice={choice} onChange={setChoice} />
        </fieldset>
        <button type="submit">Save preferences</button> <Saved when={saved} />
        <ProblemNote problem={problem} />
      </form>
    </Section>
  );
}

type Key = Schemas["ApiKeyInfo"];

function ApiKeys() {
  const [keys, setKeys] = useState<Key[]>();
  const [usage, setUsage] = useState<Record<string, number>>({});
  const [name, setName] = useState("");
  const [shown, setShown] = useState<{ key: string; name: string }>();
  const [problem, setProblem] = useState<unknown>();
  // The keys and their use (30 days), together.
  const load = () =>
    Promise.all([
      call(api.GET("/api/v1/dev/api-keys")),
      call(api.GET("/api/v1/dev/analytics/usage", { params: { query: { days: 30 } } })),
    ]).then(([l, u]) => {
      setKeys(l.api_keys);
      setUsage(Object.fromEntries(u.api_keys.map((k) => [k.id, k.usage_count])));
    }, setProblem);
  useEffect(() => {
    void load();
  }, []);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      const created = await call(api.POST("/api/v1/dev/api-keys", { body: { name } }));
      setShown({ key: created.key, name: created.name });
      setName("");
      await load();
    } catch (err) {
      setProblem(err);
    }
  };
  const rotate = async (id: string) => {
    setProblem(undefined);
    try {
      const rotated = await call(api.POST("/api/v1/dev/api-keys/{id}/rotate", { params: { path: { id } }, body: { grace_hours: 24 } }));
      setShown({ key: rotated.key, name: rotated.name });
      await load();
    } catch (err) {
      setProblem(err);
    }
  };
  const revoke = async (id: string) => {
    setProblem(undefined);
    try {
      await call(api.DELETE("/api/v1/dev/api-keys/{id}", { params: { path: { id } } }));
      await load();
    } catch (err) {
      setProblem(err);
    }
  };
  const origin = window.location.origin;
  return (
    <Section title="API keys">
      {shown && (
        <div className="notice" role="status">
          <p>
            The key <strong>{shown.name}</strong>, shown this once: store it now.
          </p>
          <pre className="text" data-testid="new-key">
            {shown.key}
          </pre>
          <div className="actions">
            <CopyButton text={shown.key} label="Copy key" />
            <CopyButton
              text={`curl -s ${origin}/api/v1/enhance -H 'X-API-Key: ${shown.key}' -H 'Content-Type: application/json' -d '{"text":"explain recursion"}'`}
              label="Copy curl command"
            />
            <button type="button" onClick={() => setShown(undefined)}>
              Done
            </button>
          </div>
        </div>
      )}
      <form onSubmit={create} className="form-row">
        <label>
          Name <input name="key_name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <button type="submit">Create key</button>
      </form>
      <ProblemNote problem={problem} />
      {keys && keys.length === 0 && <p className="muted">No keys yet.</p>}
      {keys && keys.length > 0 && (
        <table className="keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Requests (30 days)</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>{when(k.created_at)}</td>
                <td>{k.last_used_at ? when(k.last_used_at) : "never"}</td>
                <td>{usage[k.id] ?? 0}</td>
                <td>{k.expires_at ? when(k.expires_at) : "never"}</td>
                <td>{k.is_active ? "active" : "revoked"}</td>
                <td className="actions">
                  {k.is_active && (
                    <>
                      <button type="button" onClick={() => void rotate(k.id)} aria-label={`Rotate ${k.name}`}>
                        Rotate
                      </button>
                      <button type="button" className="danger" onClick={() => void revoke(k.id)} aria-label={`Revoke ${k.name}`}>
                        Revoke
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="hint">Rotating gives a new key; the old one keeps working for 24 hours.</p>
    </Section>
  );
}

function DeleteAccount() {
  const { signOut } = useSession();
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<unknown>();
  const [sure, setSure] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      await call(api.DELETE("/api/v1/account", { body: { password } }));
      await signOut().catch(() => undefined);
      navigate("/?deleted=1", { replace: true });
    } catch (err) {
      setProblem(err);
    }
  };
  return (
    <Section title="Delete my account">
      <p>
        This erases your account and everything in it: history, ratings, saved prompts, collections and API keys. It
        cannot be undone.{" "}
        <Download href="/api/v1/account/export" filename="betterprompts-account.json">
          Download your data
        </Download>{" "}
        first if you want to keep it.
      </p>
      <form onSubmit={submit}>
        <Field label="Your password" name="delete_password" type="password" value={password} onChange={setPassword} autoComplete="current-password" required />
        <label className="toggle">
          <input type="checkbox" checked={sure} onChange={(e) => setSure(e.target.checked)} /> I understand that this
          erases my data for good
        </label>
        <p>
          <button type="submit" className="danger" disabled={!sure || password === ""}>
            Delete my account
          </button>
        </p>
        <ProblemNote problem={problem} />
      </form>
    </Section>
  );
}

export function SettingsPage() {
  useTitle("Settings");
  const { user } = useSession();
  const developer = user?.role === "developer" || user?.role === "admin";
  return (
    <>
      <h1>Settings</h1>
      <Profile />
      <PreferencesForm />
      <Password />
      {developer ? (
        <ApiKeys />
      ) : (
        <Section title="API keys">
          <p className="muted">API keys are for developer accounts. Ask an administrator to make your account a developer account.</p>
        </Section>
      )}
      <Section title="Your data">
        <p>
          <Download className="button" href="/api/v1/account/export" filename="betterprompts-account.json">
            Download all my data
          </Download>{" "}
          <span className="hint">One JSON file: profile, preferences, history with ratings, saved prompts, collections, API keys (without the keys).</span>
        </p>
      </Section>
      <DeleteAccount />
    </>
  );
}
