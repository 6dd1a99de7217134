//! Prometheus metrics at `GET /metrics`, through the `prometheus-client`
//! library (OpenMetrics text): requests by route template, method, status
//! and status class with a latency histogram; engine latency; rate-limit
//! refusals. Figures owned elsewhere (the database pool, cache counters, the
//! analytics buffer, Redis memory, the last backup, read replicas) are read
//! at scrape time into a [`Scrape`] and encoded by a collector, so one
//! registry renders everything.

use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Histogram bucket bounds, seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One request's labels. `class` ("2xx", "5xx") lets a dashboard or an
/// alert take error rates without a regular expression over `status`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
    class: &'static str,
}

fn class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Figures read at scrape time from the rest of the process (and Redis),
/// encoded by the registry's collector.
#[derive(Debug, Default, Clone)]
pub struct Scrape {
    /// Pool connections: open, idle, in use, the maximum, waiting callers.
    pub pool: Option<bp_store::PoolStats>,
    /// Cache lookups per namespace: (namespace, hits, misses).
    pub cache: Vec<(String, u64, u64)>,
    /// Whether Redis answers (not degraded).
    pub cache_available: bool,
    /// Analytics events waiting, dropped so far, rows written so far.
    pub buffer: (u64, u64, u64),
    /// Unix time of the last successful backup, when one is recorded.
    pub backup_at: Option<i64>,
    /// Redis `used_memory` and `maxmemory`, when INFO answered.
    pub redis_memory: Option<(u64, u64)>,
    /// Read replicas: (index, lag in seconds, up, serving).
    pub replicas: Vec<(usize, f64, bool, bool)>,
}

/// Encodes the last [`Scrape`].
#[derive(Debug, Default)]
struct ScrapeCollector {
    values: Arc<Mutex<Scrape>>,
}

fn gauge<N>(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: N) -> Result<(), std::fmt::Error>
where
    ConstGauge<N>: EncodeMetric,
{
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for ScrapeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.values.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(pool) = &s.pool {
            let mut family = encoder.encode_descriptor(
                "bp_db_pool_connections",
                "Database pool connections by state.",
                None,
                ConstGauge::new(0u64).metric_type(),
            )?;
            for (state, n) in [
                ("open", u64::from(pool.size)),
                ("idle", pool.idle as u64),
                ("in_use", pool.in_use as u64),
            ] {
                ConstGauge::new(n).encode(family.encode_family(&[("state", state)])?)?;
            }
            gauge(
                &mut encoder,
                "bp_db_pool_max_connections",
                "The pool's connection limit.",
                i64::from(pool.max),
            )?;
            gauge(
                &mut encoder,
                "bp_db_pool_waiting",
                "Callers waiting for a pool connection.",
                pool.waiting as u64,
            )?;
        }
        let hits = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "bp_cache_requests",
            "Cache lookups by namespace and result.",
            None,
            hits.metric_type(),
        )?;
        for (namespace, hits, misses) in &s.cache {
            for (result, n) in [("hit", *hits), ("miss", *misses)] {
                ConstCounter::new(n).encode(
                    family.encode_family(&[("namespace", namespace.as_str()), ("result", result)])?,
                )?;
            }
        }
        gauge(
            &mut encoder,
            "bp_cache_available",
            "1 while Redis answers, 0 in degraded mode.",
            i64::from(s.cache_available),
        )?;
        let (depth, dropped, written) = s.buffer;
        gauge(
            &mut encoder,
            "bp_analytics_buffer_depth",
            "Analytics events waiting to be written.",
            depth,
        )?;
        for (name, help, n) in [
            (
                "bp_analytics_buffer_dropped",
                "Analytics events dropped because the buffer was full.",
                dropped,
            ),
            ("bp_analytics_rows_written", "Analytics rows written.", written),
        ] {
            let metric = ConstCounter::new(n);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)?;
        }
        if let Some(at) = s.backup_at {
            gauge(
                &mut encoder,
                "bp_backup_last_success_timestamp_seconds",
                "When the last backup succeeded.",
                at,
            )?;
        }
        if let Some((used, max)) = s.redis_memory {
            gauge(
                &mut encoder,
                "bp_redis_memory_used_bytes",
                "Redis used_memory.",
                used,
            )?;
            gauge(
                &mut encoder,
                "bp_redis_maxmemory_bytes",
                "Redis maxmemory (0: no limit).",
                max,
            )?;
        }
        // Each read replica as the monitor last saw it (bp_store::replicas).
        if !s.replicas.is_empty() {
            let lag = ConstGauge::new(0.0f64);
            let mut family = encoder.encode_descriptor(
                "bp_db_replica_lag_seconds",
                "Replay lag of a read replica behind the primary.",
                None,
                lag.metric_type(),
            )?;
            for (index, lag, _, _) in &s.replicas {
                let index = index.to_string();
                ConstGauge::new(*lag).encode(family.encode_family(&[("replica", index.as_str())])?)?;
            }
            type Flag = fn(&(usize, f64, bool, bool)) -> bool;
            let flags: [(&str, &str, Flag); 2] = [
                (
                    "bp_db_replica_up",
                    "1 when a read replica answered its last check.",
                    |r| r.2,
                ),
                (
                    "bp_db_replica_serving",
                    "1 when a read replica serves reads (up, within the lag limit).",
                    |r| r.3,
                ),
            ];
            for (name, help, flag) in flags {
                let mut family =
                    encoder.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
                for r in &s.replicas {
                    let index = r.0.to_string();
                    ConstGauge::new(i64::from(flag(r)))
                        .encode(family.encode_family(&[("replica", index.as_str())])?)?;
                }
            }
        }
        Ok(())
    }
}

/// The process's metrics; one registry per process (and per test app).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
    engine: Histogram,
    rate_limited: Counter,
    scrape: Arc<Mutex<Scrape>>,
    /// One render at a time: a render stores its [`Scrape`], then encodes it.
    rendering: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "bp_http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let durations =
            Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        registry.register(
            "bp_http_request_duration_seconds",
            "Request latency",
            durations.clone(),
        );
        let engine = histogram();
        registry.register(
            "bp_engine_duration_seconds",
            "Time in the enhancement engine per request",
            engine.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "bp_rate_limited",
            "Requests refused by the rate limiter",
            rate_limited.clone(),
        );
        let scrape = Arc::new(Mutex::new(Scrape::default()));
        registry.register_collector(Box::new(ScrapeCollector {
            values: scrape.clone(),
        }));
        Self {
            registry,
            requests,
            durations,
            engine,
            rate_limited,
            scrape,
            rendering: Mutex::new(()),
        }
    }
}

impl Metrics {
    /// Counts one request.
    pub fn request(&self, route: &str, method: &str, status: u16, secs: f64) {
        let labels = RequestLabels {
            route: route.to_owned(),
            method: method.to_owned(),
            status,
            class: class(status),
        };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&labels).observe(secs);
    }

    /// Counts one engine run (analyze or enhance).
    pub fn engine(&self, secs: f64) {
        self.engine.observe(secs);
    }

    /// Counts one rate-limit refusal.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// Refusals so far.
    pub fn rate_limited_total(&self) -> u64 {
        self.rate_limited.get()
    }

    /// The OpenMetrics text of everything, with `scrape`'s figures.
    pub fn render(&self, scrape: Scrape) -> String {
        let _one = self.rendering.lock().unwrap_or_else(PoisonError::into_inner);
        *self.scrape.lock().unwrap_or_else(PoisonError::into_inner) = scrape;
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail, and the collector's own
        // encoding only fails on a write error.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_with_their_class_and_scrape_figures() {
        let m = Metrics::default();
        m.request("/api/v1/enhance", "POST", 200, 0.003);
        m.request("/api/v1/enhance", "POST", 200, 0.004);
        m.request("/api/v1/history/{id}", "GET", 503, 0.001);
        m.rate_limited();
        let text = m.render(Scrape {
            cache: vec![("api_responses".into(), 3, 1)],
            cache_available: true,
            replicas: vec![(0, 0.25, true, false)],
            ..Scrape::default()
        });
        for line in [
            "bp_http_requests_total{route=\"/api/v1/enhance\",method=\"POST\",status=\"200\",class=\"2xx\"} 2",
            "bp_http_requests_total{route=\"/api/v1/history/{id}\",method=\"GET\",status=\"503\",class=\"5xx\"} 1",
            "bp_http_request_duration_seconds_bucket{le=\"0.005\",route=\"/api/v1/enhance\",method=\"POST\",status=\"200\",class=\"2xx\"} 2",
            "bp_rate_limited_total 1",
            "bp_cache_requests_total{namespace=\"api_responses\",result=\"hit\"} 3",
            "bp_cache_available 1",
            "bp_db_replica_up{replica=\"0\"} 1",
            "bp_db_replica_serving{replica=\"0\"} 0",
            "bp_db_replica_lag_seconds{replica=\"0\"} 0.25",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(!text.contains("bp_backup_last_success"), "no backup recorded");
    }
}
