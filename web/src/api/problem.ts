// What went wrong with a request, in words a person can act on.

/** The service's error body (`{"error", "details", "retry_after"}`). */
interface ErrorBody {
  error?: unknown;
  message?: unknown;
  details?: unknown;
  retry_after?: unknown;
}

/** A failed request: the status (0 when the server was not reached) and a message. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Seconds to wait, for a 429. */
    readonly retryAfter?: number,
    /** The request field the message is about, when the server named one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = "Problem";
  }
}

function fieldOf(details: unknown, message: string): string | undefined {
  if (details !== null && typeof details === "object" && "field" in details) {
    if (typeof details.field === "string") return details.field;
  }
  // "invalid text: ..." / "text is required": the field leads the message.
  const match = /^(?:invalid )?([a-z_]+)(?::| is | must )/.exec(message);
  return match?.[1];
}

/** The Problem for a response with `status` and parsed body `body`. */
export function problemFrom(status: number, body: unknown, retryHeader?: string | null): Problem {
  const b = (body ?? {}) as ErrorBody;
  const text = typeof b.error === "string" ? b.error : `the server answered ${status}`;
  if (status === 429) {
    const fromBody = typeof b.retry_after === "number" ? b.retry_after : undefined;
    const fromHeader = retryHeader ? Number.parseInt(retryHeader, 10) : Number.NaN;
    const wait = fromBody ?? (Number.isFinite(fromHeader) ? fromHeader : 60);
    return new Problem(status, `Too many requests. Try again in ${wait} s.`, wait);
  }
  if (status === 503) {
    return new Problem(status, `The service is degraded right now (${text}). Your input is kept; try again shortly.`);
  }
  if (status >= 500) {
    return new Problem(status, "Something went wrong on the server. Your input is kept; try again.");
  }
  if (status === 401) return new Problem(status, text === "" ? "Please sign in." : text);
  return new Problem(status, text, undefined, fieldOf(b.details, text));
}

/** The Problem for a request that never got an answer. */
export function unreachable(): Problem {
  return new Problem(0, "The server cannot be reached. Check your connection; your input is kept.");
}

/**
 * Unwraps an openapi-fetch result: the data, or a thrown Problem.
 * A fetch that failed outright (no answer) throws `unreachable()`.
 */
export async function call<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request;
  } catch {
    throw unreachable();
  }
  const { data, error, response } = result;
  if (response.ok && data !== undefined) return data;
  throw problemFrom(response.status, error, response.headers.get("retry-after"));
}
