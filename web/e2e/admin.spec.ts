// Insights for a person, and the admin pages: a flag toggled live, a role
// changed, the audit log read with a filter.
import { expect, test, type Page } from "@playwright/test";
import { enhance, expectAccessible, freshContext, register, uniqueName } from "./helpers";

async function signInAsAdmin(page: Page): Promise<void> {
  await page.goto("/signin");
  await page.getByLabel("Email or username").fill(process.env.BP_E2E_ADMIN_USER ?? "");
  await page.getByLabel("Password").fill(process.env.BP_E2E_ADMIN_PASSWORD ?? "");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/enhance$/);
}

test("insights chart my enhancements, techniques and ratings", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  await register(page, uniqueName("ins"));
  await enhance(page, "Explain the difference between a virus and a bacterium for a high-school class.");
  await page.getByRole("radio", { name: "5 stars" }).check();
  await page.getByRole("button", { name: "Send rating" }).click();
  await expect(page.getByRole("status")).toContainText("Thanks");
  await enhance(page, "Write a four-line poem about Monday mornings.");
  await page.getByRole("link", { name: "Insights" }).click();
  await expect(page.getByTestId("total")).toHaveText("2");
  await expect(page.getByTestId("mean")).toHaveText("5.0/5");
  const charts = page.getByRole("img");
  await expect(charts).toHaveCount(4);
  await expect(charts.first()).toHaveAttribute("aria-label", /2 in all/);
  await expectAccessible(page);
  await context.close();
});

test("an admin toggles a flag live, changes a role, and reads the audit log", async ({ browser }) => {
  test.skip(!process.env.BP_E2E_ADMIN_USER, "needs the admin account of scripts/e2e.sh");
  const userContext = await freshContext(browser);
  const person = await userContext.newPage();
  const name = uniqueName("role");
  await register(person, name);

  const context = await freshContext(browser);
  const page = await context.newPage();
  await signInAsAdmin(page);
  await page.getByRole("link", { name: "Admin" }).click();
  await expect(page.getByRole("heading", { name: "Administration" })).toBeVisible();
  await expect(page.locator("figure.chart")).toHaveCount(5);
  await expectAccessible(page);

  // A flag, created off, then switched on: the API sees it at once.
  await page.getByRole("link", { name: "Feature flags" }).click();
  const flag = uniqueName("e2e_flag_");
  await page.getByLabel("New flag").fill(flag);
  await page.getByRole("button", { name: "Add flag" }).click();
  const card = page.locator(`[data-flag="${flag}"]`);
  await expect(card.getByLabel("Enabled")).not.toBeChecked();
  await card.getByLabel("Enabled").check();
  await expect(card.getByLabel("Enabled")).toBeChecked();
  const flags = (await (await page.request.get("/api/v1/admin/feature-flags")).json()) as { flags: { name: string; enabled: boolean }[] };
  expect(flags.flags.find((f) => f.name === flag)?.enabled).toBe(true);
  await expectAccessible(page);

  // A role: the person becomes a developer.
  await page.getByRole("link", { name: "Users" }).click();
  await page.getByLabel("Find users").fill(name);
  await page.getByRole("button", { name: "Search" }).click();
  const row = page.locator(`tr[data-user="${name}"]`);
  await expect(row).toHaveCount(1);
  await row.getByLabel(`Role of ${name}`).selectOption("developer");
  await expect(row.getByLabel(`Role of ${name}`)).toHaveValue("developer");
  await expectAccessible(page);

  // The audit log, filtered to flag changes, shows this one.
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByLabel("Action").fill("admin.flags.set");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.locator("table.audit tbody tr").first()).toContainText("admin.flags.set");
  await expect(page.locator("table.audit tbody tr").filter({ hasNotText: "admin.flags.set" })).toHaveCount(0);
  await expectAccessible(page);

  // Cache statistics and clearing.
  await page.getByRole("link", { name: "Cache" }).click();
  await page.getByRole("button", { name: "Clear api_responses" }).click();
  await expect(page.getByRole("status")).toContainText("api_responses");
  await context.close();
  await userContext.close();
});

test("a person who is not an admin gets no admin page", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  await register(page, uniqueName("noadm"));
  await expect(page.getByRole("link", { name: "Admin" })).toHaveCount(0);
  await page.goto("/admin");
  await expect(page.getByText("This page is for administrators.")).toBeVisible();
  const res = await page.request.get("/api/v1/admin/users");
  expect(res.status()).toBe(403);
  await context.close();
});
