// Settings and account: preferences that persist, an API key made in the
// page and used from curl, "download my data" and "delete my account".
import { expect, test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { PASSWORD, enhance, expectAccessible, freshContext, register, uniqueName } from "./helpers";

test("preferences persist across a reload and shape the next enhancement", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  await register(page, uniqueName("set"));
  await page.getByRole("link", { name: "Settings" }).click();
  await expectAccessible(page);
  const prefs = page.getByRole("region", { name: "Enhancement preferences" });
  await prefs.getByLabel("Level").selectOption("light");
  await prefs.locator('select[name="pref-role_play"]').selectOption("exclude");
  await prefs.getByRole("button", { name: "Save preferences" }).click();
  await expect(prefs.getByRole("status")).toHaveText("Saved.");
  await page.reload();
  await expect(prefs.getByLabel("Level")).toHaveValue("light");
  await expect(prefs.locator('select[name="pref-role_play"]')).toHaveValue("exclude");

  await page.getByRole("link", { name: "Enhance" }).click();
  await enhance(page, "Write a short poem about the sea in the voice of a pirate captain.");
  await expect(page.getByRole("region", { name: "Enhanced prompt" }).getByTestId("level")).toHaveText("Light");

  // Profile too.
  await page.goto("/settings");
  const profile = page.getByRole("region", { name: "Profile" });
  await profile.getByLabel("First name").fill("Ada");
  await profile.getByRole("button", { name: "Save profile" }).click();
  await expect(profile.getByRole("status")).toHaveText("Saved.");
  await page.reload();
  await expect(profile.getByLabel("First name")).toHaveValue("Ada");

  // History off: the next enhancement is not kept, and the page offers no
  // save or rating for it.
  await prefs.getByLabel("Keep my history").uncheck();
  await prefs.getByRole("button", { name: "Save preferences" }).click();
  await expect(prefs.getByRole("status")).toHaveText("Saved.");
  await page.getByRole("link", { name: "Enhance" }).click();
  await enhance(page, "List three uses for baking soda around the house.");
  const result = page.getByRole("region", { name: "Enhanced prompt" });
  await expect(result.getByText("Your history is off")).toBeVisible();
  await expect(result.getByRole("button", { name: "Save to library" })).toHaveCount(0);
  await expect(result.getByRole("form", { name: "Rate this enhancement" })).toHaveCount(0);
  await page.goto("/history");
  await expect(page.locator(".history-row")).toHaveCount(1);
  await expect(page.locator(".history-row", { hasText: "baking soda" })).toHaveCount(0);
  await context.close();
});

test("an API key made in the page works from curl, and is shown only once", async ({ browser }) => {
  const admin = process.env.BP_E2E_ADMIN_USER;
  const password = process.env.BP_E2E_ADMIN_PASSWORD;
  test.skip(!admin || !password, "needs the admin account of scripts/e2e.sh (API keys are for developers)");
  const context = await freshContext(browser);
  const page = await context.newPage();
  await page.goto("/signin");
  await page.getByLabel("Email or username").fill(admin ?? "");
  await page.getByLabel("Password").fill(password ?? "");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/enhance$/);
  await page.goto("/settings");
  const keys = page.getByRole("region", { name: "API keys" });
  const name = uniqueName("key");
  await keys.getByLabel("Name").fill(name);
  await keys.getByRole("button", { name: "Create key" }).click();
  const shown = keys.getByTestId("new-key");
  await expect(shown).toHaveText(/^bp_/);
  const key = (await shown.innerText()).trim();
  await keys.getByRole("button", { name: "Copy curl command" }).click();
  const command = await page.evaluate(() => navigator.clipboard.readText());
  expect(command).toContain(key);
  // The copied line, run as it is.
  const answer = JSON.parse(execFileSync("sh", ["-c", command], { encoding: "utf8" })) as { enhanced_text?: string };
  expect(answer.enhanced_text).toContain("recursion");
  await expectAccessible(page);
  // Once dismissed, the key is gone from the page; the list shows its name only.
  await keys.getByRole("button", { name: "Done" }).click();
  await expect(keys.getByTestId("new-key")).toHaveCount(0);
  await page.reload();
  await expect(keys.getByRole("cell", { name, exact: true })).toBeVisible();
  expect(await page.content()).not.toContain(key);
  // Revoked, it stops working.
  await keys.getByRole("button", { name: `Revoke ${name}` }).click();
  await expect(keys.getByRole("row", { name: new RegExp(name) })).toContainText("revoked");
  const status = execFileSync("sh", ["-c", `${command} -o /dev/null -w '%{http_code}'`], { encoding: "utf8" });
  expect(status).toBe("401");
  await context.close();
});

test("download my data, then delete my account", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  const name = uniqueName("bye");
  await register(page, name);
  await enhance(page, "Give me three ideas for a rainy Sunday with kids.");
  await page.goto("/settings");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download all my data" }).click(),
  ]);
  const data = JSON.parse(readFileSync((await download.path()) ?? "", "utf8")) as {
    account: { username: string };
    history: { original_input: string }[];
  };
  expect(data.account.username).toBe(name);
  expect(data.history.map((h) => h.original_input)).toEqual(["Give me three ideas for a rainy Sunday with kids."]);

  const danger = page.getByRole("region", { name: "Delete my account" });
  const button = danger.getByRole("button", { name: "Delete my account" });
  await danger.getByLabel("Your password").fill("Wrong-password-9!");
  await expect(button).toBeDisabled();
  await danger.getByLabel("I understand").check();
  await button.click();
  await expect(danger.getByRole("alert")).toContainText("not correct");
  await danger.getByLabel("Your password").fill(PASSWORD);
  await button.click();
  await expect(page).toHaveURL(/\/\?deleted=1$/);
  await expect(page.getByRole("status")).toContainText("deleted");
  // The account is gone: signing in fails.
  await page.goto("/signin");
  await page.getByLabel("Email or username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await expect(page).toHaveURL(/\/signin/);
  await context.close();
});
