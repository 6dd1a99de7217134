// Small shared pieces: the error notice, the copy button, the highlighted diff.
import { useEffect, useId, useState, type MouseEvent, type ReactNode } from "react";
import { sessionFetch } from "../api/client";
import { Problem, problemFrom, unreachable } from "../api/problem";
import { addedSegments } from "../lib/diff";
import { TECHNIQUES, label } from "../lib/words";

/** "Try again in N s", counting down to zero. */
function Countdown({ seconds }: { seconds: number }) {
  const [left, setLeft] = useState(seconds);
  useEffect(() => {
    const timer = window.setInterval(() => setLeft((s) => Math.max(0, s - 1)), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return <>{left > 0 ? `Too many requests. Try again in ${left} s.` : "You can try again now."}</>;
}

/** A stable number per problem object, so a new 429 restarts its countdown. */
const ids = new WeakMap<object, number>();
let next = 0;
function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) {
    id = next++;
    ids.set(o, id);
  }
  return id;
}

/** An error a person can act on, announced to screen readers. 429s count down. */
export function ProblemNote({ problem, id }: { problem: unknown; id?: string }) {
  if (!problem) return null;
  const p = problem instanceof Problem ? problem : undefined;
  return (
    <p className="problem" role="alert" id={id} data-status={p?.status}>
      {p?.retryAfter !== undefined ? <Countdown key={idOf(p)} seconds={p.retryAfter} /> : (p?.message ?? "Something went wrong.")}
    </p>
  );
}

/** Copies `text`, and says so. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      setState("failed");
    }
    window.setTimeout(() => setState("idle"), 2000);
  };
  return (
    <button type="button" onClick={copy} aria-live="polite">
      {state === "copied" ? "Copied" : state === "failed" ? "Copy failed: select the text" : label}
    </button>
  );
}

/** The enhanced text with what was added to the original highlighted. */
export function Highlighted({ original, enhanced, highlight }: { original: string; enhanced: string; highlight: boolean }) {
  if (!highlight) return <>{enhanced}</>;
  return (
    <>
      {addedSegments(original, enhanced).map((s, i) =>
        s.added ? (
          <mark key={i} className="added">
            {s.text}
          </mark>
        ) : (
          <span key={i}>{s.text}</span>
        ),
      )}
    </>
  );
}

/**
 * A download from the API, fetched by the page (so an expired session is
 * refreshed first, and an error is shown instead of being saved as the
 * file), then handed to the browser as a file.
 */
export function Download({ href, filename, children, className }: { href: string; filename: string; children: ReactNode; className?: string }) {
  const [problem, setProblem] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const get = async (e: MouseEvent<HTMLAnchorElement>) => {
    e.preventDefault();
    setProblem(undefined);
    setBusy(true);
    try {
      let res: Response;
      try {
        res = await sessionFetch(new Request(new URL(href, window.location.origin)));
      } catch {
        throw unreachable();
      }
      if (!res.ok) throw problemFrom(res.status, await res.json().catch(() => ({})), res.headers.get("retry-after"));
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = filename;
      a.click();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setProblem(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <a href={href} download={filename} onClick={get} className={className} aria-busy={busy}>
        {children}
      </a>
      <ProblemNote problem={problem} />
    </>
  );
}

/** A labelled input; when the server's error names its field, the message
 * sits next to it (`aria-invalid`, `aria-describedby`). */
export function Field(props: {
  label: string;
  name: string;
  value: string;
  onChange: (v: string) => void;
  type?: string;
  problem?: unknown;
  autoComplete?: string;
  required?: boolean;
}) {
  const id = useId();
  const mine = props.problem instanceof Problem && props.problem.field === props.name;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        autoComplete={props.autoComplete}
        required={props.required}
        aria-invalid={mine}
        aria-describedby={mine ? `${id}-error` : undefined}
      />
      {mine && <ProblemNote problem={props.problem} id={`${id}-error`} />}
    </div>
  );
}

/** What the person wants of one technique. */
export type Choice = "auto" | "prefer" | "exclude";

/** Auto / prefer / exclude for every technique (the enhance form and the
 * preferences); each select is named `${prefix}${technique}`. */
export function TechniqueChoices({
  prefix,
  choice,
  onChange,
}: {
  prefix: string;
  choice: (technique: string) => Choice;
  onChange: (technique: string, choice: Choice) => void;
}) {
  return (
    <div className="technique-grid">
      {TECHNIQUES.map((t) => (
        <label key={t}>
          <span>{label(t)}</span>
          <select name={`${prefix}${t}`} value={choice(t)} onChange={(e) => onChange(t, e.target.value as Choice)}>
            <option value="auto">Auto</option>
            <option value="prefer">Prefer</option>
            <option value="exclude">Exclude</option>
          </select>
        </label>
      ))}
    </div>
  );
}
