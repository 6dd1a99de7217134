// The person's history: search and filters kept in the address (so a
// reload or a shared link shows the same list), keyset pages loaded on
// demand, a detail view with rerun, favourite and delete, and export.
import { useCallback, useEffect, useId, useState } from "react";
import { api, type EnhanceAnswer, type HistoryItem } from "../api/client";
import { call } from "../api/problem";
import { CopyButton, Download, Highlighted, ProblemNote } from "../components/ui";
import { INTENTS, TECHNIQUES, label, percent, when } from "../lib/words";
import { Link, navigate, useLocation, useTitle } from "../router";
import { Result } from "./Enhance";

interface Filters {
  search: string;
  intent: string;
  technique: string;
  favorites: boolean;
  min_rating: string;
  date_from: string;
  date_to: string;
}

function filtersOf(query: URLSearchParams): Filters {
  return {
    search: query.get("search") ?? "",
    intent: query.get("intent") ?? "",
    technique: query.get("technique") ?? "",
    favorites: query.get("favorites") === "true",
    min_rating: query.get("min_rating") ?? "",
    date_from: query.get("date_from") ?? "",
    date_to: query.get("date_to") ?? "",
  };
}

function queryOf(f: Filters): string {
  const q = new URLSearchParams();
  if (f.search) q.set("search", f.search);
  if (f.intent) q.set("intent", f.intent);
  if (f.technique) q.set("technique", f.technique);
  if (f.favorites) q.set("favorites", "true");
  if (f.min_rating) q.set("min_rating", f.min_rating);
  if (f.date_from) q.set("date_from", f.date_from);
  if (f.date_to) q.set("date_to", f.date_to);
  const s = q.toString();
  return s ? `?${s}` : "";
}

async function fetchPage(f: Filters, cursor: string | null) {
  return call(
    api.GET("/api/v1/history", {
      params: {
        query: {
          limit: 20,
          cursor,
          search: f.search || null,
          intent: f.intent || null,
          technique: f.technique || null,
          favorites: f.favorites ? true : null,
          min_rating: f.min_rating ? Number(f.min_rating) : null,
          // The dates are whole days in the reader's calendar.
          date_from: f.date_from ? new Date(`${f.date_from}T00:00:00`).toISOString() : null,
          date_to: f.date_to ? new Date(`${f.date_to}T23:59:59.999`).toISOString() : null,
        },
      },
    }),
  );
}

export function HistoryPage() {
  useTitle("History");
  const { query } = useLocation();
  const applied = filtersOf(query);
  const key = queryOf(applied);
  // A new filter set is a new list: remount, so its state starts fresh.
  return <HistoryList key={key} applied={applied} filtered={key !== ""} />;
}

function HistoryList({ applied, filtered }: { applied: Filters; filtered: boolean }) {
  const [draft, setDraft] = useState<Filters>(applied);
  const [items, setItems] = useState<HistoryItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasNext, setHasNext] = useState(false);
  const [loading, setLoading] = useState(true);
  const [problem, setProblem] = useState<unknown>();
  const searchId = useId();

  const [first] = useState(applied);
  useEffect(() => {
    let live = true;
    fetchPage(first, null)
      .then((page) => {
        if (!live) return;
        setItems(page.data);
        setCursor(page.pagination.next_cursor ?? null);
        setHasNext(page.pagination.has_next);
      })
      .catch((e: unknown) => live && setProblem(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [first]);

  const more = async () => {
    setLoading(true);
    try {
      const page = await fetchPage(applied, cursor);
      setItems((old) => [...old, ...page.data]);
      setCursor(page.pagination.next_cursor ?? null);
      setHasNext(page.pagination.has_next);
    } catch (e) {
      setProblem(e);
    } finally {
      setLoading(false);
    }
  };

  const removed = useCallback((id: string) => setItems((old) => old.filter((i) => i.id !== id)), []);

  return (
    <>
      <div className="page-head">
        <h1>History</h1>
        <span className="export">
          Export:{" "}
          <Download href="/api/v1/history/export?format=json" filename="betterprompts-history.ndjson">
            JSON lines
          </Download>{" "}
          <Download href="/api/v1/history/export?format=csv" filename="betterprompts-history.csv">
            CSV
          </Download>
        </span>
      </div>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/history${queryOf(draft)}`);
        }}
      >
        <label htmlFor={searchId} className="visually-hidden">
          Search your prompts
        </label>
        <input
          id={searchId}
          type="search"
          placeholder="Search your prompts"
          value={draft.search}
          onChange={(e) => setDraft({ ...draft, search: e.target.value })}
        />
        <label>
          Intent{" "}
          <select value={draft.intent} onChange={(e) => setDraft({ ...draft, intent: e.target.value })}>
            <option value="">Any</option>
            {INTENTS.map((i) => (
              <option key={i} value={i}>
                {label(i)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Technique{" "}
          <select value={draft.technique} onChange={(e) => setDraft({ ...draft, technique: e.target.value })}>
            <option value="">Any</option>
            {TECHNIQUES.map((t) => (
              <option key={t} value={t}>
                {label(t)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Rating{" "}
          <select value={draft.min_rating} onChange={(e) => setDraft({ ...draft, min_rating: e.target.value })}>
            <option value="">Any</option>
            {[5, 4, 3, 2, 1].map((n) => (
              <option key={n} value={String(n)}>
                {n === 5 ? "5 stars" : `${n}+ stars`}
              </option>
            ))}
          </select>
        </label>
        <label>
          From <input type="date" value={draft.date_from} onChange={(e) => setDraft({ ...draft, date_from: e.target.value })} />
        </label>
        <label>
          To <input type="date" value={draft.date_to} onChange={(e) => setDraft({ ...draft, date_to: e.target.value })} />
        </label>
        <label className="toggle">
          <input type="checkbox" checked={draft.favorites} onChange={(e) => setDraft({ ...draft, favorites: e.target.checked })} />{" "}
          Favourites only
        </label>
        <button type="submit">Apply</button>
      </form>
      <ProblemNote problem={problem} />
      {!loading && items.length === 0 && !problem && (
        <p className="empty">
          {filtered ? "Nothing matches these filters." : "No enhancements yet."} <Link href="/enhance">Enhance a prompt</Link>
        </p>
      )}
      <ul className="history" aria-busy={loading}>
        {items.map((item) => (
          <HistoryRow key={item.id} item={item} onRemoved={removed} />
        ))}
      </ul>
      {hasNext && (
        <button type="button" onClick={more} disabled={loading}>
          {loading ? "Loading…" : "Load more"}
        </button>
      )}
    </>
  );
}

function Favorite({ item, onChange }: { item: HistoryItem; onChange: (on: boolean) => void }) {
  const [problem, setProblem] = useState<unknown>();
  const toggle = async () => {
    setProblem(undefined);
    try {
      const res = await call(
        api.PUT("/api/v1/history/{id}/favorite", { params: { path: { id: item.id } }, body: { is_favorite: !item.is_favorite } }),
      );
      onChange(res.is_favorite);
    } catch (e) {
      setProblem(e);
    }
  };
  return (
    <>
      <button type="button" className="icon" aria-pressed={item.is_favorite} onClick={toggle} aria-label="Favourite">
        {item.is_favorite ? "★" : "☆"}
      </button>
      <ProblemNote problem={problem} />
    </>
  );
}

/** Delete behind a confirmation. */
function Delete({ id, onDeleted }: { id: string; onDeleted: () => void }) {
  const [asking, setAsking] = useState(false);
  const [problem, setProblem] = useState<unknown>();
  const remove = async () => {
    try {
      await call(api.DELETE("/api/v1/history/{id}", { params: { path: { id } } }));
      onDeleted();
    } catch (e) {
      setProblem(e);
    }
  };
  return asking ? (
    <span className="confirm" role="group" aria-label="Confirm delete">
      <button type="button" className="danger" onClick={remove}>
        Yes, delete
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Keep
      </button>
      <ProblemNote problem={problem} />
    </span>
  ) : (
    <button type="button" onClick={() => setAsking(true)}>
      Delete
    </button>
  );
}

function HistoryRow({ item: initial, onRemoved }: { item: HistoryItem; onRemoved: (id: string) => void }) {
  const [item, setItem] = useState(initial);
  return (
    <li className="history-row">
      <Favorite item={item} onChange={(on) => setItem({ ...item, is_favorite: on })} />
      <div className="history-main">
        <Link href={`/history/${item.id}`} className="history-text">
          {item.original_input.length > 160 ? `${item.original_input.slice(0, 160)}…` : item.original_input}
        </Link>
        <div className="muted small">
          {when(item.created_at)} · {item.intent ? label(item.intent) : "unknown"} ·{" "}
          {item.techniques_used.map(label).join(", ") || "no technique"}
          {item.feedback_score ? ` · rated ${item.feedback_score}/5` : ""}
        </div>
      </div>
      <Delete id={item.id} onDeleted={() => onRemoved(item.id)} />
    </li>
  );
}

export function HistoryDetailPage({ id }: { id: string }) {
  useTitle("Enhancement");
  const [item, setItem] = useState<HistoryItem>();
  const [rerun, setRerun] = useState<EnhanceAnswer>();
  const [problem, setProblem] = useState<unknown>();
  useEffect(() => {
    let live = true;
    call(api.GET("/api/v1/history/{id}", { params: { path: { id } } }))
      .then((i) => live && setItem(i))
      .catch((e: unknown) => live && setProblem(e));
    return () => {
      live = false;
    };
  }, [id]);
  const again = async () => {
    setProblem(undefined);
    try {
      setRerun(await call(api.POST("/api/v1/prompts/{id}/rerun", { params: { path: { id } } })));
    } catch (e) {
      setProblem(e);
    }
  };
  if (!item) {
    return problem ? <ProblemNote problem={problem} /> : <p aria-busy="true">Loading…</p>;
  }
  return (
    <>
      <p>
        <Link href="/history">← History</Link>
      </p>
      <div className="page-head">
        <h1>Enhancement</h1>
        <span className="actions">
          <Favorite item={item} onChange={(on) => setItem({ ...item, is_favorite: on })} />
          <button type="button" onClick={again}>
            Rerun
          </button>
          <Delete id={item.id} onDeleted={() => navigate("/history", { replace: true })} />
        </span>
      </div>
      <ProblemNote problem={problem} />
      <dl className="facts">
        <div>
          <dt>When</dt>
          <dd>{when(item.created_at)}</dd>
        </div>
        <div>
          <dt>Intent</dt>
          <dd>
            {item.intent ? label(item.intent) : "unknown"}
            {item.intent_confidence != null && <span className="muted"> ({percent(item.intent_confidence)})</span>}
          </dd>
        </div>
        <div>
          <dt>Complexity</dt>
          <dd>{item.complexity ? label(item.complexity) : "–"}</dd>
        </div>
        <div>
          <dt>Techniques</dt>
          <dd>{item.techniques_used.map(label).join(", ") || "none"}</dd>
        </div>
        <div>
          <dt>Rating</dt>
          <dd>{item.feedback_score ? `${item.feedback_score}/5` : "not rated"}</dd>
        </div>
      </dl>
      {item.feedback_text && <blockquote>{item.feedback_text}</blockquote>}
      <div className="compare">
        <div className="pane">
          <h2>Your prompt</h2>
          <pre className="text">{item.original_input}</pre>
        </div>
        <div className="pane">
          <h2>Enhanced prompt</h2>
          <pre className="text" data-testid="enhanced">
            <Highlighted original={item.original_input} enhanced={item.enhanced_output} highlight />
          </pre>
        </div>
      </div>
      <div className="actions">
        <CopyButton text={item.enhanced_output} label="Copy enhanced prompt" />
      </div>
      {rerun && (
        <section className="result" aria-label="Rerun">
          <h2>Rerun</h2>
          <Result answer={rerun} original={item.original_input} signedIn />
        </section>
      )}
    </>
  );
}
