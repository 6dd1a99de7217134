// The typed API client: openapi-fetch over the types generated from the
// service's OpenAPI document (src/api/schema.d.ts, made by `npm run gen`), so
// a contract change that breaks the page fails `tsc`.
//
// Every request goes to this origin with its cookies. State-changing
// requests repeat the readable `csrf_token` cookie in X-CSRF-Token (the
// server's double-submit check). A 401 on a signed-in page refreshes the
// session once, silently, and retries; if that fails the session is over.
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
  const token = cookie("csrf_token");
  if (!SAFE.has(method) && token !== undefined) out.set("X-CSRF-Token", token);
  return out;
}

/** Sends a request whose body is already read (a string), so it can be sent twice. */
function send(url: string, method: string, headers: Headers, body: string | undefined): Promise<Response> {
  return fetch(url, { method, headers: headersFor(method, headers), body, credentials: "same-origin" });
}

let refreshing: Promise<boolean> | undefined;
/** One refresh at a time, shared by every request that got a 401. */
function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const res = await send("/api/v1/auth/refresh", "POST", new Headers(), undefined);
      return res.ok;
    } catch {
      return false;
    } finally {
      queueMicrotask(() => {
        refreshing = undefined;
      });
    }
  })();
  return refreshing;
}

const NO_REFRESH = ["/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/refresh", "/api/v1/auth/logout"];

async function sessionFetch(input: Request): Promise<Response> {
  const body = SAFE.has(input.method) ? undefined : await input.text();
  const response = await send(input.url, input.method, input.headers, body);
  const path = new URL(input.url).pathname;
  if (response.status !== 401 || !hasSession() || NO_REFRESH.includes(path)) return response;
  if (await refreshSession()) return send(input.url, input.method, input.headers, body);
  sessionEnded?.();
  return response;
}

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
  credentials: "same-origin",
  fetch: sessionFetch,
});
