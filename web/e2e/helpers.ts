// Shared steps of the end-to-end tests.
import { expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let ipCounter = 0;
/**
 * A browser context that the server sees as a client of its own (the
 * server trusts X-Forwarded-For in these tests), so rate limits of one
 * test never touch another.
 */
export async function freshContext(browser: Browser, options: { colorScheme?: "light" | "dark"; width?: number } = {}): Promise<BrowserContext> {
  ipCounter += 1;
  const ip = `10.${process.pid % 250}.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
  return browser.newContext({
    extraHTTPHeaders: { "X-Forwarded-For": ip },
    colorScheme: options.colorScheme ?? "light",
    viewport: { width: options.width ?? 1280, height: 900 },
    permissions: ["clipboard-read", "clipboard-write"],
  });
}

/** A unique account name. */
export function uniqueName(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export const PASSWORD = "Correct-Horse-7-battery";

/** Registers through the page; the page ends signed in on /enhance. */
export async function register(page: Page, name: string): Promise<void> {
  await page.goto("/register");
  await page.getByLabel("Email").fill(`${name}@example.com`);
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Confirm password").fill(PASSWORD);
  const answer = page.waitForResponse((r) => r.url().endsWith("/api/v1/auth/register"));
  await page.getByRole("button", { name: "Create account" }).click();
  // A cookie-only session: the tokens are in HttpOnly cookies, never in a body the page reads.
  const body = (await (await answer).json()) as { access_token: string; refresh_token: string };
  expect([body.access_token, body.refresh_token]).toEqual(["", ""]);
  await expect(page).toHaveURL(/\/enhance$/);
  await expect(page.getByTestId("who")).toHaveText(name);
}

/** Enhances `text` on the current page and waits for the result. */
export async function enhance(page: Page, text: string): Promise<void> {
  // Wait for this request's answer: after the first enhancement the result
  // region is already on the page, so its visibility proves nothing.
  const answered = page.waitForResponse(
    (r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/api/v1/enhance",
  );
  await page.getByRole("textbox", { name: "Your prompt" }).fill(text);
  await page.getByRole("textbox", { name: "Your prompt" }).press("Control+Enter");
  await answered;
  await expect(page.getByRole("region", { name: "Enhanced prompt" })).toBeVisible();
}

/** Runs axe-core on the page; fails on any serious or critical violation. */
export async function expectAccessible(page: Page): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (o: object) => Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown }[] }[] }> } }).axe;
    const result = await axe.run({ resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => JSON.stringify(n.target)).slice(0, 3) }));
  });
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious, JSON.stringify(serious, null, 2)).toEqual([]);
}

/** Every request the page made went to its own origin. */
export function watchOrigins(page: Page, origin: string): string[] {
  const foreign: string[] = [];
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(origin) && !url.startsWith("data:") && !url.startsWith("blob:")) foreign.push(url);
  });
  return foreign;
}
