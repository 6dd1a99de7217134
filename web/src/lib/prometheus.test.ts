import { describe, expect, it } from "vitest";
import { latencyBuckets, quantile } from "./prometheus";

const text = `# HELP bp_http_request_duration_seconds x
bp_http_request_duration_seconds_bucket{route="/api/v1/enhance",method="POST",status="200",le="0.01"} 50
bp_http_request_duration_seconds_bucket{route="/api/v1/enhance",method="POST",status="200",le="0.1"} 90
bp_http_request_duration_seconds_bucket{route="/api/v1/enhance",method="POST",status="200",le="+Inf"} 100
bp_http_request_duration_seconds_bucket{le="0.01",route="/api/v1/enhance",method="POST",status="400",class="4xx"} 0
bp_http_request_duration_seconds_bucket{le="0.1",route="/api/v1/enhance",method="POST",status="400",class="4xx"} 0
bp_http_request_duration_seconds_bucket{le="+Inf",route="/api/v1/enhance",method="POST",status="400",class="4xx"} 0
bp_http_requests_total{route="/api/v1/enhance"} 100
`;

describe("latency quantiles from /metrics", () => {
  it("sums statuses per route, whatever the label order, and interpolates inside the bucket", () => {
    const buckets = latencyBuckets(text).get("/api/v1/enhance") ?? [];
    expect(buckets.map((b) => b.count)).toEqual([50, 90, 100]);
    // The median: rank 50 is the top of the first bucket.
    expect(quantile(0.5, buckets)).toBeCloseTo(0.01);
    // p90: rank 90 is the top of the second bucket.
    expect(quantile(0.9, buckets)).toBeCloseTo(0.1);
    // p70: 20 of the 40 in (0.01, 0.1] → halfway.
    expect(quantile(0.7, buckets)).toBeCloseTo(0.055);
    // p99 falls in +Inf: the last finite bound is the best estimate.
    expect(quantile(0.99, buckets)).toBeCloseTo(0.1);
  });

  it("has no quantile without observations", () => {
    expect(quantile(0.99, [])).toBeUndefined();
    expect(quantile(0.99, [{ le: 0.1, count: 0 }])).toBeUndefined();
  });
});
