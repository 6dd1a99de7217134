// The library: saved prompts with tags and share links, collections whose
// order is dragged (or moved by keyboard), public templates, and "find
// prompts like this one" over the person's own history. Plus the read-only
// page a share link opens, signed in or not.
import { useCallback, useEffect, useId, useState, type DragEvent, type FormEvent } from "react";
import { api, type Schemas } from "../api/client";
import { call } from "../api/problem";
import { CopyButton, ProblemNote } from "../components/ui";
import { label, percent, when } from "../lib/words";
import { Link, navigate, useLocation, useTitle } from "../router";

type Saved = Schemas["SavedView"];
type Collection = Schemas["CollectionView"];

/** The page address a share token opens. */
export function shareLink(token: string): string {
  return `${window.location.origin}/s/${token}`;
}

/** "a, b ,c" → ["a", "b", "c"], without empties or repeats. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(",").map((t) => t.trim()).filter(Boolean))];
}

function SavedCard({
  item: initial,
  collections,
  onRemoved,
}: {
  item: Saved;
  collections: Collection[];
  onRemoved: (id: string) => void;
}) {
  const [item, setItem] = useState(initial);
  const [tags, setTags] = useState(initial.tags.join(", "));
  const [problem, setProblem] = useState<unknown>();
  const [confirming, setConfirming] = useState(false);
  const [added, setAdded] = useState("");
  const tagsId = useId();
  const update = async (body: Schemas["UpdateSavedBody"]) => {
    setProblem(undefined);
    try {
      setItem(await call(api.PUT("/api/v1/prompts/saved/{id}", { params: { path: { id: item.id } }, body })));
    } catch (e) {
      setProblem(e);
    }
  };
  const addTo = async (collection: string) => {
    if (!collection) return;
    setProblem(undefined);
    try {
      await call(api.POST("/api/v1/collections/{id}/prompts/{saved_id}", { params: { path: { id: collection, saved_id: item.id } } }));
      setAdded(collections.find((c) => c.id === collection)?.name ?? "");
    } catch (e) {
      setProblem(e);
    }
  };
  const remove = async () => {
    try {
      await call(api.DELETE("/api/v1/prompts/saved/{id}", { params: { path: { id: item.id } } }));
      onRemoved(item.id);
    } catch (e) {
      setProblem(e);
    }
  };
  return (
    <li className="card saved" aria-label={item.title}>
      <h3>{item.title}</h3>
      <p className="muted small">
        {when(item.created_at)}
        {item.intent ? ` · ${label(item.intent)}` : ""}
      </p>
      {item.enhanced_text && <pre className="text excerpt">{item.enhanced_text}</pre>}
      <ul className="tags" aria-label="Tags">
        {item.tags.map((t) => (
          <li key={t}>
            <Link href={`/library?tag=${encodeURIComponent(t)}`}>#{t}</Link>
          </li>
        ))}
      </ul>
      <form
        className="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          void update({ tags: parseTags(tags) });
        }}
      >
        <label htmlFor={tagsId}>Edit tags</label>
        <input id={tagsId} value={tags} onChange={(e) => setTags(e.target.value)} placeholder="work, email" />
        <button type="submit">Save tags</button>
      </form>
      <div className="actions">
        {item.enhanced_text && <CopyButton text={item.enhanced_text} label="Copy" />}
        {item.share_token ? (
          <>
            <a href={shareLink(item.share_token)} data-testid="share-link">
              Share link
            </a>
            <CopyButton text={shareLink(item.share_token)} label="Copy link" />
            <button type="button" onClick={() => void update({ share: false })}>
              Stop sharing
            </button>
          </>
        ) : (
          <button type="button" onClick={() => void update({ share: true })}>
            Share
          </button>
        )}
        {collections.length > 0 && (
          <label>
            <span className="visually-hidden">Add to collection</span>
            <select value="" onChange={(e) => void addTo(e.target.value)}>
              <option value="">Add to collection…</option>
              {collections.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {confirming ? (
          <span className="confirm" role="group" aria-label="Confirm delete">
            <button type="button" className="danger" onClick={() => void remove()}>
              Yes, delete
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
      </div>
      {added && (
        <p role="status" className="muted">
          Added to {added}.
        </p>
      )}
      <ProblemNote problem={problem} />
    </li>
  );
}

function Collections({ collections, reload }: { collections: Collection[]; reload: () => Promise<void> }) {
  const [name, setName] = useState("");
  const [problem, setProblem] = useState<unknown>();
  const nameId = useId();
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      await call(api.POST("/api/v1/collections", { body: { name } }));
      setName("");
      await reload();
    } catch (err) {
      setProblem(err);
    }
  };
  return (
    <section aria-labelledby="collections-h">
      <h2 id="collections-h">Collections</h2>
      <form className="form-row" onSubmit={create}>
        <label htmlFor={nameId}>New collection</label>
        <input id={nameId} value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        <button type="submit">Create</button>
      </form>
      <ProblemNote problem={problem} />
      <ul className="collections">
        {collections.map((c) => (
          <li key={c.id}>
            <Link href={`/library/collections/${c.id}`}>{c.name}</Link>{" "}
            <span className="muted">({c.prompt_count ?? 0})</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Similar() {
  const [query, setQuery] = useState("");
  const [answer, setAnswer] = useState<Schemas["SearchAnswer"]>();
  const [problem, setProblem] = useState<unknown>();
  const id = useId();
  const search = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      setAnswer(await call(api.POST("/api/v1/search", { body: { query, source_type: "prompt_history", limit: 10 } })));
    } catch (err) {
      setProblem(err);
    }
  };
  return (
    <section aria-labelledby="similar-h">
      <h2 id="similar-h">Find prompts like this one</h2>
      <form className="form-row" onSubmit={search} role="search">
        <label htmlFor={id} className="visually-hidden">
          A prompt to find similar ones to
        </label>
        <input id={id} className="grow" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Describe the prompt you are looking for" required />
        <button type="submit">Find similar</button>
      </form>
      <ProblemNote problem={problem} />
      {answer && answer.results.length === 0 && <p className="muted">Nothing similar in your history yet.</p>}
      {answer && answer.results.length > 0 && (
        <ol className="similar">
          {answer.results.map((r) => (
            <li key={r.source_id}>
              <Link href={`/history/${r.source_id}`}>{r.title}</Link> <span className="muted">({percent(Math.max(0, r.similarity))} alike)</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Templates() {
  const [templates, setTemplates] = useState<Schemas["TemplateView"][]>();
  const [problem, setProblem] = useState<unknown>();
  useEffect(() => {
    call(api.GET("/api/v1/templates")).then((l) => setTemplates(l.data), setProblem);
  }, []);
  return (
    <section aria-labelledby="templates-h">
      <h2 id="templates-h">Public templates</h2>
      <ProblemNote problem={problem} />
      {templates?.length === 0 && <p className="muted">No public templates.</p>}
      <ul className="template-list">
        {templates?.map((t) => (
          <li key={t.id} className="card">
            <h3>{t.name}</h3>
            <p className="muted small">
              {label(t.technique)}
              {t.category ? ` · ${t.category}` : ""}
            </p>
            {t.description && <p>{t.description}</p>}
            <details>
              <summary>Template</summary>
              <pre className="text">{t.template_text}</pre>
              <CopyButton text={t.template_text} label="Copy template" />
            </details>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function LibraryPage() {
  useTitle("Library");
  const { query } = useLocation();
  const tag = query.get("tag") ?? "";
  const [saved, setSaved] = useState<Saved[]>();
  const [collections, setCollections] = useState<Collection[]>([]);
  const [problem, setProblem] = useState<unknown>();
  const loadCollections = useCallback(async () => {
    try {
      setCollections((await call(api.GET("/api/v1/collections"))).data);
    } catch (e) {
      setProblem(e);
    }
  }, []);
  useEffect(() => {
    let live = true;
    // Both lists at once: no waterfall.
    Promise.all([
      call(api.GET("/api/v1/prompts/saved", { params: { query: { tag: tag || null, limit: 100 } } })),
      call(api.GET("/api/v1/collections")),
    ]).then(
      ([s, c]) => {
        if (!live) return;
        setSaved(s.data);
        setCollections(c.data);
      },
      (e: unknown) => live && setProblem(e),
    );
    return () => {
      live = false;
    };
  }, [tag]);
  return (
    <>
      <h1>Library</h1>
      <ProblemNote problem={problem} />
      <div className="library">
        <section aria-labelledby="saved-h">
          <h2 id="saved-h">
            Saved prompts{tag && <> tagged #{tag}</>}
            {tag && (
              <>
                {" "}
                <Link href="/library" className="small">
                  (all)
                </Link>
              </>
            )}
          </h2>
          {saved?.length === 0 && (
            <p className="muted">
              Nothing saved yet. <Link href="/enhance">Enhance a prompt</Link> and press &quot;Save to library&quot;.
            </p>
          )}
          <ul className="saved-list">
            {saved?.map((s) => (
              <SavedCard
                key={s.id}
                item={s}
                collections={collections}
                onRemoved={(id) => setSaved((old) => old?.filter((x) => x.id !== id))}
              />
            ))}
          </ul>
        </section>
        <div>
          <Collections collections={collections} reload={loadCollections} />
          <Similar />
        </div>
      </div>
      <Templates />
    </>
  );
}

/** Moves the item at `from` to `to`. */
export function moved<T>(list: T[], from: number, to: number): T[] {
  const out = [...list];
  const [item] = out.splice(from, 1);
  if (item === undefined) return list;
  out.splice(to, 0, item);
  return out;
}

export function CollectionPage({ id }: { id: string }) {
  useTitle("Collection");
  const [collection, setCollection] = useState<Collection>();
  const [items, setItems] = useState<Saved[]>([]);
  const [dragging, setDragging] = useState<number>();
  const [problem, setProblem] = useState<unknown>();
  const [status, setStatus] = useState("");
  useEffect(() => {
    call(api.GET("/api/v1/collections/{id}", { params: { path: { id } } })).then((c) => {
      setCollection(c);
      setItems(c.prompts ?? []);
    }, setProblem);
  }, [id]);
  const save = async (body: Schemas["CollectionBody"]) => {
    setProblem(undefined);
    try {
      const c = await call(api.PUT("/api/v1/collections/{id}", { params: { path: { id } }, body }));
      setCollection(c);
      if (c.prompts) setItems(c.prompts);
      return true;
    } catch (e) {
      setProblem(e);
      return false;
    }
  };
  const reorder = async (from: number, to: number) => {
    if (from === to || to < 0 || to >= items.length) return;
    const next = moved(items, from, to);
    const before = items;
    setItems(next);
    if (await save({ order: next.map((s) => s.id) })) setStatus(`Moved "${next[to]?.title ?? ""}" to position ${to + 1}.`);
    else setItems(before);
  };
  const removeItem = async (saved: string) => {
    try {
      await call(api.DELETE("/api/v1/collections/{id}/prompts/{saved_id}", { params: { path: { id, saved_id: saved } } }));
      setItems((old) => old.filter((s) => s.id !== saved));
    } catch (e) {
      setProblem(e);
    }
  };
  if (!collection) return problem ? <ProblemNote problem={problem} /> : <p aria-busy="true">Loading…</p>;
  const token = collection.share_token;
  return (
    <>
      <p>
        <Link href="/library">← Library</Link>
      </p>
      <div className="page-head">
        <h1>{collection.name}</h1>
        <span className="actions">
          {token ? (
            <>
              <a href={shareLink(token)} data-testid="share-link">
                Share link
              </a>
              <CopyButton text={shareLink(token)} label="Copy link" />
              <button type="button" onClick={() => void save({ share: false })}>
                Stop sharing
              </button>
            </>
          ) : (
            <button type="button" onClick={() => void save({ share: true })}>
              Share
            </button>
          )}
          <button
            type="button"
            className="danger"
            onClick={() => {
              void call(api.DELETE("/api/v1/collections/{id}", { params: { path: { id } } })).then(() => navigate("/library"), setProblem);
            }}
          >
            Delete collection
          </button>
        </span>
      </div>
      <ProblemNote problem={problem} />
      <p className="hint">Drag the prompts to reorder them, or use the arrow buttons.</p>
      <p className="visually-hidden" role="status">
        {status}
      </p>
      {items.length === 0 && <p className="muted">No prompts in this collection yet: add them from the library.</p>}
      <ol className="reorder">
        {items.map((s, i) => (
          <li
            key={s.id}
            draggable
            data-testid="collection-item"
            className={dragging === i ? "dragging" : ""}
            onDragStart={(e: DragEvent) => {
              setDragging(i);
              e.dataTransfer.effectAllowed = "move";
              e.dataTransfer.setData("text/plain", String(i));
            }}
            onDragOver={(e) => e.preventDefault()}
            onDrop={(e) => {
              e.preventDefault();
              const from = Number(e.dataTransfer.getData("text/plain"));
              setDragging(undefined);
              void reorder(from, i);
            }}
            onDragEnd={() => setDragging(undefined)}
          >
            <span className="grip" aria-hidden="true">
              ⠿
            </span>
            <span className="grow">{s.title}</span>
            <button type="button" onClick={() => void reorder(i, i - 1)} disabled={i === 0} aria-label={`Move ${s.title} up`}>
              ↑
            </button>
            <button type="button" onClick={() => void reorder(i, i + 1)} disabled={i === items.length - 1} aria-label={`Move ${s.title} down`}>
              ↓
            </button>
            <button type="button" onClick={() => void removeItem(s.id)} aria-label={`Remove ${s.title}`}>
              Remove
            </button>
          </li>
        ))}
      </ol>
    </>
  );
}

/** What a share link opens: read-only, for anyone. */
export function SharedPage({ token }: { token: string }) {
  useTitle("Shared prompt");
  const [item, setItem] = useState<Schemas["SharedItem"]>();
  const [problem, setProblem] = useState<unknown>();
  useEffect(() => {
    call(api.GET("/api/v1/shared/{token}", { params: { path: { token } } })).then(setItem, setProblem);
  }, [token]);
  if (!item) return problem ? <ProblemNote problem={problem} /> : <p aria-busy="true">Loading…</p>;
  const prompts: Saved[] = "prompts" in item && item.prompts ? item.prompts : "title" in item ? [item] : [];
  const heading = "name" in item ? item.name : (prompts[0]?.title ?? "Shared prompt");
  return (
    <>
      <p className="muted">Shared with you from BetterPrompts (read only).</p>
      <h1>{heading}</h1>
      <ol className="shared">
        {prompts.map((p) => (
          <li key={p.id} className="card">
            <h2>{p.title}</h2>
            {p.description && <p>{p.description}</p>}
            {p.enhanced_text && (
              <>
                <pre className="text">{p.enhanced_text}</pre>
                <CopyButton text={p.enhanced_text} label="Copy prompt" />
              </>
            )}
          </li>
        ))}
      </ol>
      <p>
        <Link href="/">Try BetterPrompts</Link>
      </p>
    </>
  );
}
