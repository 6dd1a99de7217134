//! `bench store`: history inserts (1/8/32 callers), batched inserts, the
//! cost of PII encryption ([`super::crypto`]), of row-level security
//! ([`super::rls`]) and of PgBouncer in transaction mode ([`super::pooler`]),
//! history
//! pages at 1M rows (keyset and deep offset), and HNSW top-10 search at
//! 100k x 768, each against pgbench running the same SQL on the same server.

use std::time::{Duration, Instant};

use anyhow::Context;
use bp_store::embeddings::{self, DIMENSION, Embedding, NewEmbedding, SearchRequest, SourceType};
use bp_store::history::{self, HistoryCursor, HistoryFilter, HistorySort, NewPromptHistory, SortDirection};
use bp_store::migrate::{self, MIGRATOR};
use bp_store::{PageRequest, PgPool, PoolSettings};
use serde_json::json;
use uuid::Uuid;

use super::pgbench::{Pgbench, literal};
use super::{Figure, percentile_ms};
use crate::cli::BenchArgs;
use crate::progress::{Progress, bar};

/// Sizes of one run.
struct Scale {
    history_rows: i64,
    vectors: usize,
    pages: usize,
    deep_calls: usize,
    recall_queries: usize,
    run: Duration,
}

impl Scale {
    fn new(quick: bool, smoke: bool) -> Self {
        if smoke {
            Self {
                history_rows: 20_000,
                vectors: 2_000,
                pages: 20,
                deep_calls: 3,
                recall_queries: 5,
                run: Duration::from_secs(1),
            }
        } else if quick {
            Self {
                history_rows: 100_000,
                vectors: 20_000,
                pages: 200,
                deep_calls: 20,
                recall_queries: 30,
                run: Duration::from_secs(3),
            }
        } else {
            Self {
                history_rows: 1_000_000,
                vectors: 100_000,
                pages: 1000,
                deep_calls: 50,
                recall_queries: 100,
                run: Duration::from_secs(10),
            }
        }
    }
}

/// A 200-character prompt and an 800-character enhancement: the sizes the
/// baseline inserts too.
fn sample_row(user_id: Uuid) -> NewPromptHistory {
    NewPromptHistory {
        user_id: Some(user_id),
        original_input: "Explain how a B-tree index speeds up range queries in PostgreSQL. "
            .chars()
            .cycle()
            .take(200)
            .collect(),
        enhanced_output: "You are a database engineer. Think step by step and explain clearly. "
            .chars()
            .cycle()
            .take(800)
            .collect(),
        intent: Some("question_answering".into()),
        intent_confidence: Some(0.92),
        complexity: Some("moderate".into()),
        techniques_used: vec!["chain_of_thought".into(), "role_play".into()],
        technique_scores: Some(json!({"chain_of_thought": 0.81, "role_play": 0.64})),
        processing_time_ms: Some(12),
        token_count: Some(180),
        model_used: Some("bench".into()),
        ..Default::default()
    }
}

/// The single-row insert for pgbench with every value a bound parameter
/// (`-D` variables), as [`history::save_history`] sends it: the server
/// parses the JSON and the array per row on both sides.
fn bound_insert(row: &NewPromptHistory) -> (String, Vec<(&'static str, String)>) {
    let vars = vec![
        ("user_id", row.user_id.map(|u| u.to_string()).unwrap_or_default()),
        ("original_input", row.original_input.clone()),
        ("enhanced_output", row.enhanced_output.clone()),
        ("intent", row.intent.clone().unwrap_or_default()),
        ("confidence", row.intent_confidence.unwrap_or(0.0).to_string()),
        (
            "complexity",
            row.complexity.clone().unwrap_or_else(|| "simple".into()),
        ),
        ("techniques", format!("{{{}}}", row.techniques_used.join(","))),
        (
            "scores",
            row.technique_scores.clone().unwrap_or_default().to_string(),
        ),
        ("processing_ms", row.processing_time_ms.unwrap_or(0).to_string()),
        ("tokens", row.token_count.unwrap_or(0).to_string()),
        ("model", row.model_used.clone().unwrap_or_default()),
        ("metadata", "{}".into()),
    ];
    let params: Vec<String> = vars.iter().map(|(name, _)| format!(":{name}")).collect();
    (format!("{INSERT_HEAD}({}){RETURNING}", params.join(", ")), vars)
}

/// The same row as one SQL `VALUES` tuple for pgbench.
fn values_tuple(row: &NewPromptHistory) -> String {
    format!(
        "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, '{{}}')",
        literal(&row.user_id.map(|u| u.to_string()).unwrap_or_default()),
        literal(&row.original_input),
        literal(&row.enhanced_output),
        literal(row.intent.as_deref().unwrap_or("")),
        row.intent_confidence.unwrap_or(0.0),
        literal(row.complexity.as_deref().unwrap_or("simple")),
        literal(&format!("{{{}}}", row.techniques_used.join(","))),
        literal(&row.technique_scores.clone().unwrap_or_default().to_string()),
        row.processing_time_ms.unwrap_or(0),
        row.token_count.unwrap_or(0),
        literal(row.model_used.as_deref().unwrap_or("")),
    )
}

const INSERT_HEAD: &str = "INSERT INTO prompts.history (user_id, original_input, enhanced_output, intent, \
    intent_confidence, complexity, techniques_used, technique_scores, processing_time_ms, token_count, \
    model_used, metadata) VALUES ";
/// The same columns for COPY.
const COPY_HEAD: &str = "COPY prompts.history (user_id, original_input, enhanced_output, intent, \
    intent_confidence, complexity, techniques_used, technique_scores, processing_time_ms, token_count, \
    model_used, metadata) FROM STDIN";
/// What [`history::INSERT_ONE`] returns, so both sides move the same bytes.
const RETURNING: &str = " RETURNING id, created_at;\n";

/// Runs every store figure.
pub async fn run(url: &str, pgbench: &Pgbench, args: &BenchArgs) -> anyhow::Result<Vec<Figure>> {
    let scale = Scale::new(args.quick, args.smoke);
    let settings = PoolSettings {
        max_connections: 34,
        ..PoolSettings::small()
    };
    let pool = bp_store::connect(url, &settings).await?;
    migrate::run_up(&pool, &MIGRATOR).await?;
    let progress = Progress::start("bench store");
    let users = make_users(&pool, 200).await?;
    let mut figures = Vec::new();

    figures.extend(inserts(&pool, pgbench, users[1], &scale, &progress).await?);
    figures.extend(batch_insert(&pool, pgbench, users[2], &scale, &progress).await?);
    progress.step("PII encryption: sealed vs plaintext prompts, login cryptography vs bcrypt");
    figures.extend(super::crypto::run(&pool, &sample_row(users[3]), scale.run).await?);
    figures.extend(pages(&pool, pgbench, &users, &scale, &progress).await?);
    progress.step("least privilege: bp_app with row-level security vs the owner");
    figures.extend(
        super::rls::run(
            &pool,
            url,
            &sample_row(users[4]),
            users[0],
            scale.pages,
            scale.run,
        )
        .await?,
    );
    figures.extend(super::pooler::run(url, &sample_row(users[5]), scale.run, &progress).await?);
    figures.extend(vectors(&pool, pgbench, &scale, &progress).await?);
    progress.finish_on_stderr(&format!("bench store: measured {} figures", figures.len()));
    pool.close().await;
    Ok(figures)
}

/// `n` accounts stored as the service stores them: the email sealed and
/// with its blind index. (Plaintext rows without the index would look like
/// accounts from before PII encryption, and the API stage's server, which
/// `bench all` starts on the same database next, refuses to start on those.)
async fn make_users(pool: &PgPool, n: i64) -> anyhow::Result<Vec<Uuid>> {
    let (mut emails, mut indexes, mut names) = (Vec::new(), Vec::new(), Vec::new());
    for g in 1..=n {
        let email = format!("bench{g}@example.com");
        emails.push(bp_store::crypto::seal(&email)?);
        indexes.push(bp_store::crypto::email_index(&email)?);
        names.push(format!("bench{g}"));
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO auth.users (email, email_bidx, username, password_hash)
         SELECT e, b, u, 'x' FROM unnest($1::text[], $2::text[], $3::text[]) AS t(e, b, u) RETURNING id",
    )
    .bind(&emails)
    .bind(&indexes)
    .bind(&names)
    .fetch_all(pool)
    .await?)
}

async fn inserts(
    pool: &PgPool,
    pgbench: &Pgbench,
    user: Uuid,
    scale: &Scale,
    progress: &Progress,
) -> anyhow::Result<Vec<Figure>> {
    let row = sample_row(user);
    let (script, vars) = bound_insert(&row);
    let mut out = Vec::new();
    // A short warm-up opens and prepares the pool's connections.
    insert_rate(pool, &row, 32, Duration::from_secs(1), Lease::PerCall).await?;
    for clients in [1u32, 8, 32] {
        // Two alternating rounds, best of each side: two cores shared by
        // client and server make single runs noisy.
        let (mut held, mut pooled, mut grouped, mut base) = (0f64, 0f64, 0f64, 0f64);
        for round in 1..=2 {
            progress.step(&format!(
                "history insert, {clients} callers, round {round}: save_history"
            ));
            held = held.max(insert_rate(pool, &row, clients, scale.run, Lease::PerCaller).await?);
            pooled = pooled.max(insert_rate(pool, &row, clients, scale.run, Lease::PerCall).await?);
            grouped = grouped.max(insert_rate(pool, &row, clients, scale.run, Lease::Grouped).await?);
            progress.step(&format!(
                "history insert, {clients} callers, round {round}: pgbench"
            ));
            base = base.max(pgbench.run(&script, &vars, clients, scale.run, false)?.tps);
        }
        let baseline_label = format!(
            "pgbench -M prepared -c{clients}, same INSERT ... RETURNING id, created_at, values bound"
        );
        out.push(Figure {
            name: format!("history_insert_c{clients}"),
            unit: "rows/s",
            value: held,
            baseline: Some(base),
            baseline_label: baseline_label.clone(),
        });
        out.push(Figure {
            name: format!("history_insert_pooled_c{clients}"),
            unit: "rows/s",
            value: pooled,
            baseline: Some(base),
            baseline_label: baseline_label.clone(),
        });
        out.push(Figure {
            name: format!("history_insert_grouped_c{clients}"),
            unit: "rows/s",
            value: grouped,
            baseline: Some(base),
            baseline_label,
        });
    }
    Ok(out)
}

/// How a bench caller holds its connection.
#[derive(Clone, Copy)]
enum Lease {
    /// One pooled connection for the whole run, as each pgbench client has:
    /// measures the statement path itself.
    PerCaller,
    /// A pool acquire and release around every call, as an API request
    /// does: adds sqlx's liveness pings (test before acquire, and the ping
    /// sqlx 0.8 always sends when a connection returns to the pool).
    PerCall,
    /// Through the service's group commit (`bp_service::group`), as an
    /// anonymous `/enhance` saves its row: concurrent rows share a statement.
    Grouped,
}

/// Rows per second of `save_history` from `clients` callers for `run`.
async fn insert_rate(
    pool: &PgPool,
    row: &NewPromptHistory,
    clients: u32,
    run: Duration,
    lease: Lease,
) -> anyhow::Result<f64> {
    let group = bp_service::group::GroupCommit::spawn(bp_store::Db::new(pool.clone(), None));
    super::per_second(clients, run, |_, lap| {
        let (pool, row, group) = (pool.clone(), row.clone(), group.clone());
        async move {
            let mut held = match lease {
                Lease::PerCaller => Some(pool.acquire().await?),
                Lease::PerCall | Lease::Grouped => None,
            };
            while lap.going() {
                match (lease, held.as_mut()) {
                    (_, Some(conn)) => history::save_history(&mut **conn, &row).await?,
                    (Lease::Grouped, None) => group.save(row.clone()).await?,
                    (_, None) => history::save_history(&pool, &row).await?,
                };
                lap.count();
            }
            Ok(())
        }
    })
    .await
}

const BATCH: usize = 500;

async fn batch_insert(
    pool: &PgPool,
    pgbench: &Pgbench,
    user: Uuid,
    scale: &Scale,
    progress: &Progress,
) -> anyhow::Result<Vec<Figure>> {
    progress.step(&format!("batched history insert, {BATCH} rows per call"));
    let rows = vec![sample_row(user); BATCH];
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < scale.run {
        n += history::save_history_batch(pool, &rows).await?.len();
    }
    let ours = n as f64 / start.elapsed().as_secs_f64();
    progress.step("batched history insert: pgbench multi-row INSERT");
    let tuple = values_tuple(&rows[0]);
    let script = format!("{INSERT_HEAD}{};\n", vec![tuple; BATCH].join(", "));
    let base = pgbench.run(&script, &[], 1, scale.run, false)?;
    progress.step("batched history insert: COPY FROM STDIN");
    // The same row in COPY's text format (the sample values hold no tab,
    // newline or backslash), BATCH rows per COPY.
    let (_, vars) = bound_insert(&rows[0]);
    let line = vars
        .iter()
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join("\t")
        + "\n";
    let chunk = line.repeat(BATCH);
    let mut conn = pool.acquire().await?;
    let start = Instant::now();
    let mut copied = 0u64;
    while start.elapsed() < scale.run {
        let mut copy = conn.copy_in_raw(COPY_HEAD).await?;
        copy.send(chunk.as_bytes()).await?;
        copied += copy.finish().await?;
    }
    let copy_rate = copied as f64 / start.elapsed().as_secs_f64();
    Ok(vec![
        Figure {
            name: "history_batch_insert".into(),
            unit: "rows/s",
            value: ours,
            baseline: Some(base.tps * BATCH as f64),
            baseline_label: format!("pgbench -c1, one {BATCH}-row INSERT ... VALUES per transaction"),
        },
        Figure {
            name: "history_batch_insert_vs_copy".into(),
            unit: "rows/s",
            value: ours,
            baseline: Some(copy_rate),
            baseline_label: format!("COPY FROM STDIN (text), {BATCH} rows per COPY, one connection"),
        },
    ])
}

async fn pages(
    pool: &PgPool,
    pgbench: &Pgbench,
    users: &[Uuid],
    scale: &Scale,
    progress: &Progress,
) -> anyhow::Result<Vec<Figure>> {
    // One heavy user owns a tenth of the table; the rest is spread over the others.
    let heavy = users[0];
    let bar = bar(scale.history_rows as u64, "loading history rows");
    let chunk = 50_000i64;
    let mut from = 1i64;
    while from <= scale.history_rows {
        let to = (from + chunk - 1).min(scale.history_rows);
        sqlx::query(
            "INSERT INTO prompts.history (user_id, original_input, enhanced_output, intent, complexity,
                 techniques_used, processing_time_ms, created_at)
             SELECT CASE WHEN g % 10 = 0 THEN $3 ELSE ($4::uuid[])[1 + g % (array_length($4, 1))] END,
                    'prompt ' || g || ' ' || repeat('x', 150), 'enhanced ' || g || ' ' || repeat('y', 600),
                    (ARRAY['question_answering','code_generation','reasoning','summarization'])[1 + g % 4],
                    'moderate', ARRAY['chain_of_thought'], g % 50,
                    now() - make_interval(secs => g)
             FROM generate_series($1::bigint, $2::bigint) g",
        )
        .bind(from)
        .bind(to)
        .bind(heavy)
        .bind(&users[1..])
        .execute(pool)
        .await?;
        bar.inc((to - from + 1) as u64);
        from = to + 1;
    }
    bar.finish_and_clear();
    progress.step("history pages: ANALYZE");
    sqlx::query("VACUUM ANALYZE prompts.history")
        .execute(pool)
        .await?;
    let heavy_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM prompts.history WHERE user_id = $1")
        .bind(heavy)
        .fetch_one(pool)
        .await?;

    progress.step(&format!("history pages: {} keyset pages of 50", scale.pages));
    let filter = HistoryFilter::default();
    let mut cursor: Option<HistoryCursor> = None;
    let mut keyset = Vec::with_capacity(scale.pages);
    let mut middle: Option<HistoryCursor> = None;
    for i in 0..scale.pages {
        let t = Instant::now();
        let page =
            history::page_history_after(pool, heavy, &filter, SortDirection::Desc, cursor.as_ref(), 50)
                .await?;
        keyset.push(t.elapsed());
        cursor = match page.next_cursor {
            Some(c) => Some(HistoryCursor::decode(&c)?),
            None => None,
        };
        if i == scale.pages / 2 {
            middle = cursor;
        }
    }
    let middle = middle.context("the heavy user has too few rows for the keyset walk")?;
    let keyset_sql = format!(
        "SELECT {} FROM prompts.history WHERE user_id = {} AND (created_at, id) < ({}::timestamptz, {}::uuid) ORDER BY created_at DESC, id DESC LIMIT 51;\n",
        history::COLUMNS,
        literal(&heavy.to_string()),
        literal(&middle.created_at.to_rfc3339()),
        literal(&middle.id.to_string()),
    );
    progress.step("history pages: pgbench keyset");
    let mut base_keyset = pgbench.run(&keyset_sql, &[], 1, scale.run, true)?.latencies;

    let deep_page = u32::try_from((heavy_rows * 9 / 10) / 50)
        .unwrap_or(u32::MAX)
        .max(1);
    let (mut first, mut base_first) = offset_page(pool, pgbench, heavy, 1, scale, progress).await?;
    let (mut deep, mut base_deep) = offset_page(pool, pgbench, heavy, deep_page, scale, progress).await?;
    let label = format!("{} rows, {heavy_rows} for the user", scale.history_rows);
    Ok(vec![
        Figure {
            name: "history_page_keyset_p50_ms".into(),
            unit: "ms",
            value: percentile_ms(&mut keyset, 50.0),
            baseline: Some(percentile_ms(&mut base_keyset, 50.0)),
            baseline_label: format!("pgbench -c1, same keyset SELECT ({label})"),
        },
        Figure {
            name: "history_page_keyset_p99_ms".into(),
            unit: "ms",
            value: percentile_ms(&mut keyset, 99.0),
            baseline: Some(percentile_ms(&mut base_keyset, 99.0)),
            baseline_label: format!("pgbench -c1, same keyset SELECT ({label})"),
        },
        Figure {
            name: "history_page_offset_p99_ms".into(),
            unit: "ms",
            value: percentile_ms(&mut first, 99.0),
            baseline: Some(percentile_ms(&mut base_first, 99.0)),
            baseline_label: "pgbench -c1, same OFFSET SELECT with total, page 1".into(),
        },
        Figure {
            name: "history_page_deep_offset_p99_ms".into(),
            unit: "ms",
            value: percentile_ms(&mut deep, 99.0),
            baseline: Some(percentile_ms(&mut base_deep, 99.0)),
            baseline_label: format!("pgbench -c1, same OFFSET SELECT with total, page {deep_page}"),
        },
    ])
}

/// `scale.deep_calls` calls of `history::page_history` at `page` (50 rows,
/// with the total) and pgbench running the same SQL: both latency lists.
async fn offset_page(
    pool: &PgPool,
    pgbench: &Pgbench,
    user: Uuid,
    page: u32,
    scale: &Scale,
    progress: &Progress,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    progress.step(&format!(
        "history pages: {} offset pages (page {page})",
        scale.deep_calls
    ));
    let filter = HistoryFilter::default();
    let mut ours = Vec::with_capacity(scale.deep_calls);
    for _ in 0..scale.deep_calls {
        let t = Instant::now();
        history::page_history(
            &mut *pool.acquire().await?,
            user,
            &filter,
            HistorySort::default(),
            PageRequest::new(page, 50)?,
        )
        .await?;
        ours.push(t.elapsed());
    }
    let offset_sql = format!(
        "SELECT {}, count(*) OVER () AS total FROM prompts.history \
         WHERE user_id = {} ORDER BY created_at DESC, id DESC LIMIT 50 OFFSET {};\n",
        history::COLUMNS,
        literal(&user.to_string()),
        i64::from(page - 1) * 50,
    );
    progress.step(&format!("history pages: pgbench offset page {page}"));
    let base = pgbench.run(&offset_sql, &[], 1, scale.run, true)?.latencies;
    Ok((ours, base))
}

/// Deterministic clustered vectors (xorshift): points scattered around
/// random centres, like embeddings of related prompts, not uniform noise.
struct Clustered {
    state: u64,
    centres: Vec<Vec<f32>>,
}

impl Clustered {
    fn new(seed: u64, clusters: usize) -> Self {
        let mut me = Self {
            state: seed | 1,
            centres: Vec::new(),
        };
        me.centres = (0..clusters)
            .map(|_| (0..DIMENSION).map(|_| me.next()).collect())
            .collect();
        me
    }

    fn next(&mut self) -> f32 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    }

    fn point(&mut self, i: usize) -> anyhow::Result<Embedding> {
        let c = i % self.centres.len();
        let values: Vec<f32> = (0..DIMENSION)
            .map(|d| self.centres[c][d] + 0.35 * self.next())
            .collect();
        Ok(Embedding::new(values)?)
    }
}

/// How many distinct query vectors the QPS runs cycle through, on both sides.
const QPS_QUERIES: usize = 32;

async fn vectors(
    pool: &PgPool,
    pgbench: &Pgbench,
    scale: &Scale,
    progress: &Progress,
) -> anyhow::Result<Vec<Figure>> {
    let mut points = Clustered::new(42, 200);
    // Load without the index and build it once afterwards (what a bulk
    // import should do); the index definition is the migration's.
    sqlx::query("DROP INDEX prompts.idx_embeddings_hnsw")
        .execute(pool)
        .await?;
    let bar = bar(scale.vectors as u64, "loading embeddings (binary COPY)");
    let chunk = 5_000;
    let mut i = 0;
    while i < scale.vectors {
        let n = chunk.min(scale.vectors - i);
        let mut rows = Vec::with_capacity(n);
        for k in i..i + n {
            rows.push(NewEmbedding {
                source_type: if k % 4 == 0 {
                    SourceType::Template
                } else {
                    SourceType::PromptHistory
                },
                source_id: Uuid::new_v4(),
                embedding: points.point(k)?,
                model_version: Some("bench".into()),
            });
        }
        embeddings::upsert_embeddings(pool, &rows).await?;
        bar.inc(n as u64);
        i += n;
    }
    bar.finish_and_clear();
    progress.step(&format!(
        "vectors: building the HNSW index over {} x {DIMENSION}",
        scale.vectors
    ));
    let mut conn = pool.acquire().await?;
    sqlx::query("SET maintenance_work_mem = '1GB'")
        .execute(&mut *conn)
        .await?;
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "CREATE INDEX idx_embeddings_hnsw ON prompts.embeddings USING hnsw (embedding vector_cosine_ops)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("ANALYZE prompts.embeddings")
        .execute(&mut *conn)
        .await?;
    drop(conn);

    let queries: Vec<Embedding> = (0..scale.recall_queries.max(50))
        .map(|k| points.point(k * 7 + 3))
        .collect::<anyhow::Result<_>>()?;
    progress.step(&format!(
        "vectors: exact top-10 for {} queries",
        scale.recall_queries
    ));
    let mut exact = Vec::new();
    for q in queries.iter().take(scale.recall_queries) {
        exact.push(embeddings::search_exact(pool, q, 10).await?);
    }
    let mut out = Vec::new();
    for ef in [40u32, embeddings::DEFAULT_EF_SEARCH] {
        progress.step(&format!("vectors: recall and QPS at ef_search {ef}"));
        let mut found = 0usize;
        for (q, truth) in queries.iter().zip(&exact) {
            let req = SearchRequest {
                query: q,
                source_type: None,
                min_similarity: None,
                limit: 10,
                ef_search: Some(ef),
            };
            let hits = embeddings::search_similar(pool, &req).await?;
            found += hits.iter().filter(|h| truth.contains(&h.id)).count();
        }
        let recall = found as f64 / (10 * exact.len()) as f64;
        // One connection held for the run, as pgbench's client holds its
        // own: the figure is the search path, not the pool's pings.
        let mut conn = pool.acquire().await?;
        let start = Instant::now();
        let mut n = 0usize;
        let mut lat = Vec::new();
        while start.elapsed() < scale.run {
            let req = SearchRequest {
                query: &queries[n % QPS_QUERIES.min(queries.len())],
                source_type: None,
                min_similarity: None,
                limit: 10,
                ef_search: Some(ef),
            };
            let t = Instant::now();
            embeddings::search_similar(&mut *conn, &req).await?;
            lat.push(t.elapsed());
            n += 1;
        }
        drop(conn);
        let qps = n as f64 / start.elapsed().as_secs_f64();
        // The same two statements search_similar sends, the vector bound,
        // cycling through the same query vectors (one script per vector).
        let search = embeddings::search_sql(10, false)
            .replace("$2::float8", "NULL::float8")
            .replace("$2", "NULL::float8")
            .replace('\n', " ");
        let mut scripts = Vec::new();
        let mut vars = Vec::new();
        for (i, q) in queries.iter().take(QPS_QUERIES).enumerate() {
            let text: Vec<String> = q.as_slice().iter().map(|v| v.to_string()).collect();
            vars.push((format!("q{i}"), format!("[{}]", text.join(","))));
            scripts.push(format!(
                "SELECT set_config('hnsw.ef_search', '{ef}', false), \
                 set_config('hnsw.iterative_scan', 'relaxed_order', false);\n{};\n",
                search.replace("$1", &format!(":q{i}"))
            ));
        }
        let base = pgbench.run_mix(&scripts, &vars, 1, scale.run, false)?;
        let suffix = if ef == embeddings::DEFAULT_EF_SEARCH {
            String::new()
        } else {
            format!("_ef{ef}")
        };
        out.push(Figure {
            name: format!("vector_top10_qps{suffix}"),
            unit: "qps",
            value: qps,
            baseline: Some(base.tps),
            baseline_label: format!(
                "pgbench -c1, same set_config and top-10 SELECT, vector bound, ef_search {ef}, {} vectors",
                scale.vectors
            ),
        });
        out.push(Figure {
            name: format!("vector_top10_p99_ms{suffix}"),
            unit: "ms",
            value: percentile_ms(&mut lat, 99.0),
            baseline: None,
            baseline_label: "-".into(),
        });
        out.push(Figure {
            name: format!("vector_recall_at_10{suffix}"),
            unit: "ratio",
            value: recall,
            baseline: Some(1.0),
            baseline_label: format!("exact search (index off), {} queries", exact.len()),
        });
    }
    Ok(out)
}
