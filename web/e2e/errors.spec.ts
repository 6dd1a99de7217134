// Errors a person can act on: a rate limit with its wait, a degraded
// service, a session that ends.
import { expect, test } from "@playwright/test";
import { freshContext, register, uniqueName } from "./helpers";

test("a 429 says how long to wait, and counts down", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  await page.goto("/");
  // Use up this client's anonymous allowance through the real limiter.
  let status = 200;
  for (let i = 0; i < 1000 && status !== 429; i++) {
    status = (await page.request.post("/api/v1/enhance", { data: { text: `ping ${i}` } })).status();
  }
  expect(status).toBe(429);
  await page.getByRole("textbox", { name: "Your prompt" }).fill("What is the capital of Australia?");
  await page.getByRole("button", { name: "Enhance" }).click();
  const alert = page.getByRole("alert");
  await expect(alert).toHaveText(/Too many requests\. Try again in \d+ s\./);
  await expect(alert).toHaveAttribute("data-status", "429");
  const first = Number(/in (\d+) s/.exec(await alert.innerText())?.[1]);
  await expect
    .poll(async () => Number(/in (\d+) s/.exec(await alert.innerText())?.[1] ?? "0"), { timeout: 5000 })
    .toBeLessThan(first);
  // The prompt is kept.
  await expect(page.getByRole("textbox", { name: "Your prompt" })).toHaveValue("What is the capital of Australia?");
  await context.close();
});

test("while the API answers 503 the page says the service is degraded and keeps the input", async ({ browser }) => {
  const degraded = process.env.BP_E2E_DEGRADED_URL;
  test.skip(!degraded, "needs the degraded server of scripts/e2e.sh");
  const context = await browser.newContext({ baseURL: degraded });
  const page = await context.newPage();
  await page.goto("/signin");
  await page.getByLabel("Email or username").fill("someone");
  await page.getByLabel("Password").fill("Whatever-1-pass!");
  await page.getByRole("button", { name: "Sign in" }).click();
  const alert = page.getByRole("alert");
  await expect(alert).toHaveAttribute("data-status", "503");
  await expect(alert).toContainText("degraded");
  await expect(page.getByLabel("Email or username")).toHaveValue("someone");
  await context.close();
});

test("an expired session asks to sign in again", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  await register(page, uniqueName("exp"));
  // The session ends on the server side (as when it expires or is revoked):
  // both cookies go stale at once.
  const cookies = await context.cookies();
  await context.clearCookies();
  await context.addCookies(
    cookies.map((c) => (c.name === "csrf_token" ? c : { ...c, value: "stale" })),
  );
  await page.goto("/history");
  await expect(page).toHaveURL(/\/signin/);
  await expect(page.getByText("Your session has ended")).toBeVisible();
  await context.close();
});

test("an expired access token is refreshed silently, and sign-out works with one", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  const name = uniqueName("ref");
  await register(page, name);
  const stale = async () => {
    const cookies = await context.cookies();
    await context.clearCookies();
    await context.addCookies(cookies.map((c) => (c.name === "auth_token" ? { ...c, value: "expired" } : c)));
  };
  // The access token is refused; the page refreshes and carries on.
  await stale();
  await page.goto("/history");
  await expect(page).toHaveURL(/\/history$/);
  await expect(page.getByTestId("who")).toHaveText(name);
  const renewed = (await context.cookies()).find((c) => c.name === "auth_token")?.value;
  expect(renewed).toBeTruthy();
  expect(renewed).not.toBe("expired");
  // Sign out while the access token is stale: the session still ends, and
  // a reload does not sign the person back in.
  await stale();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("link", { name: "Sign in" }).first()).toBeVisible();
  expect((await context.cookies()).map((c) => c.name).filter((n) => n !== "")).toEqual([]);
  await page.goto("/history");
  await expect(page).toHaveURL(/\/signin/);
  await context.close();
});
