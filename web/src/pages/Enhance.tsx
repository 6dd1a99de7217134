// The heart of the product: type a rough prompt, get a better one, see why,
// copy it or take it to a chat assistant, answer the engine's questions,
// save and rate it.
import { useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { api, type EnhanceAnswer } from "../api/client";
import { call, Problem } from "../api/problem";
import { CopyButton, Highlighted, ProblemNote, TechniqueChoices, type Choice } from "../components/ui";
import { ASSISTANTS, LEVELS, label, percent, withAnswers } from "../lib/words";
import { Link, useTitle } from "../router";
import { useSession } from "../session";


/** The form and its result; `compact` is the landing page's try-it box. */
export function EnhanceWorkspace({ compact = false, initialText = "" }: { compact?: boolean; initialText?: string }) {
  const { user, keepHistory } = useSession();
  const [text, setText] = useState(initialText);
  const [level, setLevel] = useState<string>("");
  const [choices, setChoices] = useState<Record<string, Choice>>({});
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>();
  const [answer, setAnswer] = useState<EnhanceAnswer>();
  const [submitted, setSubmitted] = useState("");
  const inputId = useId();
  const errorId = useId();
  const resultRef = useRef<HTMLElement>(null);

  const run = async (prompt: string) => {
    if (prompt.trim() === "") {
      setProblem(new Problem(400, "Type a prompt first.", undefined, "text"));
      return;
    }
    setBusy(true);
    setProblem(undefined);
    const pick = (c: Choice) => Object.entries(choices).filter(([, v]) => v === c).map(([k]) => k);
    try {
      const result = await call(
        api.POST("/api/v1/enhance", {
          body: {
            text: prompt,
            level: level === "" ? null : level,
            prefer_techniques: pick("prefer"),
            exclude_techniques: pick("exclude"),
          },
        }),
      );
      setAnswer(result);
      setSubmitted(prompt);
      window.requestAnimationFrame(() => resultRef.current?.focus());
    } catch (e) {
      setProblem(e);
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(text);
  };
  const keys = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void run(text);
    }
  };
  const fieldProblem = problem instanceof Problem && problem.field === "text";

  return (
    <div className="workspace">
      <form onSubmit={submit} className="enhance-form" aria-label="Enhance a prompt">
        <label htmlFor={inputId}>Your prompt</label>
        <textarea
          id={inputId}
          name="text"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={keys}
          rows={compact ? 5 : 9}
          maxLength={16000}
          placeholder="e.g. write a cover letter for a junior data analyst job at a bank"
          aria-invalid={fieldProblem}
          aria-describedby={fieldProblem ? errorId : undefined}
          spellCheck
        />
        {fieldProblem && <ProblemNote problem={problem} id={errorId} />}
        <div className="form-row">
          <label>
            Level{" "}
            <select value={level} onChange={(e) => setLevel(e.target.value)} name="level">
              <option value="">{user ? "My preference" : "Standard"}</option>
              {LEVELS.map((l) => (
                <option key={l} value={l}>
                  {label(l)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Enhancing…" : "Enhance"}
          </button>
          <span className="hint">
            <kbd>Ctrl</kbd>+<kbd>Enter</kbd>
          </span>
        </div>
        {!compact && (
          <details className="techniques-picker">
            <summary>Techniques</summary>
            <p className="hint">Prefer or exclude techniques; the rest are chosen for the prompt.</p>
            <TechniqueChoices
              prefix="technique-"
              choice={(t) => choices[t] ?? "auto"}
              onChange={(t, c) => setChoices({ ...choices, [t]: c })}
            />
          </details>
        )}
        {!fieldProblem && <ProblemNote problem={problem} />}
      </form>
      {answer && (
        <section className="result" aria-label="Enhanced prompt" tabIndex={-1} ref={resultRef}>
          <Result
            key={answer.id + answer.enhanced_text.length}
            answer={answer}
            original={submitted}
            signedIn={Boolean(user)}
            saved={keepHistory}
            onAnswers={(answers) => {
              const next = withAnswers(submitted, answers);
              setText(next);
              void run(next);
            }}
          />
        </section>
      )}
      {compact && !user && answer && (
        <p className="hint">
          <Link href="/register">Create an account</Link> to keep a history, save prompts and rate results.
        </p>
      )}
    </div>
  );
}

/** An enhancement: what was understood, what was chosen and why, the texts side by side. */
export function Result({
  answer,
  original,
  signedIn,
  saved = true,
  onAnswers,
}: {
  answer: EnhanceAnswer;
  original: string;
  signedIn: boolean;
  /** Whether it went into the person's history (false: history is off). */
  saved?: boolean;
  onAnswers?: (answers: [string, string][]) => void;
}) {
  const [highlight, setHighlight] = useState(true);
  const details = answer.metadata.technique_details;
  return (
    <>
      <dl className="facts">
        <div>
          <dt>Intent</dt>
          <dd data-testid="intent">
            {label(answer.intent)} <span className="muted">({percent(answer.confidence)})</span>
          </dd>
        </div>
        <div>
          <dt>Complexity</dt>
          <dd>{label(answer.complexity)}</dd>
        </div>
        <div>
          <dt>Level</dt>
          <dd data-testid="level">{label(answer.level)}</dd>
        </div>
      </dl>
      {details.length > 0 ? (
        <ul className="techniques" aria-label="Techniques chosen">
          {details.map((t) => (
            <li key={t.id} data-technique={t.id}>
              <strong>{label(t.id)}</strong> <span>{t.reasoning}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No technique was needed: the prompt is kept as it is, with a light touch.</p>
      )}
      {answer.questions.length > 0 && onAnswers && <Questions questions={answer.questions} onAnswers={onAnswers} />}
      <div className="compare">
        <div className="pane">
          <h3>Your prompt</h3>
          <pre className="text">{original}</pre>
        </div>
        <div className="pane">
          <div className="pane-head">
            <h3>Enhanced prompt</h3>
            <label className="toggle">
              <input type="checkbox" checked={highlight} onChange={(e) => setHighlight(e.target.checked)} /> Highlight
              additions
            </label>
          </div>
          <pre className="text" data-testid="enhanced">
            <Highlighted original={original} enhanced={answer.enhanced_text} highlight={highlight} />
          </pre>
        </div>
      </div>
      <div className="actions">
        <CopyButton text={answer.enhanced_text} label="Copy enhanced prompt" />
        <OpenIn prompt={answer.enhanced_text} />
        {signedIn && saved && <SaveButton historyId={answer.id} original={original} />}
      </div>
      {signedIn && saved && <Rating answer={answer} />}
      {signedIn && !saved && (
        <p className="hint">
          Your history is off (<Link href="/settings">settings</Link>), so this enhancement is not kept in your account and
          cannot be saved or rated.
        </p>
      )}
    </>
  );
}

function Questions({ questions, onAnswers }: { questions: string[]; onAnswers: (a: [string, string][]) => void }) {
  const [values, setValues] = useState<string[]>(questions.map(() => ""));
  const baseId = useId();
  return (
    <form
      className="questions"
      aria-label="Questions about your prompt"
      onSubmit={(e) => {
        e.preventDefault();
        onAnswers(questions.map((q, i) => [q, values[i] ?? ""]));
      }}
    >
      <p>A few details would make this much better:</p>
      {questions.map((q, i) => (
        <div key={q} className="field">
          <label htmlFor={`${baseId}-${i}`}>{q}</label>
          <input
            id={`${baseId}-${i}`}
            value={values[i] ?? ""}
            onChange={(e) => setValues(values.map((v, j) => (j === i ? e.target.value : v)))}
          />
        </div>
      ))}
      <button type="submit" disabled={values.every((v) => v.trim() === "")}>
        Enhance again with my answers
      </button>
    </form>
  );
}

function OpenIn({ prompt }: { prompt: string }) {
  const [assistant, setAssistant] = useState(() => window.localStorage.getItem("bp.assistant") ?? "chatgpt");
  const chosen = ASSISTANTS.find((a) => a.id === assistant) ?? ASSISTANTS[0];
  if (!chosen) return null;
  return (
    <span className="open-in">
      <label>
        <span className="visually-hidden">Chat assistant</span>
        <select
          value={chosen.id}
          onChange={(e) => {
            setAssistant(e.target.value);
            window.localStorage.setItem("bp.assistant", e.target.value);
          }}
        >
          {ASSISTANTS.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
      </label>
      <a className="button" href={chosen.url(prompt)} target="_blank" rel="noopener noreferrer">
        Open in {chosen.name}
      </a>
    </span>
  );
}

function SaveButton({ historyId, original }: { historyId: string; original: string }) {
  const [state, setState] = useState<"idle" | "saving" | "saved">("idle");
  const [problem, setProblem] = useState<unknown>();
  const save = async () => {
    setState("saving");
    setProblem(undefined);
    try {
      const title = original.trim().split("\n")[0]?.slice(0, 80) || "Untitled prompt";
      await call(api.POST("/api/v1/prompts/saved", { body: { title, history_id: historyId, tags: [] } }));
      setState("saved");
    } catch (e) {
      setProblem(e);
      setState("idle");
    }
  };
  return (
    <>
      <button type="button" onClick={save} disabled={state !== "idle"}>
        {state === "saved" ? "Saved to library" : state === "saving" ? "Saving…" : "Save to library"}
      </button>
      <ProblemNote problem={problem} />
    </>
  );
}

/** 1–5 stars, thumbs per technique, a comment. */
export function Rating({ answer }: { answer: EnhanceAnswer }) {
  const [stars, setStars] = useState(0);
  const [thumbs, setThumbs] = useState<Record<string, 1 | 5>>({});
  const [comment, setComment] = useState("");
  const [done, setDone] = useState(false);
  const [problem, setProblem] = useState<unknown>();
  const name = useId();
  if (done) return <p className="thanks" role="status">Thanks: your rating teaches BetterPrompts which techniques work.</p>;
  const send = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      await call(
        api.POST("/api/v1/feedback", {
          body: {
            prompt_history_id: answer.id,
            rating: stars,
            technique_ratings: thumbs,
            feedback_text: comment.trim() === "" ? null : comment.trim(),
          },
        }),
      );
      setDone(true);
    } catch (err) {
      setProblem(err);
    }
  };
  return (
    <form className="rating" onSubmit={send} aria-label="Rate this enhancement">
      <fieldset>
        <legend>How good is the enhanced prompt?</legend>
        <div className="stars">
          {[1, 2, 3, 4, 5].map((n) => (
            <label key={n} className={n <= stars ? "on" : ""}>
              <input type="radio" name={name} value={n} checked={stars === n} onChange={() => setStars(n)} />
              <span aria-hidden="true">★</span>
              <span className="visually-hidden">
                {n} star{n > 1 ? "s" : ""}
              </span>
            </label>
          ))}
        </div>
      </fieldset>
      {answer.techniques.length > 0 && (
        <fieldset className="thumbs">
          <legend>Each technique (optional)</legend>
          {answer.techniques.map((t) => (
            <div key={t} className="thumb-row" role="group" aria-label={label(t)}>
              <span>{label(t)}</span>
              <button
                type="button"
                aria-pressed={thumbs[t] === 5}
                onClick={() => setThumbs({ ...thumbs, [t]: 5 })}
              >
                Helped
              </button>
              <button
                type="button"
                aria-pressed={thumbs[t] === 1}
                onClick={() => setThumbs({ ...thumbs, [t]: 1 })}
              >
                Did not help
              </button>
            </div>
          ))}
        </fieldset>
      )}
      <label className="field">
        Comment (optional)
        <textarea value={comment} onChange={(e) => setComment(e.target.value)} rows={2} maxLength={2000} />
      </label>
      <button type="submit" disabled={stars === 0}>
        Send rating
      </button>
      <ProblemNote problem={problem} />
    </form>
  );
}

export function EnhancePage() {
  useTitle("Enhance");
  return (
    <>
      <h1>Enhance a prompt</h1>
      <EnhanceWorkspace />
    </>
  );
}
