// End-to-end tests in Debian's Chromium (playwright-core drives the
// installed binary; no browser download). scripts/e2e.sh starts a real
// `betterprompts serve` on a throw-away database and sets BP_E2E_URL.
import { defineConfig } from "@playwright/test";

const executablePath = process.env.BP_CHROMIUM ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: Number(process.env.BP_E2E_WORKERS ?? 2),
  reporter: [["list"]],
  use: {
    baseURL: process.env.BP_E2E_URL ?? "http://127.0.0.1:8080",
    headless: true,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath,
      // The machine has no outside network: keep Chromium from trying.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
      ],
    },
  },
});
