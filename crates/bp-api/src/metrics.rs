//! Prometheus metrics, rendered at `GET /metrics` in the text format:
//! requests by route, method and status with a latency histogram; engine
//! latency; rate-limit refusals; database pool size, idle and waiting;
//! cache hits and misses per namespace; the analytics buffer's depth.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Histogram bucket bounds, seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (bound, n) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if secs <= *bound {
                *n += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, n) in BUCKETS.iter().zip(self.counts.iter()) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braced = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braced} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braced} {}", self.count);
    }
}

/// The process's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    engine: Mutex<Histogram>,
    rate_limited: AtomicU64,
}

/// Escapes a label value.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counts one request.
    pub fn request(&self, route: &str, method: &str, status: u16, secs: f64) {
        let mut map = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(h) = map.get_mut(&(route.to_owned(), method.to_owned(), status)) {
            h.observe(secs);
        } else {
            let mut h = Histogram::default();
            h.observe(secs);
            map.insert((route.to_owned(), method.to_owned(), status), h);
        }
    }

    /// Counts one engine run (analyze or enhance).
    pub fn engine(&self, secs: f64) {
        self.engine
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .observe(secs);
    }

    /// Counts one rate-limit refusal.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Refusals so far.
    pub fn rate_limited_total(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    /// The text exposition of everything, with `app`'s pool, cache and buffer figures.
    pub fn render(&self, app: &crate::App) -> String {
        let mut out = String::with_capacity(16 * 1024);
        out.push_str("# HELP bp_http_requests_total HTTP requests by route, method and status.\n");
        out.push_str("# TYPE bp_http_requests_total counter\n");
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        // `class` ("2xx", "5xx") lets a dashboard or an alert take error
        // rates without a regular expression over `status`.
        for ((route, method, status), h) in &requests {
            let _ = writeln!(
                out,
                "bp_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\",class=\"{}xx\"}} {}",
                label(route),
                status / 100,
                h.count
            );
        }
        out.push_str("# HELP bp_http_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE bp_http_request_duration_seconds histogram\n");
        for ((route, method, status), h) in &requests {
            h.render(
                &mut out,
                "bp_http_request_duration_seconds",
                &format!(
                    "route=\"{}\",method=\"{method}\",status=\"{status}\",class=\"{}xx\"",
                    label(route),
                    status / 100
                ),
            );
        }
        out.push_str("# HELP bp_engine_duration_seconds Time in the enhancement engine per request.\n");
        out.push_str("# TYPE bp_engine_duration_seconds histogram\n");
        self.engine
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .render(&mut out, "bp_engine_duration_seconds", "");
        out.push_str("# HELP bp_rate_limited_total Requests refused by the rate limiter.\n");
        out.push_str("# TYPE bp_rate_limited_total counter\n");
        let _ = writeln!(out, "bp_rate_limited_total {}", self.rate_limited_total());
        let pool = app.db.stats();
        out.push_str("# HELP bp_db_pool_connections Database pool connections by state.\n");
        out.push_str("# TYPE bp_db_pool_connections gauge\n");
        let _ = writeln!(out, "bp_db_pool_connections{{state=\"open\"}} {}", pool.size);
        let _ = writeln!(out, "bp_db_pool_connections{{state=\"idle\"}} {}", pool.idle);
        let _ = writeln!(out, "bp_db_pool_connections{{state=\"in_use\"}} {}", pool.in_use);
        let _ = writeln!(out, "bp_db_pool_max_connections {}", pool.max);
        let _ = writeln!(out, "bp_db_pool_waiting {}", pool.waiting);
        out.push_str("# HELP bp_cache_requests_total Cache lookups by namespace and result.\n");
        out.push_str("# TYPE bp_cache_requests_total counter\n");
        for ns in app.cache.namespace_stats() {
            let _ = writeln!(
                out,
                "bp_cache_requests_total{{namespace=\"{}\",result=\"hit\"}} {}",
                ns.namespace, ns.hits
            );
            let _ = writeln!(
                out,
                "bp_cache_requests_total{{namespace=\"{}\",result=\"miss\"}} {}",
                ns.namespace, ns.misses
            );
        }
        let _ = writeln!(out, "bp_cache_available {}", u8::from(app.cache.is_available()));
        out.push_str("# HELP bp_analytics_buffer_depth Analytics events waiting to be written.\n");
        out.push_str("# TYPE bp_analytics_buffer_depth gauge\n");
        let _ = writeln!(out, "bp_analytics_buffer_depth {}", app.recorder.depth());
        let _ = writeln!(
            out,
            "bp_analytics_buffer_dropped_total {}",
            app.recorder.dropped()
        );
        let _ = writeln!(out, "bp_analytics_rows_written_total {}", app.recorder.written());
        out
    }
}
