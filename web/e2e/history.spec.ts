// History: search, filter, detail, favourite, rerun, delete, export.
import { expect, test } from "@playwright/test";
import { readFileSync } from "node:fs";
import { enhance, expectAccessible, freshContext, register, uniqueName } from "./helpers";

test("search, filter, open, favourite, rerun, delete and export the history", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  await register(page, uniqueName("hist"));
  const prompts = [
    "Translate 'good morning, how are you?' into Spanish.",
    "Write a haiku about autumn leaves.",
    "Summarize the causes of the French Revolution in five bullet points.",
  ];
  for (const p of prompts) await enhance(page, p);

  await page.getByRole("link", { name: "History" }).click();
  const rows = page.locator(".history-row");
  await expect(rows).toHaveCount(3);
  await expectAccessible(page);

  // Search by text; the filter lives in the address, so a reload keeps it.
  await page.getByRole("searchbox", { name: "Search your prompts" }).fill("haiku");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("haiku");
  await page.reload();
  await expect(page).toHaveURL(/search=haiku/);
  await expect(rows).toHaveCount(1);

  // Filter by intent.
  await page.goto("/history?intent=translation");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("Spanish");

  // Rate one, then the rating filter.
  await page.goto("/history");
  await rows.filter({ hasText: "Spanish" }).locator(".history-text").click();
  await expect(page.getByRole("heading", { name: "Enhancement" })).toBeVisible();
  const id = page.url().split("/").pop() ?? "";
  const rated = await page.request.post("/api/v1/feedback", {
    data: { prompt_history_id: id, rating: 5 },
    headers: { "X-CSRF-Token": (await page.context().cookies()).find((c) => c.name === "csrf_token")?.value ?? "" },
  });
  expect(rated.ok()).toBe(true);
  await page.goto("/history");
  await page.getByLabel("Rating").selectOption("4");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/min_rating=4/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("rated 5/5");

  // Favourite, then the favourites filter.
  await page.goto("/history");
  await expect(rows).toHaveCount(3);
  const haiku = rows.filter({ hasText: "haiku" });
  await haiku.getByRole("button", { name: "Favourite" }).click();
  await expect(haiku.getByRole("button", { name: "Favourite" })).toHaveAttribute("aria-pressed", "true");
  await page.getByLabel("Favourites only").check();
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(rows).toHaveCount(1);

  // Detail, and a rerun from it.
  await rows.first().locator(".history-text").click();
  await expect(page.getByRole("heading", { name: "Enhancement" })).toBeVisible();
  await expect(page.getByTestId("enhanced").first()).toContainText("haiku");
  await expectAccessible(page);
  await page.getByRole("button", { name: "Rerun" }).click();
  await expect(page.getByRole("region", { name: "Rerun" })).toBeVisible();

  // Export, as JSON and as CSV.
  await page.goto("/history");
  const [json] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "JSON lines" }).click()]);
  const lines = readFileSync((await json.path()) ?? "", "utf8").trim().split("\n");
  const exported = lines.map((l) => JSON.parse(l) as { original_input: string });
  // The three prompts and the rerun.
  expect(exported).toHaveLength(4);
  expect(exported.map((e) => e.original_input)).toContain(prompts[1]);
  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "CSV" }).click()]);
  expect(readFileSync((await csv.path()) ?? "", "utf8")).toContain("French Revolution");

  // Delete behind a confirmation: "Keep" keeps it, "Yes, delete" removes it for good.
  const count = await rows.count();
  const french = rows.filter({ hasText: "French Revolution" });
  await french.getByRole("button", { name: "Delete" }).click();
  await french.getByRole("button", { name: "Keep" }).click();
  await expect(rows).toHaveCount(count);
  await french.getByRole("button", { name: "Delete" }).click();
  await french.getByRole("button", { name: "Yes, delete" }).click();
  await expect(rows).toHaveCount(count - 1);
  await page.reload();
  await expect(rows).toHaveCount(count - 1);
  await expect(page.locator(".history-row", { hasText: "French Revolution" })).toHaveCount(0);
  await context.close();
});
