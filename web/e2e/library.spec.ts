// The library: save, tag, collect, reorder by dragging, share a link that
// opens signed out, public templates, and "find prompts like this one".
import { expect, test, type Page } from "@playwright/test";
import { enhance, expectAccessible, freshContext, register, uniqueName } from "./helpers";

async function enhanceAndSave(page: Page, text: string): Promise<void> {
  await enhance(page, text);
  await page.getByRole("button", { name: "Save to library" }).click();
  await expect(page.getByRole("button", { name: "Saved to library" })).toBeVisible();
}

test("save, tag, collect, reorder, and share a collection that opens signed out", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  await register(page, uniqueName("lib"));
  await enhanceAndSave(page, "Write a thank-you note to my neighbour for watering my plants.");
  await enhanceAndSave(page, "Draft a polite email asking my manager for Friday off.");
  await enhanceAndSave(page, "How do I bake bread at home without a machine?");

  await page.getByRole("link", { name: "Library" }).click();
  const cards = page.locator("li.saved");
  await expect(cards).toHaveCount(3);
  await expectAccessible(page);

  // Tags, and the tag filter.
  const email = cards.filter({ hasText: "manager" });
  await email.getByLabel("Edit tags").fill("work, email");
  await email.getByRole("button", { name: "Save tags" }).click();
  await expect(email.getByRole("link", { name: "#work" })).toBeVisible();
  await email.getByRole("link", { name: "#email" }).click();
  await expect(page).toHaveURL(/tag=email/);
  await expect(cards).toHaveCount(1);
  await page.getByRole("link", { name: "(all)" }).click();
  await expect(cards).toHaveCount(3);

  // A collection with two prompts.
  await page.getByLabel("New collection").fill("Messages");
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page.getByRole("link", { name: "Messages" })).toBeVisible();
  for (const text of ["thank-you note", "manager"]) {
    const card = cards.filter({ hasText: text });
    await card.getByRole("combobox", { name: "Add to collection" }).selectOption({ label: "Messages" });
    await expect(card.getByRole("status")).toHaveText("Added to Messages.");
  }
  await page.getByRole("link", { name: "Messages" }).click();
  const items = page.getByTestId("collection-item");
  await expect(items).toHaveCount(2);
  const titles = items.locator(".grow");
  const before = await titles.allInnerTexts();
  // Drag the second onto the first: the order flips, and stays after a reload.
  await items.nth(1).dragTo(items.nth(0));
  await expect(page.getByRole("status")).toContainText("position 1");
  const after = await titles.allInnerTexts();
  expect(after).toEqual([before[1], before[0]]);
  await page.reload();
  await expect(titles).toHaveText(after);
  await expectAccessible(page);

  // Share it; the link opens read-only for a visitor who is not signed in.
  await page.getByRole("button", { name: "Share" }).click();
  const link = await page.getByTestId("share-link").getAttribute("href");
  expect(link).toMatch(/\/s\/[A-Za-z0-9_-]+$/);
  const visitor = await freshContext(browser);
  const guest = await visitor.newPage();
  await guest.goto(link ?? "");
  await expect(guest.getByRole("heading", { level: 1 })).toHaveText("Messages");
  await expect(guest.locator("ol.shared > li")).toHaveCount(2);
  await expect(guest.getByRole("button", { name: "Delete collection" })).toHaveCount(0);
  await expectAccessible(guest);
  await visitor.close();
  await context.close();
});

test("public templates are listed, and similar prompts are found by meaning", async ({ browser }) => {
  const context = await freshContext(browser);
  const page = await context.newPage();
  await register(page, uniqueName("sim"));
  await enhance(page, "How do I bake bread at home without a machine?");
  await enhance(page, "What is the best way to learn Spanish verbs?");
  await page.goto("/library");
  await expect(page.getByRole("heading", { name: "Public templates" })).toBeVisible();
  await expect(page.locator(".template-list > li").first()).toBeVisible();

  // The history's embeddings are written in the background: search until found.
  const search = page.getByRole("search").filter({ has: page.getByRole("button", { name: "Find similar" }) });
  await search.getByRole("textbox").fill("recipe for a homemade sourdough loaf");
  await expect
    .poll(
      async () => {
        await search.getByRole("button", { name: "Find similar" }).click();
        return page.locator("ol.similar li").first().innerText({ timeout: 2000 }).catch(() => "");
      },
      { timeout: 20_000 },
    )
    .toContain("bake bread");
  await context.close();
});
