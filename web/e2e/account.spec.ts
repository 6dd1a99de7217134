// A person's own flows: register, sign out and in, enhance with a level and
// an excluded technique, answer the engine's questions, save and rate.
import { expect, test } from "@playwright/test";
import { PASSWORD, enhance, expectAccessible, freshContext, register, uniqueName } from "./helpers";

test("register, sign out, sign in again, and a wrong password is said next to nothing secret", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  const name = uniqueName("reg");
  await register(page, name);
  // The session is in HttpOnly cookies: the page's script cannot read the tokens.
  const visible = await page.evaluate(() => document.cookie);
  expect(visible).not.toContain("auth_token");
  expect(visible).not.toContain("refresh_token");
  const stored = await page.evaluate(() => JSON.stringify(window.localStorage));
  expect(stored).not.toMatch(/token|eyJ/);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("link", { name: "Sign in" }).first()).toBeVisible();
  await page.goto("/signin");
  await expectAccessible(page);
  await page.getByLabel("Email or username").fill(name);
  await page.getByLabel("Password").fill("Wrong-password-1!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/enhance$/);
  await expect(page.getByTestId("who")).toHaveText(name);
  // A reload keeps the session.
  await page.reload();
  await expect(page.getByTestId("who")).toHaveText(name);
  await context.close();
});

test("enhance with a level and an excluded technique, then rate it", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  await register(page, uniqueName("enh"));
  await page.getByLabel("Level").selectOption("thorough");
  await page.getByText("Techniques", { exact: true }).click();
  await page.locator('select[name="technique-step_by_step"]').selectOption("exclude");
  await page.locator('select[name="technique-role_play"]').selectOption("exclude");
  const request = page.waitForRequest((r) => r.url().endsWith("/api/v1/enhance") && r.method() === "POST");
  await enhance(page, "How do I set up a Python virtual environment and install requests on Windows?");
  const body = (await request).postDataJSON() as { level: string; exclude_techniques: string[] };
  expect(body.level).toBe("thorough");
  expect(body.exclude_techniques.sort()).toEqual(["role_play", "step_by_step"]);
  const result = page.getByRole("region", { name: "Enhanced prompt" });
  await expect(result.getByTestId("level")).toHaveText("Thorough");
  await expect(result.locator('[data-technique="step_by_step"]')).toHaveCount(0);
  await expect(result.locator('[data-technique="role_play"]')).toHaveCount(0);
  await expectAccessible(page);

  // Rate: four stars, a thumb for the first technique, a comment.
  const rating = page.getByRole("form", { name: "Rate this enhancement" });
  await rating.getByRole("radio", { name: "4 stars" }).check();
  const groups = rating.getByRole("group").filter({ has: page.getByRole("button", { name: "Helped" }) });
  if ((await groups.count()) > 0) await groups.first().getByRole("button", { name: "Helped" }).click();
  await rating.getByLabel("Comment (optional)").fill("Clear and to the point.");
  await rating.getByRole("button", { name: "Send rating" }).click();
  await expect(page.getByRole("status")).toContainText("Thanks");

  // The rating is on the history item.
  await page.goto("/history");
  await expect(page.locator(".history-row").first()).toContainText("rated 4/5");
  await context.close();
});

test("the engine's questions are asked as fields, and the answers go into the next enhancement", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  await register(page, uniqueName("qst"));
  await enhance(page, "Write a cover letter for me.");
  const questions = page.getByRole("form", { name: "Questions about your prompt" });
  await expect(questions).toBeVisible();
  const first = questions.getByRole("textbox").first();
  const question = (await questions.locator("label").first().innerText()).trim();
  await first.fill("A junior data analyst job at Northwind Bank");
  const request = page.waitForRequest((r) => r.url().endsWith("/api/v1/enhance") && r.method() === "POST");
  await questions.getByRole("button", { name: "Enhance again with my answers" }).click();
  const body = (await request).postDataJSON() as { text: string };
  expect(body.text).toBe(`Write a cover letter for me.\n\n${question} A junior data analyst job at Northwind Bank`);
  await expect(page.getByRole("region", { name: "Enhanced prompt" }).getByTestId("enhanced")).toContainText("Northwind Bank");
  // The input shows what was sent, so the person can keep editing it.
  await expect(page.getByRole("textbox", { name: "Your prompt" })).toHaveValue(body.text);

  // Save it to the library.
  await page.getByRole("button", { name: "Save to library" }).click();
  await expect(page.getByRole("button", { name: "Saved to library" })).toBeVisible();
  await context.close();
});
