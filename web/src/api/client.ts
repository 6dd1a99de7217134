// The typed API client: openapi-fetch over the types generated from the
// service's OpenAPI document (src/api/schema.d.ts, made by `npm run gen`), so
// a contract change that breaks the page fails `tsc`.
//
// Every request goes to this origin with its cookies, and says it keeps a
// cookie-only session (X-BP-Cookie-Session), so sign-in and refresh answers
// carry no token the page could hold. State-changing requests repeat the
// readable `csrf_token` cookie in X-CSRF-Token (the server's double-submit
// check). A 401 on a signed-in page refreshes the session once, silently,
// and retries: one refresh at a time across every tab (a Web Lock), and
// none when another tab already did it. Only a refresh the server refuses
// ends the session; a refresh that cannot reach the server leaves it alone.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type EnhanceAnswer = Schemas["EnhanceAnswer"];
export type HistoryItem = Schemas["HistoryItem"];
export type UserView = Schemas["UserView"];

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** The value of a readable cookie of this origin. */
export function cookie(name: string, source: string = document.cookie): string | undefined {
  for (const part of source.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return undefined;
}

/** Whether this browser holds a session (the CSRF cookie lives as long as it). */
export function hasSession(): boolean {
  return cookie("csrf_token") !== undefined;
}

let sessionEnded: (() => void) | undefined;
/** Called when a silent refresh fails: the page asks the person to sign in again. */
export function onSessionEnded(handler: () => void): void {
  sessionEnded = handler;
}

/** The headers of a request, with the CSRF header added to a write. */
function headersFor(method: string, headers: Headers): Headers {
  const out = new Headers(headers);
  out.set("X-BP-Cookie-Session", "1");
  const token = cookie("csrf_token");
  if (!SAFE.has(method) && token !== undefined) out.set("X-CSRF-Token", token);
  return out;
}

/** Sends a request whose body is already read (a string), so it can be sent twice. */
function send(url: string, method: string, headers: Headers, body: string | undefined): Promise<Response> {
  return fetch(url, { method, headers: headersFor(method, headers), body, credentials: "same-origin" });
}

/** What a refresh came to. */
type Refreshed = "refreshed" | "ended" | "unavailable";

async function refreshOnce(sentWith: string | undefined): Promise<Refreshed> {
  // Another tab (or request) refreshed since this request was sent: the
  // cookies are new already, and the old refresh token is spent.
  if (cookie("csrf_token") !== sentWith) return "refreshed";
  try {
    const res = await send("/api/v1/auth/refresh", "POST", new Headers(), undefined);
    if (res.ok) return "refreshed";
    return res.status === 401 || res.status === 403 ? "ended" : "unavailable";
  } catch {
    return "unavailable";
  }
}

/** One refresh at a time: across tabs with a Web Lock where there is one. */
function refreshSession(sentWith: string | undefined): Promise<Refreshed> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  // The lock's promise settles with the callback's (the DOM types nest it).
  if (locks) return locks.request("bp-session-refresh", () => refreshOnce(sentWith)).then((r) => r);
  return refreshOnce(sentWith);
}

const NO_REFRESH = ["/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/refresh", "/api/v1/auth/logout"];

/** Sends a request as the page does: CSRF header, and one silent refresh on a 401. */
export async function sessionFetch(input: Request): Promise<Response> {
  const body = SAFE.has(input.method) ? undefined : await input.text();
  const sentWith = cookie("csrf_token");
  const response = await send(input.url, input.method, input.headers, body);
  const path = new URL(input.url).pathname;
  if (response.status !== 401 || sentWith === undefined || NO_REFRESH.includes(path)) return response;
  const outcome = await refreshSession(sentWith);
  if (outcome === "refreshed") return send(input.url, input.method, input.headers, body);
  if (outcome === "ended") sessionEnded?.();
  return response;
}

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
  credentials: "same-origin",
  fetch: sessionFetch,
});
