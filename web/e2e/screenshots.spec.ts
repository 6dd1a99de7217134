// Screenshots of each page at desktop and phone widths, in light and dark,
// with an accessibility check of every page in every variant. They are
// written to BP_E2E_SCREENSHOTS (docs/ui when updating the docs) or to
// test-results/screenshots.
import { expect, test, type Page } from "@playwright/test";
import { enhance, expectAccessible, freshContext, register, uniqueName } from "./helpers";

const dir = process.env.BP_E2E_SCREENSHOTS ?? "test-results/screenshots";

const variants = [
  { name: "desktop-light", width: 1280, colorScheme: "light" as const },
  { name: "desktop-dark", width: 1280, colorScheme: "dark" as const },
  { name: "phone-light", width: 360, colorScheme: "light" as const },
  { name: "phone-dark", width: 360, colorScheme: "dark" as const },
];

async function shoot(page: Page, name: string, variant: string): Promise<void> {
  await expectAccessible(page);
  await page.screenshot({ path: `${dir}/${name}-${variant}.png`, fullPage: true });
}

for (const v of variants) {
  test(`every page, ${v.name}`, async ({ browser }) => {
    const context = await freshContext(browser, { colorScheme: v.colorScheme, width: v.width });
    const page = await context.newPage();
    await page.goto("/");
    await enhance(page, "Write a short product description for a reusable water bottle, under 80 words.");
    await shoot(page, "landing", v.name);
    await page.goto("/signin");
    await shoot(page, "signin", v.name);

    await register(page, uniqueName("shot"));
    await enhance(page, "Plan a 3-day trip to Lisbon for two people who love food and museums.");
    await shoot(page, "enhance", v.name);
    await page.goto("/history");
    await expect(page.locator(".history-row")).toHaveCount(1);
    await shoot(page, "history", v.name);
    await page.locator(".history-text").first().click();
    await expect(page.getByRole("heading", { name: "Enhancement" })).toBeVisible();
    await shoot(page, "history-detail", v.name);
    await context.close();
  });
}
