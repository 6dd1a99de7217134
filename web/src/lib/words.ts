// Names and formats the pages show.

export const INTENTS = [
  "question_answering",
  "creative_writing",
  "code_generation",
  "data_analysis",
  "reasoning",
  "summarization",
  "translation",
  "conversation",
  "task_planning",
  "problem_solving",
] as const;

export const TECHNIQUES = [
  "chain_of_thought",
  "tree_of_thoughts",
  "few_shot",
  "zero_shot",
  "self_consistency",
  "role_play",
  "step_by_step",
  "structured_output",
  "analogical",
  "react",
  "emotional_appeal",
  "constraints",
] as const;

export const LEVELS = ["light", "standard", "thorough"] as const;

/** "chain_of_thought" → "Chain of thought". */
export function label(id: string): string {
  const words = id.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** 0.873 → "87%". */
export function percent(p: number): string {
  return `${Math.round(p * 100)}%`;
}

/** A date and time in the reader's locale. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleString();
}

/** The prompt with the person's answers to the engine's questions added. */
export function withAnswers(text: string, answers: [question: string, answer: string][]): string {
  const given = answers.map(([q, a]) => [q.trim(), a.trim()] as const).filter(([, a]) => a !== "");
  if (given.length === 0) return text;
  return `${text.trimEnd()}\n\n${given.map(([q, a]) => `${q} ${a}`).join("\n")}`;
}

/** Chat assistants the enhanced prompt can be opened in, by link. */
export const ASSISTANTS: { id: string; name: string; url: (prompt: string) => string }[] = [
  { id: "chatgpt", name: "ChatGPT", url: (p) => `https://chatgpt.com/?q=${encodeURIComponent(p)}` },
  { id: "claude", name: "Claude", url: (p) => `https://claude.ai/new?q=${encodeURIComponent(p)}` },
  { id: "perplexity", name: "Perplexity", url: (p) => `https://www.perplexity.ai/search?q=${encodeURIComponent(p)}` },
];
