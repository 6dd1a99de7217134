// Administration (admin role only; the server refuses everyone else and
// audits every call): a platform overview with charts, users, feature
// flags changed live, the cache, and the audit log with its filters.
import { useCallback, useEffect, useId, useState, type FormEvent } from "react";
import { api, type Schemas } from "../api/client";
import { call } from "../api/problem";
import { BarList, ColumnChart } from "../components/charts";
import { ProblemNote } from "../components/ui";
import { latencyBuckets, quantile } from "../lib/prometheus";
import { label, percent, when } from "../lib/words";
import { Link, useLocation, useTitle } from "../router";

const TABS = [
  ["overview", "Overview"],
  ["users", "Users"],
  ["flags", "Feature flags"],
  ["cache", "Cache"],
  ["audit", "Audit log"],
] as const;

function Overview() {
  const [metrics, setMetrics] = useState<Schemas["PlatformMetrics"]>();
  const [usage, setUsage] = useState<Schemas["UsageRollups"]>();
  const [p99, setP99] = useState<{ name: string; value: number }[]>([]);
  const [problem, setProblem] = useState<unknown>();
  useEffect(() => {
    Promise.all([
      call(api.GET("/api/v1/admin/metrics")),
      call(api.GET("/api/v1/admin/metrics/usage", { params: { query: { days: 30 } } })),
      fetch("/metrics", { credentials: "same-origin" }).then((r) => (r.ok ? r.text() : "")),
    ]).then(([m, u, text]) => {
      setMetrics(m);
      setUsage(u);
      const rows = [...latencyBuckets(text)]
        .map(([route, buckets]) => ({ name: route.replace("/api/v1", ""), value: (quantile(0.99, buckets) ?? 0) * 1000 }))
        .filter((r) => r.value > 0)
        .sort((a, b) => b.value - a.value);
      setP99(rows);
    }, setProblem);
  }, []);
  if (!metrics || !usage) return problem ? <ProblemNote problem={problem} /> : <p aria-busy="true">Loading…</p>;
  // Rollups are written hourly: until today's is, today shows the live
  // figures of the last 24 hours.
  const days = [...usage.data].reverse();
  const today = new Date().toISOString().slice(0, 10);
  if (days[days.length - 1]?.date !== today) {
    days.push({
      date: today,
      total_requests: metrics.requests.last_24h,
      error_count: metrics.requests.errors_24h,
      total_enhancements: metrics.enhancements.last_24h,
      new_users: metrics.users.new_24h,
      unique_users: 0,
    });
  }
  const techniques = new Map<string, number>();
  for (const d of usage.data) {
    for (const [t, n] of Object.entries((d.by_technique ?? {}) as Record<string, number>)) techniques.set(t, (techniques.get(t) ?? 0) + n);
  }
  const errorRate = metrics.requests.last_24h ? metrics.requests.errors_24h / metrics.requests.last_24h : 0;
  return (
    <>
      <dl className="facts">
        <div>
          <dt>Users</dt>
          <dd>
            {metrics.users.total} ({metrics.users.new_24h} new today)
          </dd>
        </div>
        <div>
          <dt>Requests, 24 h</dt>
          <dd>{metrics.requests.last_24h}</dd>
        </div>
        <div>
          <dt>Error rate, 24 h</dt>
          <dd>{percent(errorRate)}</dd>
        </div>
        <div>
          <dt>Enhancements, 24 h</dt>
          <dd>{metrics.enhancements.last_24h}</dd>
        </div>
      </dl>
      <div className="charts">
        <ColumnChart caption="Requests per day (today: the last 24 h)" points={days.map((d) => [d.date, d.total_requests])} />
        <ColumnChart caption="Errors per day" points={days.map((d) => [d.date, d.error_count])} />
        <ColumnChart caption="Enhancements per day" points={days.map((d) => [d.date, d.total_enhancements])} />
        <BarList
          caption="Top techniques (30 days)"
          rows={[...techniques].map(([name, value]) => ({ name: label(name), value })).sort((a, b) => b.value - a.value)}
        />
        <BarList caption="p99 latency per route since this server started (ms)" rows={p99} format={(v) => v.toFixed(1)} />
      </div>
    </>
  );
}

function Users() {
  const [search, setSearch] = useState("");
  const [page, setPage] = useState<Schemas["AdminUserPage"]>();
  const [problem, setProblem] = useState<unknown>();
  const searchId = useId();
  const load = useCallback(async (q: string) => {
    setProblem(undefined);
    try {
      setPage(await call(api.GET("/api/v1/admin/users", { params: { query: { search: q || null, limit: 50 } } })));
    } catch (e) {
      setProblem(e);
    }
  }, []);
  useEffect(() => {
    call(api.GET("/api/v1/admin/users", { params: { query: { limit: 50 } } })).then(setPage, setProblem);
  }, []);
  const update = async (id: string, body: Schemas["UpdateUserBody"]) => {
    setProblem(undefined);
    try {
      await call(api.PUT("/api/v1/admin/users/{id}", { params: { path: { id } }, body }));
      await load(search);
    } catch (e) {
      setProblem(e);
    }
  };
  return (
    <>
      <form
        role="search"
        className="form-row"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void load(search);
        }}
      >
        <label htmlFor={searchId}>Find users</label>
        <input id={searchId} type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="name or email" />
        <button type="submit">Search</button>
      </form>
      <ProblemNote problem={problem} />
      <table className="keys">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Role</th>
            <th scope="col">Tier</th>
            <th scope="col">State</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {page?.data.map((u) => (
            <tr key={u.id} data-user={u.username}>
              <td>
                {u.username}
                <div className="muted small">{u.email}</div>
              </td>
              <td>
                <select aria-label={`Role of ${u.username}`} value={u.role} onChange={(e) => void update(u.id, { role: e.target.value })}>
                  {["user", "developer", "admin"].map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>
                <select aria-label={`Tier of ${u.username}`} value={u.tier} onChange={(e) => void update(u.id, { tier: e.target.value })}>
                  {["free", "pro", "enterprise"].map((t) => (
                    <option key={t}>{t}</option>
                  ))}
                </select>
              </td>
              <td>
                {u.is_active ? "active" : "deactivated"}
                {u.locked_until && new Date(u.locked_until) > new Date() ? ", locked" : ""}
              </td>
              <td className="actions">
                {u.locked_until && new Date(u.locked_until) > new Date() && (
                  <button type="button" onClick={() => void update(u.id, { unlock: true })}>
                    Unlock
                  </button>
                )}
                <button type="button" onClick={() => void update(u.id, { is_active: !u.is_active })} aria-label={`${u.is_active ? "Deactivate" : "Reactivate"} ${u.username}`}>
                  {u.is_active ? "Deactivate" : "Reactivate"}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Flags() {
  const [flags, setFlags] = useState<Schemas["FlagView"][]>();
  const [name, setName] = useState("");
  const [problem, setProblem] = useState<unknown>();
  const load = useCallback(() => call(api.GET("/api/v1/admin/feature-flags")).then((l) => setFlags(l.flags), setProblem), []);
  useEffect(() => {
    void load();
  }, [load]);
  const save = async (flag: Schemas["FlagBody"], create = false) => {
    setProblem(undefined);
    try {
      if (create) await call(api.POST("/api/v1/admin/feature-flags", { body: flag }));
      else await call(api.PUT("/api/v1/admin/feature-flags", { body: flag }));
      await load();
    } catch (e) {
      setProblem(e);
    }
  };
  return (
    <>
      <form
        className="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          void save({ name, enabled: false, rollout_percent: 100, description: "" }, true).then(() => setName(""));
        }}
      >
        <label>
          New flag <input value={name} onChange={(e) => setName(e.target.value)} pattern="[a-z0-9_.\-]{1,64}" required />
        </label>
        <button type="submit">Add flag</button>
      </form>
      <ProblemNote problem={problem} />
      {flags?.length === 0 && <p className="muted">No feature flags.</p>}
      <ul className="flags">
        {flags?.map((f) => (
          <li key={f.name} className="card" data-flag={f.name}>
            <strong>{f.name}</strong> {f.description && <span className="muted">{f.description}</span>}
            <div className="form-row">
              <label className="toggle">
                <input
                  type="checkbox"
                  checked={f.enabled}
                  onChange={(e) => {
                    const next = { ...f, enabled: e.target.checked };
                    // Shown at once; the list is read back after the save.
                    setFlags((old) => old?.map((x) => (x.name === f.name ? next : x)));
                    void save(next);
                  }}
                />{" "}
                Enabled
              </label>
              <label>
                Rollout{" "}
                <input
                  type="range"
                  min={0}
                  max={100}
                  step={5}
                  defaultValue={f.rollout_percent}
                  onPointerUp={(e) => void save({ ...f, rollout_percent: Number(e.currentTarget.value) })}
                  onKeyUp={(e) => void save({ ...f, rollout_percent: Number(e.currentTarget.value) })}
                  aria-valuetext={`${f.rollout_percent}%`}
                />{" "}
                <output>{f.rollout_percent}%</output>
              </label>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}

function Cache() {
  const [metrics, setMetrics] = useState<Schemas["PlatformMetrics"]>();
  const [cleared, setCleared] = useState("");
  const [problem, setProblem] = useState<unknown>();
  const load = useCallback(() => call(api.GET("/api/v1/admin/metrics")).then(setMetrics, setProblem), []);
  useEffect(() => {
    void load();
  }, [load]);
  const clear = async (namespace: string | null) => {
    setProblem(undefined);
    try {
      const done = await call(api.POST("/api/v1/admin/cache/clear", { body: { namespace } }));
      setCleared(`Cleared ${done.deleted_keys} keys from ${done.namespaces.join(", ")}.`);
      await load();
    } catch (e) {
      setProblem(e);
    }
  };
  if (!metrics) return problem ? <ProblemNote problem={problem} /> : <p aria-busy="true">Loading…</p>;
  const server = metrics.cache.server;
  return (
    <>
      <p>
        Redis {server.version ?? "?"} ({server.status}): {server.keys ?? 0} keys, {((server.used_memory_bytes ?? 0) / 1048576).toFixed(1)} MB, hit rate{" "}
        {percent(server.hit_rate ?? 0)}.
      </p>
      <BarList
        caption="Hit rate per namespace"
        rows={metrics.cache.namespaces.map((n) => ({ name: n.namespace, value: n.hit_rate ?? 0, note: `${n.hits + n.misses} lookups` }))}
        format={percent}
        max={1}
      />
      <div className="actions">
        {metrics.cache.namespaces.map((n) => (
          <button key={n.namespace} type="button" onClick={() => void clear(n.namespace)}>
            Clear {n.namespace}
          </button>
        ))}
        <button type="button" className="danger" onClick={() => void clear(null)}>
          Clear all caches
        </button>
      </div>
      {cleared && <p role="status">{cleared}</p>}
      <ProblemNote problem={problem} />
    </>
  );
}

function Audit() {
  const [action, setAction] = useState("");
  const [outcome, setOutcome] = useState("");
  const [from, setFrom] = useState("");
  const [page, setPage] = useState<Schemas["AuditPage"]>();
  const [problem, setProblem] = useState<unknown>();
  const load = useCallback(async (a: string, o: string, f: string) => {
    setProblem(undefined);
    try {
      setPage(await call(api.GET("/api/v1/admin/audit", { params: { query: { action: a || null, outcome: o || null, from: f || null, limit: 100 } } })));
    } catch (e) {
      setProblem(e);
    }
  }, []);
  useEffect(() => {
    call(api.GET("/api/v1/admin/audit", { params: { query: { limit: 100 } } })).then(setPage, setProblem);
  }, []);
  return (
    <>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load(action, outcome, from);
        }}
      >
        <label>
          Action <input value={action} onChange={(e) => setAction(e.target.value)} placeholder="admin.flag.update" />
        </label>
        <label>
          Outcome{" "}
          <select value={outcome} onChange={(e) => setOutcome(e.target.value)}>
            <option value="">Any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
            <option value="denied">denied</option>
          </select>
        </label>
        <label>
          From <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ProblemNote problem={problem} />
      <table className="keys audit">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">Outcome</th>
            <th scope="col">Actor</th>
            <th scope="col">Target</th>
          </tr>
        </thead>
        <tbody>
          {page?.data.map((r) => (
            <tr key={r.id}>
              <td>{when(r.occurred_at)}</td>
              <td>{r.action}</td>
              <td>{r.outcome}</td>
              <td>{r.actor_role ?? "–"}</td>
              <td className="small">{[r.target_table, r.target_id].filter(Boolean).join(" ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function AdminPage() {
  useTitle("Admin");
  const { query } = useLocation();
  const tab = query.get("tab") ?? "overview";
  return (
    <>
      <h1>Administration</h1>
      <nav className="tabs" aria-label="Administration">
        {TABS.map(([id, name]) => (
          <Link key={id} href={`/admin?tab=${id}`} aria-current={tab === id ? "page" : undefined}>
            {name}
          </Link>
        ))}
      </nav>
      {tab === "overview" && <Overview />}
      {tab === "users" && <Users />}
      {tab === "flags" && <Flags />}
      {tab === "cache" && <Cache />}
      {tab === "audit" && <Audit />}
    </>
  );
}
