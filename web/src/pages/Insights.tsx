// Insights for the signed-in person: enhancements per day, the techniques
// used and how they were rated, and what BetterPrompts has learned about
// each technique per intent. Both requests start together.
import { useEffect, useState } from "react";
import { api, type Schemas } from "../api/client";
import { call } from "../api/problem";
import { BarList, ColumnChart, Heatmap } from "../components/charts";
import { ProblemNote } from "../components/ui";
import { INTENTS, label } from "../lib/words";
import { useTitle } from "../router";

/** The last `days` UTC days, oldest first, with zero for days without items. */
export function lastDays(byDay: Record<string, number>, days: number, today: Date = new Date()): [string, number][] {
  const out: [string, number][] = [];
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    const key = d.toISOString().slice(0, 10);
    out.push([key, byDay[key] ?? 0]);
  }
  return out;
}

export function InsightsPage() {
  useTitle("Insights");
  const [stats, setStats] = useState<Schemas["HistoryStatsAnswer"]>();
  const [catalogue, setCatalogue] = useState<Schemas["Catalogue"]>();
  const [problem, setProblem] = useState<unknown>();
  useEffect(() => {
    Promise.all([call(api.GET("/api/v1/history/stats", { params: { query: { days: 30 } } })), call(api.GET("/api/v1/techniques"))]).then(
      ([s, c]) => {
        setStats(s);
        setCatalogue(c);
      },
      setProblem,
    );
  }, []);
  if (!stats || !catalogue) return problem ? <ProblemNote problem={problem} /> : <p aria-busy="true">Loading…</p>;
  const techniques = Object.entries(stats.by_technique)
    .map(([name, value]) => {
      const rating = stats.rating_by_technique[name];
      return { name: label(name), value, note: rating ? `rated ${rating.toFixed(1)}/5` : undefined };
    })
    .sort((a, b) => b.value - a.value);
  const intents = Object.entries(stats.by_intent)
    .map(([name, value]) => ({ name: label(name), value }))
    .sort((a, b) => b.value - a.value);
  const learned = catalogue.techniques.filter((t) => t.effectiveness.sample_size > 0);
  const rows = (learned.length > 0 ? learned : catalogue.techniques).map((t) => ({ id: t.id, name: t.name }));
  return (
    <>
      <h1>Insights</h1>
      <dl className="facts">
        <div>
          <dt>Enhancements</dt>
          <dd data-testid="total">{stats.total}</dd>
        </div>
        <div>
          <dt>Favourites</dt>
          <dd>{stats.favorites}</dd>
        </div>
        <div>
          <dt>Your mean rating</dt>
          <dd data-testid="mean">{stats.average_feedback ? `${stats.average_feedback.toFixed(1)}/5` : "not rated yet"}</dd>
        </div>
      </dl>
      <div className="charts">
        <ColumnChart caption="My enhancements per day (last 30 days)" points={lastDays(stats.by_day, 30)} />
        <BarList caption="Techniques used on my prompts, and my ratings" rows={techniques} />
        <BarList caption="My prompts by intent" rows={intents} />
        <Heatmap
          caption="What BetterPrompts has learned: share of good ratings per technique and intent (everyone's)"
          rows={rows}
          columns={INTENTS.map((i) => ({ id: i, name: label(i) }))}
          value={(t, i) => {
            const cell = catalogue.techniques.find((x) => x.id === t)?.effectiveness.by_intent[i];
            return cell && cell.sample_size > 0 ? { v: cell.success_rate, n: cell.sample_size } : undefined;
          }}
        />
      </div>
    </>
  );
}
