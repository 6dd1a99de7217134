// Components rendered to markup on the server side of React (no browser
// needed): what the page shows for given props.
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { BarList, ColumnChart, Heatmap } from "./charts";
import { Highlighted, ProblemNote } from "./ui";
import { Problem } from "../api/problem";

describe("Highlighted", () => {
  it("marks only what the enhancement added, and keeps the text whole", () => {
    const html = renderToStaticMarkup(
      <Highlighted original="Write a haiku." enhanced={"Write a haiku.\n\nUse 5-7-5 syllables."} highlight />,
    );
    expect(html).toContain('<mark class="added">Use 5-7-5 syllables.</mark>');
    expect(html).not.toContain("<mark class=\"added\">Write");
  });

  it("shows plain text when highlighting is off", () => {
    expect(renderToStaticMarkup(<Highlighted original="a" enhanced="a b" highlight={false} />)).toBe("a b");
  });
});

describe("ProblemNote", () => {
  it("announces the message, with the status for the tests and styles", () => {
    const html = renderToStaticMarkup(<ProblemNote problem={new Problem(503, "The service is degraded.")} />);
    expect(html).toBe('<p class="problem" role="alert" data-status="503">The service is degraded.</p>');
  });

  it("says how long to wait on a 429", () => {
    const html = renderToStaticMarkup(<ProblemNote problem={new Problem(429, "x", 42)} />);
    expect(html).toContain("Try again in 42 s.");
  });

  it("renders nothing without a problem", () => {
    expect(renderToStaticMarkup(<ProblemNote problem={undefined} />)).toBe("");
  });
});

describe("charts", () => {
  it("summarise their data for screen readers", () => {
    const columns = renderToStaticMarkup(<ColumnChart caption="Per day" points={[["2026-11-29", 2], ["2026-11-30", 5]]} />);
    expect(columns).toContain('aria-label="Per day: 7 in all, at most 5 in one day."');
    expect(columns.match(/<rect/g)).toHaveLength(2);
    const bars = renderToStaticMarkup(<BarList caption="Techniques" rows={[{ name: "Few shot", value: 3, note: "rated 4.0/5" }]} />);
    expect(bars).toContain("Techniques: Few shot 3.");
    expect(bars).toContain("rated 4.0/5");
    expect(renderToStaticMarkup(<BarList caption="Empty" rows={[]} />)).toContain("Nothing yet");
  });

  it("leaves a heatmap cell without ratings empty", () => {
    const html = renderToStaticMarkup(
      <Heatmap
        caption="Learned"
        rows={[{ id: "a", name: "A" }]}
        columns={[
          { id: "x", name: "X" },
          { id: "y", name: "Y" },
        ]}
        value={(_, c) => (c === "x" ? { v: 0.5, n: 10 } : undefined)}
      />,
    );
    expect(html).toContain("A × X: 50% of 10 ratings good");
    expect(html).toContain("A × Y: no ratings");
    expect(html).not.toContain("No ratings yet");
  });
});
