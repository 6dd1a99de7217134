import { describe, expect, it } from "vitest";
import { addedSegments, tokens } from "./diff";

describe("addedSegments", () => {
  it("marks only the words the enhancement added", () => {
    const segments = addedSegments(
      "Write a haiku about rain.",
      "Write a haiku about rain.\n\nKeep the 5-7-5 syllable count.",
    );
    expect(segments.map((s) => s.text).join("")).toBe("Write a haiku about rain.\n\nKeep the 5-7-5 syllable count.");
    expect(segments.filter((s) => s.added).map((s) => s.text.trim())).toEqual(["Keep the 5-7-5 syllable count."]);
    expect(segments[0]?.added).toBe(false);
    expect(segments[0]?.text.trim()).toBe("Write a haiku about rain.");
  });

  it("finds the user's words inside added text, in order", () => {
    const segments = addedSegments("explain tides", "Please explain tides to a child");
    expect(segments.filter((s) => !s.added).map((s) => s.text.trim())).toEqual(["explain tides"]);
  });

  it("treats an unchanged prompt as nothing added", () => {
    expect(addedSegments("same text", "same text")).toEqual([{ text: "same text", added: false }]);
  });

  it("keeps whitespace, so the segments rebuild the text exactly", () => {
    const enhanced = "a  b\n\tc d";
    expect(tokens(enhanced).join("")).toBe(enhanced);
    expect(addedSegments("b", enhanced).map((s) => s.text).join("")).toBe(enhanced);
  });

  it("falls back to lines for very long texts", () => {
    const long = Array.from({ length: 3000 }, (_, i) => `word${i}`).join(" ");
    const enhanced = `${long}\nAdded line.`;
    const segments = addedSegments(long, enhanced);
    expect(segments.map((s) => s.text).join("")).toBe(enhanced);
    expect(segments.some((s) => s.added && s.text.includes("Added line."))).toBe(true);
  });
});
