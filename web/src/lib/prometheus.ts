// Reads request-latency histograms from the server's Prometheus text
// (/metrics) and estimates a quantile per route, as Prometheus'
// histogram_quantile does: linear within the bucket that holds the rank.

interface Bucket {
  le: number;
  count: number;
}

/** Cumulative buckets per route of `bp_http_request_duration_seconds`, all methods and statuses summed. */
export function latencyBuckets(text: string): Map<string, Bucket[]> {
  const sums = new Map<string, Map<number, number>>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("bp_http_request_duration_seconds_bucket{")) continue;
    // Labels in any order (the OpenMetrics encoder puts `le` first).
    const m = /\{(.*)\}\s+([0-9.eE+-]+)/.exec(line);
    if (!m) continue;
    const [, labels = "", count = "0"] = m;
    const route = /(?:^|,)route="([^"]*)"/.exec(labels)?.[1];
    const le = /(?:^|,)le="([^"]+)"/.exec(labels)?.[1];
    if (route === undefined || le === undefined) continue;
    const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
    const byLe = sums.get(route) ?? new Map<number, number>();
    byLe.set(bound, (byLe.get(bound) ?? 0) + Number(count));
    sums.set(route, byLe);
  }
  const out = new Map<string, Bucket[]>();
  for (const [route, byLe] of sums) {
    out.set(
      route,
      [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count })),
    );
  }
  return out;
}

/** The q-quantile (0..1) in seconds of cumulative buckets; undefined without observations. */
export function quantile(q: number, buckets: Bucket[]): number | undefined {
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return lowerLe;
      const inBucket = b.count - lowerCount;
      return inBucket === 0 ? b.le : lowerLe + ((b.le - lowerLe) * (rank - lowerCount)) / inBucket;
    }
    lowerLe = b.le;
    lowerCount = b.count;
  }
  return lowerLe;
}
