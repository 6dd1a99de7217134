//! `analytics.*`: technique effectiveness learnt from feedback, user
//! activity and API metrics (appended singly or in batches, deleted by age
//! in bounded batches), and the daily stats rollup.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::{Acquire, PgExecutor, PgPool, Postgres};
use uuid::Uuid;

use crate::error::{
    StoreError, check_days, check_identifier, check_non_negative, check_object, check_opt_text, check_text,
    invalid, validate_rows,
};

/// The histogram bucket of a processing time (see migration 0008): bucket
/// `b` holds times in `(1.1^(b-2), 1.1^(b-1)]` ms, bucket 1 holds up to 1 ms.
pub fn time_bucket(ms: f64) -> i32 {
    if ms <= 1.0 {
        return 1;
    }
    // ceil(log_1.1(ms)) for ms up to i32::MAX stays below 230.
    let b = 1 + (ms.ln() / 1.1f64.ln()).ceil() as i32;
    b.min(400)
}

/// One use of a technique and how it went.
#[derive(Debug, Clone)]
pub struct TechniqueOutcome {
    /// The technique.
    pub technique: String,
    /// The intent it was used for.
    pub intent: String,
    /// The day it counts for; today (UTC) when `None`.
    pub date: Option<NaiveDate>,
    /// Counted as a success (e.g. a rating of 4 or 5).
    pub success: bool,
    /// The rating, 1..=5, if any.
    pub feedback_score: Option<i32>,
    /// Processing time, if known.
    pub processing_time_ms: Option<i32>,
}

impl TechniqueOutcome {
    fn validate(&self) -> Result<(), StoreError> {
        check_identifier("technique", &self.technique)?;
        check_identifier("intent", &self.intent)?;
        if let Some(s) = self.feedback_score
            && !(1..=5).contains(&s)
        {
            return Err(invalid("rating", "must be 1 to 5"));
        }
        check_non_negative("processing_time_ms", self.processing_time_ms)?;
        Ok(())
    }
}

/// Adds one outcome to its (technique, intent, day) row in one atomic
/// upsert: counts, sums and the time histogram are incremented in place
/// under the row lock, so concurrent calls never lose an update, and the
/// averages are sums over counts (exact). Returns the row after the update.
pub async fn record_technique_outcome(
    db: impl PgExecutor<'_>,
    outcome: &TechniqueOutcome,
) -> Result<TechniqueEffectiveness, StoreError> {
    outcome.validate()?;
    let bucket = outcome.processing_time_ms.map(|t| time_bucket(f64::from(t)));
    let sql = format!(
        "INSERT INTO analytics.technique_effectiveness AS te (technique, intent, date, success_count, total_count,
             feedback_sum, feedback_count, average_feedback, processing_time_sum, processing_time_count,
             average_processing_time_ms, processing_time_hist, p95_processing_time_ms)
         VALUES ($1, $2, coalesce($3, (now() AT TIME ZONE 'UTC')::date), $4::int, 1,
             coalesce($5, 0), ($5 IS NOT NULL)::int, $5::float8,
             coalesce($6, 0), ($6 IS NOT NULL)::int, $6::float8,
             analytics.hist_add('{{}}', $7), analytics.hist_quantile(analytics.hist_add('{{}}', $7), 0.95))
         ON CONFLICT (technique, intent, date) DO UPDATE SET
             success_count = te.success_count + EXCLUDED.success_count,
             total_count = te.total_count + 1,
             feedback_sum = te.feedback_sum + EXCLUDED.feedback_sum,
             feedback_count = te.feedback_count + EXCLUDED.feedback_count,
             average_feedback = (te.feedback_sum + EXCLUDED.feedback_sum)
                 / nullif(te.feedback_count + EXCLUDED.feedback_count, 0),
             processing_time_sum = te.processing_time_sum + EXCLUDED.processing_time_sum,
             processing_time_count = te.processing_time_count + EXCLUDED.processing_time_count,
             average_processing_time_ms = (te.processing_time_sum + EXCLUDED.processing_time_sum)
                 / nullif(te.processing_time_count + EXCLUDED.processing_time_count, 0),
             processing_time_hist = analytics.hist_add(te.processing_time_hist, $7),
             p95_processing_time_ms = analytics.hist_quantile(analytics.hist_add(te.processing_time_hist, $7), 0.95)
         RETURNING {EFFECTIVENESS_COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&outcome.technique)
        .bind(&outcome.intent)
        .bind(outcome.date)
        .bind(outcome.success)
        .bind(outcome.feedback_score.map(f64::from))
        .bind(outcome.processing_time_ms.map(f64::from))
        .bind(bucket)
        .fetch_one(db)
        .await?)
}

/// Replaces one earlier rating `old` by `new` in the day's row of
/// (technique, intent): the feedback sum and average move, the success
/// count follows the threshold, the use count stays. `date` `None` is today.
pub async fn replace_feedback(
    db: impl PgExecutor<'_>,
    technique: &str,
    intent: &str,
    date: Option<NaiveDate>,
    old: i32,
    new: i32,
    success_at: i32,
) -> Result<u64, StoreError> {
    check_identifier("technique", technique)?;
    check_identifier("intent", intent)?;
    if !(1..=5).contains(&old) || !(1..=5).contains(&new) {
        return Err(invalid("rating", "must be 1 to 5"));
    }
    let success_delta = i32::from(new >= success_at) - i32::from(old >= success_at);
    let done = sqlx::query(
        "UPDATE analytics.technique_effectiveness SET
             feedback_sum = feedback_sum + $4::float8,
             average_feedback = (feedback_sum + $4::float8) / nullif(feedback_count, 0),
             success_count = greatest(coalesce(success_count, 0) + $5, 0)
         WHERE technique = $1 AND intent = $2 AND date = coalesce($3, (now() AT TIME ZONE 'UTC')::date)",
    )
    .bind(technique)
    .bind(intent)
    .bind(date)
    .bind(f64::from(new - old))
    .bind(success_delta)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

const EFFECTIVENESS_COLUMNS: &str = "technique, intent, date, success_count, total_count, average_feedback, \
    average_processing_time_ms, p95_processing_time_ms, feedback_sum, feedback_count, processing_time_sum, \
    processing_time_count, processing_time_hist";

/// One (technique, intent, day) row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TechniqueEffectiveness {
    /// Technique.
    pub technique: String,
    /// Intent.
    pub intent: String,
    /// Day.
    pub date: NaiveDate,
    /// Successes.
    pub success_count: Option<i32>,
    /// Uses.
    pub total_count: Option<i32>,
    /// Mean rating of rated uses.
    pub average_feedback: Option<f64>,
    /// Mean processing time.
    pub average_processing_time_ms: Option<f64>,
    /// p95 processing time (upper bound of its histogram bucket).
    pub p95_processing_time_ms: Option<f64>,
    /// Sum of ratings.
    pub feedback_sum: f64,
    /// Rated uses.
    pub feedback_count: i32,
    /// Sum of processing times.
    pub processing_time_sum: f64,
    /// Timed uses.
    pub processing_time_count: i32,
    /// Processing time histogram (migration 0008's buckets).
    pub processing_time_hist: Vec<i32>,
}

/// A technique's record for one intent over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectivenessSummary {
    /// Technique.
    pub technique: String,
    /// Intent.
    pub intent: String,
    /// Uses.
    pub total_count: i64,
    /// Successes.
    pub success_count: i64,
    /// Successes / uses.
    pub success_rate: f64,
    /// Mean rating.
    pub average_feedback: Option<f64>,
    /// Mean processing time.
    pub average_processing_time_ms: Option<f64>,
    /// p95 processing time over the period (merged histograms).
    pub p95_processing_time_ms: Option<f64>,
}

/// Effectiveness per (technique, intent) over the last `days` days (today
/// included), keeping pairs with at least `min_samples` uses, best success
/// rate first. Optionally for one intent.
pub async fn technique_effectiveness(
    db: impl PgExecutor<'_>,
    days: u32,
    min_samples: u32,
    intent: Option<&str>,
) -> Result<Vec<EffectivenessSummary>, StoreError> {
    check_days(days, 3660)?;
    if let Some(i) = intent {
        check_identifier("intent", i)?;
    }
    let sql = format!(
        "SELECT {EFFECTIVENESS_COLUMNS} FROM analytics.technique_effectiveness
         WHERE date > (now() AT TIME ZONE 'UTC')::date - $1::int AND ($2::text IS NULL OR intent = $2)"
    );
    let rows: Vec<TechniqueEffectiveness> = sqlx::query_as(&sql)
        .bind(days as i32)
        .bind(intent)
        .fetch_all(db)
        .await?;
    let mut groups: BTreeMap<(String, String), Vec<TechniqueEffectiveness>> = BTreeMap::new();
    for row in rows {
        groups
            .entry((row.technique.clone(), row.intent.clone()))
            .or_default()
            .push(row);
    }
    let mut out: Vec<EffectivenessSummary> = groups
        .into_iter()
        .filter_map(|((technique, intent), rows)| {
            let total: i64 = rows.iter().map(|r| i64::from(r.total_count.unwrap_or(0))).sum();
            if total < i64::from(min_samples) || total == 0 {
                return None;
            }
            let success: i64 = rows.iter().map(|r| i64::from(r.success_count.unwrap_or(0))).sum();
            let fb_n: i64 = rows.iter().map(|r| i64::from(r.feedback_count)).sum();
            let fb_sum: f64 = rows.iter().map(|r| r.feedback_sum).sum();
            let t_n: i64 = rows.iter().map(|r| i64::from(r.processing_time_count)).sum();
            let t_sum: f64 = rows.iter().map(|r| r.processing_time_sum).sum();
            let mut hist: Vec<i64> = Vec::new();
            for r in &rows {
                if hist.len() < r.processing_time_hist.len() {
                    hist.resize(r.processing_time_hist.len(), 0);
                }
                for (h, v) in hist.iter_mut().zip(&r.processing_time_hist) {
                    *h += i64::from(*v);
                }
            }
            Some(EffectivenessSummary {
                technique,
                intent,
                total_count: total,
                success_count: success,
                success_rate: success as f64 / total as f64,
                average_feedback: (fb_n > 0).then(|| fb_sum / fb_n as f64),
                average_processing_time_ms: (t_n > 0).then(|| t_sum / t_n as f64),
                p95_processing_time_ms: hist_quantile(&hist, 0.95),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.success_rate
            .total_cmp(&a.success_rate)
            .then(b.total_count.cmp(&a.total_count))
            .then(a.technique.cmp(&b.technique))
    });
    Ok(out)
}

/// The upper bound of the bucket holding quantile `q` (the same rule as
/// the SQL function `analytics.hist_quantile`).
pub fn hist_quantile(hist: &[i64], q: f64) -> Option<f64> {
    let n: i64 = hist.iter().sum();
    if n == 0 {
        return None;
    }
    let rank = (q * n as f64).ceil() as i64;
    let mut cum = 0;
    for (i, c) in hist.iter().enumerate() {
        cum += c;
        if cum >= rank {
            return Some(1.1f64.powi(i as i32));
        }
    }
    None
}

/// Something a user did.
#[derive(Debug, Clone, Default)]
pub struct NewActivity {
    /// Who.
    pub user_id: Uuid,
    /// What (`login`, `enhance`, `export`...), up to 100 characters.
    pub activity_type: String,
    /// Details, a JSON object.
    pub activity_data: Option<Value>,
    /// Session.
    pub session_id: Option<String>,
    /// Client address.
    pub ip_address: Option<String>,
    /// Client software.
    pub user_agent: Option<String>,
}

impl NewActivity {
    fn validate(&self) -> Result<(), StoreError> {
        check_text("activity_type", &self.activity_type, 1, 100)?;
        check_object("activity_data", self.activity_data.as_ref())?;
        check_opt_text("session_id", self.session_id.as_deref(), 255)?;
        if let Some(ip) = &self.ip_address
            && ip.parse::<std::net::IpAddr>().is_err()
        {
            return Err(invalid("ip_address", "is not an IP address"));
        }
        check_opt_text("user_agent", self.user_agent.as_deref(), 1000)
    }
}

/// An activity row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Activity {
    /// Primary key.
    pub id: Uuid,
    /// Who.
    pub user_id: Uuid,
    /// What.
    pub activity_type: String,
    /// Details.
    pub activity_data: Option<Value>,
    /// Session.
    pub session_id: Option<String>,
    /// Client address; stored encrypted.
    #[sqlx(try_from = "crate::crypto::PiiOpt")]
    pub ip_address: Option<String>,
    /// Client software; stored encrypted.
    #[sqlx(try_from = "crate::crypto::PiiOpt")]
    pub user_agent: Option<String>,
    /// When.
    pub created_at: Option<DateTime<Utc>>,
}

/// Appends activities (one or many) in one statement; all or none.
pub async fn record_activities(db: impl PgExecutor<'_>, rows: &[NewActivity]) -> Result<u64, StoreError> {
    validate_rows(rows, NewActivity::validate)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let keys = crate::crypto::keyring()?;
    let mut ips = Vec::with_capacity(rows.len());
    let mut agents = Vec::with_capacity(rows.len());
    for r in rows {
        ips.push(keys.seal_opt(r.ip_address.as_deref())?);
        agents.push(keys.seal_opt(r.user_agent.as_deref())?);
    }
    let done = sqlx::query(
        "INSERT INTO analytics.user_activity (user_id, activity_type, activity_data, session_id, ip_address, user_agent)
         SELECT user_id, activity_type, coalesce(activity_data, '{}'), session_id, ip_address, user_agent
         FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::text[])
              AS t(user_id, activity_type, activity_data, session_id, ip_address, user_agent)",
    )
    .bind(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.activity_type.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.activity_data.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.session_id.as_deref()).collect::<Vec<_>>())
    .bind(ips)
    .bind(agents)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A user's activities, newest first, optionally of one type and in
/// `[from, to)`, at most `limit` (1..=1000).
pub async fn list_activity(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    activity_type: Option<&str>,
    range: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    limit: u32,
) -> Result<Vec<Activity>, StoreError> {
    if limit == 0 || limit > 1000 {
        return Err(invalid("limit", "must be 1 to 1000"));
    }
    Ok(sqlx::query_as(
        "SELECT id, user_id, activity_type, activity_data, session_id, ip_address, user_agent, created_at
         FROM analytics.user_activity
         WHERE user_id = $1 AND ($2::text IS NULL OR activity_type = $2)
           AND ($3::timestamptz IS NULL OR created_at >= $3) AND ($4::timestamptz IS NULL OR created_at < $4)
         ORDER BY created_at DESC, id DESC LIMIT $5",
    )
    .bind(user_id)
    .bind(activity_type)
    .bind(range.0)
    .bind(range.1)
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?)
}

/// One API request's measurements.
#[derive(Debug, Clone, Default)]
pub struct NewApiMetric {
    /// The key used, if any.
    pub api_key_id: Option<Uuid>,
    /// Route pattern (`/api/v1/enhance`), up to 255 characters.
    pub endpoint: String,
    /// HTTP method.
    pub method: String,
    /// Response status.
    pub status_code: Option<i32>,
    /// Time to respond.
    pub response_time_ms: Option<i32>,
    /// Request body size.
    pub request_size_bytes: Option<i32>,
    /// Response body size.
    pub response_size_bytes: Option<i32>,
    /// Error summary for failures.
    pub error_message: Option<String>,
    /// When; now when `None` (a batch flushed later keeps request times).
    pub created_at: Option<DateTime<Utc>>,
}

impl NewApiMetric {
    fn validate(&self) -> Result<(), StoreError> {
        check_text("endpoint", &self.endpoint, 1, 255)?;
        check_text("method", &self.method, 1, 10)?;
        if self.status_code.is_some_and(|s| !(100..=599).contains(&s)) {
            return Err(invalid("status_code", "must be 100 to 599"));
        }
        check_non_negative("response_time_ms", self.response_time_ms)?;
        check_non_negative("request_size_bytes", self.request_size_bytes)?;
        check_non_negative("response_size_bytes", self.response_size_bytes)?;
        check_opt_text("error_message", self.error_message.as_deref(), 2000)
    }
}

/// Appends API metrics (one or many) in one statement; all or none. The API
/// buffers them and flushes in batches, so requests do not wait on this.
pub async fn record_api_metrics(db: impl PgExecutor<'_>, rows: &[NewApiMetric]) -> Result<u64, StoreError> {
    validate_rows(rows, NewApiMetric::validate)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "INSERT INTO analytics.api_metrics (api_key_id, endpoint, method, status_code, response_time_ms,
             request_size_bytes, response_size_bytes, error_message, created_at)
         SELECT api_key_id, endpoint, method, status_code, response_time_ms, request_size_bytes,
                response_size_bytes, error_message, coalesce(created_at, now())
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int4[], $5::int4[], $6::int4[], $7::int4[],
                     $8::text[], $9::timestamptz[])
              AS t(api_key_id, endpoint, method, status_code, response_time_ms, request_size_bytes,
                   response_size_bytes, error_message, created_at)",
    )
    .bind(rows.iter().map(|r| r.api_key_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.endpoint.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.method.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.status_code).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.response_time_ms).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.request_size_bytes).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.response_size_bytes).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.error_message.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Requests to one endpoint over a period.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EndpointMetrics {
    /// Route pattern.
    pub endpoint: String,
    /// HTTP method.
    pub method: String,
    /// Requests.
    pub requests: i64,
    /// Responses with status >= 500 or an error message.
    pub errors: i64,
    /// Mean response time.
    pub average_response_time_ms: Option<f64>,
    /// p95 response time.
    pub p95_response_time_ms: Option<f64>,
}

/// Per-endpoint request counts, errors and latency in `[from, to)`,
/// optionally for the given API keys only (a developer's own keys).
pub async fn api_metrics_summary(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    api_key_ids: Option<&[Uuid]>,
) -> Result<Vec<EndpointMetrics>, StoreError> {
    if from > to {
        return Err(invalid("from", "must not be after to"));
    }
    Ok(sqlx::query_as(
        "SELECT endpoint, method, count(*) AS requests,
                count(*) FILTER (WHERE status_code >= 500 OR error_message IS NOT NULL) AS errors,
                avg(response_time_ms)::float8 AS average_response_time_ms,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms) AS p95_response_time_ms
         FROM analytics.api_metrics
         WHERE created_at >= $1 AND created_at < $2 AND ($3::uuid[] IS NULL OR api_key_id = ANY($3))
         GROUP BY endpoint, method ORDER BY requests DESC, endpoint, method",
    )
    .bind(from)
    .bind(to)
    .bind(api_key_ids)
    .fetch_all(db)
    .await?)
}

/// Tables whose old rows [`delete_older_than`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainedTable {
    /// `analytics.user_activity`.
    UserActivity,
    /// `analytics.api_metrics`.
    ApiMetrics,
}

/// Deletes rows created before `before`, `batch` rows per statement (each
/// its own short transaction, so locks and WAL stay bounded and the service
/// keeps writing meanwhile), until none are left. Returns the total deleted.
pub async fn delete_older_than(
    pool: &PgPool,
    table: RetainedTable,
    before: DateTime<Utc>,
    batch: u32,
) -> Result<u64, StoreError> {
    if batch == 0 || batch > 100_000 {
        return Err(invalid("batch", "must be 1 to 100000"));
    }
    // The table name comes from this match, never from input.
    let sql = match table {
        RetainedTable::UserActivity => {
            "DELETE FROM analytics.user_activity WHERE id IN
             (SELECT id FROM analytics.user_activity WHERE created_at < $1 LIMIT $2)"
        }
        RetainedTable::ApiMetrics => {
            "DELETE FROM analytics.api_metrics WHERE id IN
             (SELECT id FROM analytics.api_metrics WHERE created_at < $1 LIMIT $2)"
        }
    };
    let mut total = 0;
    loop {
        let done = sqlx::query(sql)
            .bind(before)
            .bind(i64::from(batch))
            .execute(pool)
            .await?;
        total += done.rows_affected();
        if done.rows_affected() < u64::from(batch) {
            return Ok(total);
        }
    }
}

/// A day's totals.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DailyStats {
    /// The UTC day.
    pub date: NaiveDate,
    /// API requests (from api_metrics).
    pub total_requests: Option<i32>,
    /// Users who enhanced or did anything.
    pub unique_users: Option<i32>,
    /// Accounts created.
    pub new_users: Option<i32>,
    /// Enhancements (history rows).
    pub total_enhancements: Option<i32>,
    /// Mean API response time.
    pub average_response_time_ms: Option<f64>,
    /// Requests with status >= 500 or an error message.
    pub error_count: Option<i32>,
    /// Enhancements per technique.
    pub by_technique: Option<Value>,
    /// Enhancements per intent.
    pub by_intent: Option<Value>,
    /// Enhancements per UTC hour (`"0"`..`"23"`).
    pub by_hour: Option<Value>,
}

const DAILY_COLUMNS: &str = "date, total_requests, unique_users, new_users, total_enhancements, \
    average_response_time_ms, error_count, by_technique, by_intent, by_hour";

/// Computes the totals of one UTC day from history, users, activity and
/// api_metrics and stores them, replacing an earlier rollup of that day
/// (re-running is safe and picks up late rows).
pub async fn rollup_daily_stats(db: impl PgExecutor<'_>, date: NaiveDate) -> Result<DailyStats, StoreError> {
    let sql = format!(
        "WITH bounds AS (SELECT ($1::date)::timestamp AT TIME ZONE 'UTC' AS lo,
                                ($1::date + 1)::timestamp AT TIME ZONE 'UTC' AS hi),
              h AS (SELECT user_id, intent, techniques_used, created_at FROM prompts.history, bounds
                    WHERE created_at >= lo AND created_at < hi),
              m AS (SELECT status_code, response_time_ms, error_message FROM analytics.api_metrics, bounds
                    WHERE created_at >= lo AND created_at < hi)
         INSERT INTO analytics.daily_stats AS d (date, total_requests, unique_users, new_users,
             total_enhancements, average_response_time_ms, error_count, by_technique, by_intent, by_hour)
         SELECT $1::date,
                (SELECT count(*) FROM m),
                (SELECT count(*) FROM (SELECT user_id FROM h WHERE user_id IS NOT NULL
                                       UNION SELECT user_id FROM analytics.user_activity, bounds
                                       WHERE created_at >= lo AND created_at < hi) u),
                (SELECT count(*) FROM auth.users, bounds WHERE created_at >= lo AND created_at < hi),
                (SELECT count(*) FROM h),
                (SELECT avg(response_time_ms)::float8 FROM m),
                (SELECT count(*) FROM m WHERE status_code >= 500 OR error_message IS NOT NULL),
                (SELECT coalesce(jsonb_object_agg(t, n), '{{}}') FROM
                    (SELECT t, count(*) AS n FROM h, unnest(techniques_used) AS t GROUP BY t) s),
                (SELECT coalesce(jsonb_object_agg(i, n), '{{}}') FROM
                    (SELECT coalesce(intent, 'unknown') AS i, count(*) AS n FROM h GROUP BY 1) s),
                (SELECT coalesce(jsonb_object_agg(hr::text, n), '{{}}') FROM
                    (SELECT extract(hour FROM created_at AT TIME ZONE 'UTC')::int AS hr, count(*) AS n
                     FROM h GROUP BY 1) s)
         ON CONFLICT (date) DO UPDATE SET
             total_requests = EXCLUDED.total_requests, unique_users = EXCLUDED.unique_users,
             new_users = EXCLUDED.new_users, total_enhancements = EXCLUDED.total_enhancements,
             average_response_time_ms = EXCLUDED.average_response_time_ms, error_count = EXCLUDED.error_count,
             by_technique = EXCLUDED.by_technique, by_intent = EXCLUDED.by_intent, by_hour = EXCLUDED.by_hour
         RETURNING {DAILY_COLUMNS}"
    );
    Ok(sqlx::query_as(&sql).bind(date).fetch_one(db).await?)
}

/// The stored rollups of the last `days` days (today included), newest first.
pub async fn daily_stats(db: impl PgExecutor<'_>, days: u32) -> Result<Vec<DailyStats>, StoreError> {
    check_days(days, 3660)?;
    let sql = format!(
        "SELECT {DAILY_COLUMNS} FROM analytics.daily_stats
         WHERE date > (now() AT TIME ZONE 'UTC')::date - $1::int ORDER BY date DESC"
    );
    Ok(sqlx::query_as(&sql).bind(days as i32).fetch_all(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_buckets_bound_each_time_within_ten_percent() {
        for ms in [0.0, 0.5, 1.0, 1.05, 2.0, 17.0, 250.0, 9_999.0, 60_000.0] {
            let b = time_bucket(ms);
            let upper = 1.1f64.powi(b - 1);
            assert!(
                upper >= ms && upper <= (ms * 1.1).max(1.0) + 1e-9,
                "{ms} -> {b} ({upper})"
            );
        }
    }

    #[test]
    fn quantiles_come_from_cumulative_counts() {
        let mut hist = vec![0i64; 60];
        hist[10] = 95;
        hist[50] = 5;
        assert_eq!(hist_quantile(&hist, 0.95), Some(1.1f64.powi(10)));
        hist[50] = 6;
        assert_eq!(hist_quantile(&hist, 0.95), Some(1.1f64.powi(50)));
        assert_eq!(hist_quantile(&[], 0.95), None);
    }
}

/// Platform totals for the admin dashboard, from one statement.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PlatformOverview {
    /// Accounts.
    pub users_total: i64,
    /// Active accounts.
    pub users_active: i64,
    /// Accounts created in the last 24 h.
    pub users_new_24h: i64,
    /// Unrevoked, unexpired sessions.
    pub sessions_active: i64,
    /// Enhancements ever.
    pub enhancements_total: i64,
    /// Enhancements in the last 24 h.
    pub enhancements_24h: i64,
    /// Enhancements of the last 30 days that were rated.
    pub feedback_30d: i64,
    /// Their mean rating, 1..=5.
    pub average_feedback_30d: Option<f64>,
    /// API requests in the last 24 h.
    pub requests_24h: i64,
    /// Of those, status >= 500 or with an error.
    pub errors_24h: i64,
    /// Mean response time over the last 24 h.
    pub average_response_time_ms_24h: Option<f64>,
    /// Active API keys.
    pub api_keys_active: i64,
}

/// The dashboard totals. The enhancement count is the planner's estimate
/// when the table is large (an exact count of millions of rows would take
/// seconds); the 24 h figures use the `created_at` indexes.
pub async fn platform_overview(db: impl PgExecutor<'_>) -> Result<PlatformOverview, StoreError> {
    Ok(sqlx::query_as(
        "SELECT (SELECT count(*) FROM auth.users) AS users_total,
                (SELECT count(*) FROM auth.users WHERE is_active) AS users_active,
                (SELECT count(*) FROM auth.users WHERE created_at > now() - interval '24 hours') AS users_new_24h,
                (SELECT count(*) FROM auth.sessions WHERE revoked_at IS NULL AND expires_at > now())
                    AS sessions_active,
                (SELECT CASE WHEN c.reltuples > 100000 THEN c.reltuples::int8
                             ELSE (SELECT count(*) FROM prompts.history) END
                 FROM pg_class c WHERE c.oid = 'prompts.history'::regclass) AS enhancements_total,
                (SELECT count(*) FROM prompts.history WHERE created_at > now() - interval '24 hours')
                    AS enhancements_24h,
                f.rated AS feedback_30d, f.average AS average_feedback_30d,
                m.requests AS requests_24h, m.errors AS errors_24h, m.avg_ms AS average_response_time_ms_24h,
                (SELECT count(*) FROM auth.api_keys WHERE is_active AND (expires_at IS NULL OR expires_at > now()))
                    AS api_keys_active
         FROM (SELECT count(*) AS requests,
                      count(*) FILTER (WHERE status_code >= 500 OR error_message IS NOT NULL) AS errors,
                      avg(response_time_ms)::float8 AS avg_ms
               FROM analytics.api_metrics WHERE created_at > now() - interval '24 hours') m,
              (SELECT count(feedback_score) AS rated, avg(feedback_score)::float8 AS average
               FROM prompts.history WHERE created_at > now() - interval '30 days') f",
    )
    .fetch_one(db)
    .await?)
}

/// Rebuilds `technique_effectiveness` from `from` (a UTC day) onwards out of
/// the rated history rows, exactly as feedback would have recorded them: one
/// row per (technique, intent, day of the enhancement), a rating of
/// `success_rating` or more a success, sums, counts and the time histogram.
/// Earlier rows of those days are replaced. Returns the rows written.
pub async fn rebuild_technique_effectiveness<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    from: NaiveDate,
    success_rating: i32,
) -> Result<u64, StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM analytics.technique_effectiveness WHERE date >= $1")
        .bind(from)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query(
        "WITH rated AS (
             SELECT t AS technique, h.intent, (h.created_at AT TIME ZONE 'UTC')::date AS date,
                    h.feedback_score AS score, h.processing_time_ms AS ms,
                    CASE WHEN h.processing_time_ms IS NULL THEN NULL
                         WHEN h.processing_time_ms <= 1 THEN 1
                         ELSE least(400, 1 + ceil(ln(h.processing_time_ms) / ln(1.1))::int) END AS bucket
             FROM prompts.history h, unnest(h.techniques_used) AS t
             WHERE h.feedback_score IS NOT NULL AND h.intent IS NOT NULL
               AND h.created_at >= ($1::date)::timestamp AT TIME ZONE 'UTC'),
         buckets AS (SELECT technique, intent, date, bucket, count(*)::int AS n FROM rated
                     WHERE bucket IS NOT NULL GROUP BY 1, 2, 3, 4),
         hists AS (SELECT g.technique, g.intent, g.date,
                          (SELECT array_agg(coalesce(b.n, 0) ORDER BY i) FROM generate_series(1, g.top) AS i
                           LEFT JOIN buckets b ON b.technique = g.technique AND b.intent = g.intent
                                AND b.date = g.date AND b.bucket = i) AS hist
                   FROM (SELECT technique, intent, date, max(bucket) AS top FROM buckets GROUP BY 1, 2, 3) g),
         agg AS (SELECT technique, intent, date, count(*) FILTER (WHERE score >= $2)::int AS success,
                        count(*)::int AS total, sum(score)::float8 AS fsum, count(score)::int AS fcount,
                        sum(ms)::float8 AS tsum, count(ms)::int AS tcount
                 FROM rated GROUP BY 1, 2, 3)
         INSERT INTO analytics.technique_effectiveness (technique, intent, date, success_count, total_count,
             feedback_sum, feedback_count, average_feedback, processing_time_sum, processing_time_count,
             average_processing_time_ms, processing_time_hist, p95_processing_time_ms)
         SELECT a.technique, a.intent, a.date, a.success, a.total, a.fsum, a.fcount, a.fsum / nullif(a.fcount, 0),
                coalesce(a.tsum, 0), a.tcount, a.tsum / nullif(a.tcount, 0), coalesce(h.hist, '{}'),
                analytics.hist_quantile(coalesce(h.hist, '{}'), 0.95)
         FROM agg a LEFT JOIN hists h USING (technique, intent, date)",
    )
    .bind(from)
    .bind(success_rating)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}
