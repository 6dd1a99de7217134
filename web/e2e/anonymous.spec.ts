// The landing page's try-it box, without an account.
import { expect, test } from "@playwright/test";
import { enhance, expectAccessible, freshContext, watchOrigins } from "./helpers";

test("an anonymous visitor enhances a prompt, sees why, and copies it", async ({ browser, baseURL }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  const foreign = watchOrigins(page, baseURL ?? "");
  const cspErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("better answer");
  await expectAccessible(page);

  const prompt = "Explain how vaccines train the immune system\nfor a curious 12-year-old.";
  await enhance(page, prompt);
  const result = page.getByRole("region", { name: "Enhanced prompt" });
  await expect(result.getByTestId("intent")).not.toBeEmpty();
  // The person's own lines are kept, line break included.
  await expect(result.locator("pre.text").first()).toHaveText(prompt);
  const enhanced = await result.getByTestId("enhanced").innerText();
  expect(enhanced).toContain("Explain how vaccines train the immune system");

  await result.getByRole("button", { name: "Copy enhanced prompt" }).click();
  await expect(result.getByRole("button", { name: "Copied" })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied.trim()).toBe(enhanced.trim());

  // The chat-assistant link carries the enhanced prompt.
  const href = await result.getByRole("link", { name: /^Open in/ }).getAttribute("href");
  expect(decodeURIComponent(href ?? "")).toContain("Explain how vaccines");

  await expectAccessible(page);
  expect(foreign).toEqual([]);
  expect(cspErrors).toEqual([]);
  await context.close();
});

test("an empty prompt is refused next to the field, without a request", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  await page.goto("/");
  let posted = false;
  page.on("request", (r) => {
    if (r.url().includes("/api/v1/enhance")) posted = true;
  });
  await page.getByRole("button", { name: "Enhance" }).click();
  const field = page.getByRole("textbox", { name: "Your prompt" });
  await expect(field).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByRole("alert")).toHaveText("Type a prompt first.");
  expect(posted).toBe(false);
  await context.close();
});

test("a client-side route loads the page, and an unknown one says so", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  // A private page sends a signed-out visitor to sign in, and back after.
  await page.goto("/history");
  await expect(page).toHaveURL(/\/signin\?next=%2Fhistory$/);
  await context.close();
});
