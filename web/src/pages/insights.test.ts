import { describe, expect, it } from "vitest";
import { lastDays } from "./Insights";

describe("lastDays", () => {
  it("fills every day of the window, oldest first, with zeros where nothing happened", () => {
    const days = lastDays({ "2026-11-29": 3, "2026-11-01": 9 }, 3, new Date("2026-11-30T10:00:00Z"));
    expect(days).toEqual([
      ["2026-11-28", 0],
      ["2026-11-29", 3],
      ["2026-11-30", 0],
    ]);
  });
});
