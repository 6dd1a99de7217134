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
  await page.screenshot({ path: `${dir}/${name}-${variant}.jpg`, fullPage: true, type: "jpeg", quality: 70 });
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
    await page.goto("/library");
    await expect(page.getByRole("heading", { name: "Library" })).toBeVisible();
    await shoot(page, "library", v.name);
    await page.goto("/insights");
    await expect(page.getByTestId("total")).toHaveText("1");
    await shoot(page, "insights", v.name);
    await page.goto("/settings");
    await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
    await shoot(page, "settings", v.name);
    await context.close();

    if (process.env.BP_E2E_ADMIN_USER) {
      const admin = await freshContext(browser, { colorScheme: v.colorScheme, width: v.width });
      const a = await admin.newPage();
      await a.goto("/signin");
      await a.getByLabel("Email or username").fill(process.env.BP_E2E_ADMIN_USER);
      await a.getByLabel("Password").fill(process.env.BP_E2E_ADMIN_PASSWORD ?? "");
      await a.getByRole("button", { name: "Sign in" }).click();
      await expect(a).toHaveURL(/\/enhance$/);
      await a.goto("/admin");
      await expect(a.locator("figure.chart")).toHaveCount(5);
      await shoot(a, "admin", v.name);
      await admin.close();
    }
  });
}
