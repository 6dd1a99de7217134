import { describe, expect, it } from "vitest";
import { label, percent, withAnswers } from "./words";

describe("words", () => {
  it("names ids as people read them", () => {
    expect(label("chain_of_thought")).toBe("Chain of thought");
    expect(percent(0.873)).toBe("87%");
  });

  it("adds only the answered questions to the prompt", () => {
    expect(withAnswers("Write my cover letter.", [
      ["Which job is it for?", " Data analyst at Acme "],
      ["What are your strengths?", "  "],
    ])).toBe("Write my cover letter.\n\nWhich job is it for? Data analyst at Acme");
    expect(withAnswers("Same.", [["Q?", ""]])).toBe("Same.");
  });
});
