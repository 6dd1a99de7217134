// Small SVG charts with no library: a column chart over days, horizontal
// bars, and a heatmap. Each is a figure with a caption, and its SVG carries
// a text summary for screen readers.
import type { ReactNode } from "react";

function Figure({ caption, summary, children }: { caption: string; summary: string; children: ReactNode }) {
  return (
    <figure className="chart">
      <figcaption>{caption}</figcaption>
      <svg viewBox="0 0 640 240" role="img" aria-label={summary} preserveAspectRatio="xMidYMid meet">
        {children}
      </svg>
    </figure>
  );
}

/** Columns over a sequence (days): one column per point, a few x labels. */
export function ColumnChart({ caption, points }: { caption: string; points: [string, number][] }) {
  const max = Math.max(1, ...points.map(([, v]) => v));
  const left = 36;
  const bottom = 210;
  const width = 640 - left - 8;
  const step = width / Math.max(1, points.length);
  const total = points.reduce((s, [, v]) => s + v, 0);
  const every = Math.ceil(points.length / 6);
  return (
    <Figure caption={caption} summary={`${caption}: ${total} in all, at most ${max} in one day.`}>
      <line x1={left} y1={bottom} x2={636} y2={bottom} className="axis" />
      <text x={left - 6} y={bottom - 180 + 4} className="tick" textAnchor="end">
        {max}
      </text>
      <text x={left - 6} y={bottom + 4} className="tick" textAnchor="end">
        0
      </text>
      {points.map(([name, v], i) => {
        const h = (v / max) * 180;
        return (
          <g key={name}>
            <rect x={left + i * step + step * 0.15} y={bottom - h} width={step * 0.7} height={h} className="bar">
              <title>{`${name}: ${v}`}</title>
            </rect>
            {i % every === 0 && (
              <text x={left + i * step + step / 2} y={bottom + 18} className="tick" textAnchor="middle">
                {name.slice(5)}
              </text>
            )}
          </g>
        );
      })}
    </Figure>
  );
}

/** Horizontal bars, largest first; `note` adds text after a bar's value. */
export function BarList({
  caption,
  rows,
  format = String,
  max: fixedMax,
}: {
  caption: string;
  rows: { name: string; value: number; note?: string }[];
  format?: (v: number) => string;
  max?: number;
}) {
  const max = fixedMax ?? Math.max(1, ...rows.map((r) => r.value));
  const shown = rows.slice(0, 10);
  const rowHeight = 220 / Math.max(shown.length, 1);
  return (
    <Figure caption={caption} summary={`${caption}: ${shown.map((r) => `${r.name} ${format(r.value)}`).join(", ") || "nothing yet"}.`}>
      {shown.length === 0 && (
        <text x={320} y={120} textAnchor="middle" className="tick">
          Nothing yet
        </text>
      )}
      {shown.map((r, i) => {
        const y = 10 + i * rowHeight;
        const w = (r.value / max) * 300;
        return (
          <g key={r.name}>
            <text x={190} y={y + rowHeight / 2 + 4} textAnchor="end" className="label">
              {r.name}
            </text>
            <rect x={200} y={y + rowHeight * 0.15} width={Math.max(w, 1)} height={rowHeight * 0.7} className="bar">
              <title>{`${r.name}: ${format(r.value)}`}</title>
            </rect>
            <text x={206 + w} y={y + rowHeight / 2 + 4} className="value">
              {format(r.value)}
              {r.note ? ` · ${r.note}` : ""}
            </text>
          </g>
        );
      })}
    </Figure>
  );
}

/** A grid of values 0..1 (rows × columns); empty cells have no data. */
export function Heatmap({
  caption,
  rows,
  columns,
  value,
}: {
  caption: string;
  rows: { id: string; name: string }[];
  columns: { id: string; name: string }[];
  value: (row: string, column: string) => { v: number; n: number } | undefined;
}) {
  // Room above the grid for the rotated intent names.
  const left = 130;
  const top = 100;
  const cw = (640 - left - 4) / Math.max(columns.length, 1);
  const rh = (240 - top - 4) / Math.max(rows.length, 1);
  const cells = rows.reduce((n, r) => n + columns.filter((c) => value(r.id, c.id) !== undefined).length, 0);
  return (
    <figure className="chart">
      <figcaption>{caption}</figcaption>
      <svg viewBox="0 0 640 240" role="img" preserveAspectRatio="xMidYMid meet" aria-label={`${caption}.`}>
        {columns.map((c, j) => (
          <text key={c.id} x={left + j * cw + cw / 2} y={top - 8} className="tick" textAnchor="start" transform={`rotate(-35 ${left + j * cw + cw / 2} ${top - 8})`}>
            {c.name}
          </text>
        ))}
        {rows.map((r, i) => (
          <g key={r.id}>
            <text x={left - 6} y={top + i * rh + rh / 2 + 4} className="tick" textAnchor="end">
              {r.name}
            </text>
            {columns.map((c, j) => {
              const cell = value(r.id, c.id);
              return (
                <rect
                  key={c.id}
                  x={left + j * cw + 1}
                  y={top + i * rh + 1}
                  width={cw - 2}
                  height={rh - 2}
                  className={cell ? "heat" : "heat empty"}
                  style={cell ? { fillOpacity: 0.15 + 0.85 * cell.v } : undefined}
                >
                  <title>{cell ? `${r.name} × ${c.name}: ${Math.round(cell.v * 100)}% of ${cell.n} ratings good` : `${r.name} × ${c.name}: no ratings`}</title>
                </rect>
              );
            })}
          </g>
        ))}
        {cells === 0 && (
          <text x={400} y={150} textAnchor="middle" className="tick">
            No ratings yet
          </text>
        )}
      </svg>
    </figure>
  );
}
