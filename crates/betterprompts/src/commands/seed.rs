//! `betterprompts seed [--clean] [--users N] [--history N]`: development data,
//! written in one transaction.
//!
//! - Accounts that can log in (bcrypt at `BP_BCRYPT_COST`), see [`ACCOUNTS`];
//!   `--users N` adds `user0001@example.com`... with [`EXTRA_PASSWORD`].
//! - The shipped intent patterns (training data); the default templates
//!   come with migration 0005.
//! - `--history N` (default 300) enhancements made by the engine from the
//!   shipped example prompts, spread over the last 30 days and over the
//!   seeded users (a fifth anonymous), about 40% rated; saved prompts and a
//!   collection for alice and bob; `technique_effectiveness` rebuilt from the
//!   rated history of those days and `daily_stats` rolled up for each day, so
//!   the analytics agree with the history. The first 2,000 signed-in rows
//!   are embedded for search after the commit.
//!
//! Seeding again replaces what the last seed wrote (history rows carry
//! `metadata.seed = true`), so it never duplicates. `--clean` deletes the
//! application's data in dependency order, keeping the admin account, the
//! templates, user-contributed intent patterns and the audit log, and seeds
//! nothing.

use std::time::Duration;

use anyhow::Context;
use bp_config::Settings;
use bp_engine::data::bundled_examples;
use bp_engine::{EnhanceRequest, PromptText};
use bp_store::embeddings::SourceType;
use bp_store::intent_patterns::{NewIntentPattern, save_intent_patterns};
use bp_store::users::{self, AdminUpdate, NewUser, User};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::cli::SeedArgs;
use crate::progress::Progress;

/// The `source` of seeded intent patterns.
pub const SEED_SOURCE: &str = "seed";

/// The seeded accounts: email, username, password, role, tier. Development
/// data only: the passwords are documented in the README.
pub const ACCOUNTS: [(&str, &str, &str, &str, &str); 4] = [
    (
        "admin@betterprompts.com",
        "admin",
        "Admin!Prompts2026",
        "admin",
        "enterprise",
    ),
    (
        "developer@betterprompts.com",
        "developer",
        "Developer!Prompts2026",
        "developer",
        "pro",
    ),
    ("alice@example.com", "alice", "Alice!Prompts2026", "user", "free"),
    ("bob@example.com", "bob", "Bob!Prompts2026", "user", "pro"),
];

/// The password of the `--users N` accounts.
pub const EXTRA_PASSWORD: &str = "User!Prompts2026";

/// The admin account `--clean` keeps.
pub const ADMIN_EMAIL: &str = ACCOUNTS[0].0;

/// History rows written when `--history` is not given.
pub const DEFAULT_HISTORY: u32 = 300;

/// Seeded history rows made searchable (embedded); enough for search in
/// development without an HNSW insert per row of a `--history 1000000` run.
const EMBEDDED: usize = 2_000;

/// Embeddings queued before waiting for the writer (below its queue size).
const EMBED_CHUNK: usize = 1_000;

/// Days the seeded history spreads over.
const DAYS: i64 = 30;

/// Seeds (or cleans) and prints a one-line summary.
pub async fn run(settings: &Settings, instance: Option<&str>, args: SeedArgs) -> anyhow::Result<u8> {
    let progress = Progress::start("seed: connecting");
    let (db, cache) = super::connect::platform(settings, instance, super::connect::Role::Owner).await?;
    if args.clean {
        progress.step("seed --clean: deleting data, keeping the admin");
        let mut tx = db.begin().await?;
        // Deleting a `--history 1000000` seed is one long statement per table.
        sqlx::query("SET LOCAL statement_timeout = 0")
            .execute(&mut *tx)
            .await?;
        let deleted = bp_store::reset::delete_all_but(&mut tx, ADMIN_EMAIL, SEED_SOURCE).await?;
        tx.commit().await.context("committing the clean")?;
        // Cached copies of deleted data; feature flags and rate-limit
        // windows are configuration and traffic, not data, and stay.
        use bp_cache::Namespace as N;
        for ns in [
            N::Sessions,
            N::ApiResponses,
            N::Predictions,
            N::Techniques,
            N::Templates,
            N::UserPrefs,
            N::Analytics,
        ] {
            let _ = cache.flush_namespace(ns).await;
        }
        progress.finish(&format!(
            "seed --clean: {deleted} rows deleted; kept {ADMIN_EMAIL}, templates and the audit log"
        ));
        return Ok(0);
    }
    let history = args.history.unwrap_or(DEFAULT_HISTORY);
    let service = super::connect::service(settings, db.clone(), cache.clone()).await?;
    let cost = settings.server.bcrypt_cost;

    let mut tx = db.begin().await?;
    // A deliberate bulk load: at `--history 1000000` the backdating, the
    // effectiveness rebuild and the rollups each take one statement over a
    // million rows, past the service's per-statement bound.
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await?;
    progress.step("seed: accounts");
    let mut people = Vec::new();
    for (email, username, password, role, tier) in ACCOUNTS {
        let hash = bp_api::auth::password::hash(password, cost)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        people.push(account(&mut tx, email, username, &hash, role, tier).await?);
    }
    if args.users > 0 {
        let hash = bp_api::auth::password::hash(EXTRA_PASSWORD, cost)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let bar = crate::progress::bar(u64::from(args.users), "seed: extra users");
        for i in 1..=args.users {
            let name = format!("user{i:04}");
            people.push(
                account(
                    &mut tx,
                    &format!("{name}@example.com"),
                    &name,
                    &hash,
                    "user",
                    "free",
                )
                .await?,
            );
            bar.inc(1);
        }
        bar.finish_and_clear();
    }

    progress.step("seed: intent patterns");
    let patterns: Vec<NewIntentPattern> = bundled_examples()
        .into_iter()
        .map(|e| NewIntentPattern {
            pattern: e.text,
            intent: e.intent.as_str().to_string(),
            is_verified: true,
            source: Some(SEED_SOURCE.into()),
            ..Default::default()
        })
        .collect();
    let patterns_added = save_intent_patterns(&mut *tx, &patterns).await?;

    progress.step("seed: replacing the previous seed's history");
    let owners: Vec<Uuid> = people.iter().skip(1).map(|u| u.id).collect();
    bp_store::reset::delete_seeded_history(&mut tx, &owners).await?;

    let texts: Vec<String> = bundled_examples().into_iter().map(|e| e.text).collect();
    let bar = crate::progress::bar(u64::from(history), "seed: enhancing");
    let mut rng = Lcg(0x5eed_2026);
    let now = Utc::now();
    let (mut times, mut scores, mut rows) = (Vec::new(), Vec::new(), Vec::new());
    let mut written = Vec::new();
    for i in 0..history as usize {
        let text = &texts[i % texts.len()];
        let req = EnhanceRequest::new(PromptText::parse(text)?);
        let mut row = service.prepare(&req).await?;
        // A fifth anonymous; the rest spread over the seeded non-admin users.
        let owner = match rng.next() % 5 {
            0 => None,
            _ => Some(owners[(rng.next() as usize) % owners.len()]),
        };
        row.user_id = owner;
        row.session_id = owner.map(|_| format!("seed-session-{}", rng.next() % 50));
        if let Some(meta) = row.metadata.as_mut().and_then(|m| m.as_object_mut()) {
            meta.insert("seed".into(), json!(true));
        }
        let at = now
            - chrono::Duration::seconds((rng.next() % (DAYS as u64 * 86_400)) as i64)
            - chrono::Duration::seconds(60);
        let score = (rng.next() % 10 < 4).then(|| [5, 4, 4, 3, 5, 2, 4, 5, 1, 4][(rng.next() % 10) as usize]);
        rows.push(row);
        times.push(at);
        scores.push(score);
        if rows.len() == bp_store::history::MAX_BATCH {
            flush(&mut tx, &mut rows, &mut written).await?;
        }
        bar.inc(1);
    }
    flush(&mut tx, &mut rows, &mut written).await?;
    bar.finish_and_clear();
    progress.step("seed: dating and rating the history");
    let ids: Vec<Uuid> = written.iter().map(|(id, _, _)| *id).collect();
    bp_store::history::backdate_with_feedback(&mut *tx, &ids, &times, &scores).await?;

    progress.step("seed: saved prompts and collections");
    let mut saved = 0;
    for person in people
        .iter()
        .filter(|u| u.username == "alice" || u.username == "bob")
    {
        saved += library(&mut tx, person, &written).await?;
    }

    progress.step("seed: technique effectiveness and daily stats");
    let from = (now - chrono::Duration::days(DAYS)).date_naive();
    let effectiveness = bp_store::analytics::rebuild_technique_effectiveness(
        &mut *tx,
        from,
        bp_service::feedback::SUCCESS_RATING,
    )
    .await?;
    for day in 0..=DAYS {
        let date = (now - chrono::Duration::days(day)).date_naive();
        bp_store::analytics::rollup_daily_stats(&mut *tx, date).await?;
    }
    tx.commit().await.context("committing the seed data")?;

    // Searchable after the commit: the first EMBEDDED signed-in rows (an
    // HNSW insert each), queued a chunk at a time so the bounded queue never
    // drops one.
    let searchable: Vec<_> = written
        .iter()
        .filter(|(_, owner, _)| owner.is_some())
        .take(EMBEDDED)
        .collect();
    for chunk in searchable.chunks(EMBED_CHUNK) {
        for (id, _, text) in chunk {
            service.embeddings().push(SourceType::PromptHistory, *id, text);
        }
        tokio::time::timeout(Duration::from_secs(120), service.embeddings().flush())
            .await
            .ok();
    }
    // Cached effectiveness and predictions predate the new data.
    let _ = cache.invalidate(bp_cache::Invalidation::ModelUpdate).await;
    progress.finish(&format!(
        "seed: {} accounts, {patterns_added} intent patterns added, {history} history rows over {DAYS} days, \
         {saved} saved prompts, {effectiveness} effectiveness rows",
        people.len()
    ));
    Ok(0)
}

/// The account with this email, created or reset to the documented password,
/// role and tier, verified and unlocked.
async fn account(
    tx: &mut sqlx::PgConnection,
    email: &str,
    username: &str,
    hash: &str,
    role: &str,
    tier: &str,
) -> anyhow::Result<User> {
    let user = match users::get_user_by_email(&mut *tx, email).await {
        Ok(u) => {
            users::set_password_hash(&mut *tx, u.id, hash).await?;
            u
        }
        Err(bp_store::StoreError::NotFound { .. }) => {
            let new = NewUser {
                email: email.into(),
                username: username.into(),
                password_hash: hash.into(),
                first_name: Some(username[..1].to_uppercase() + &username[1..]),
                last_name: Some("Seed".into()),
                role: None,
                tier: None,
            };
            users::create_user(&mut *tx, &new).await?
        }
        Err(e) => return Err(e.into()),
    };
    users::reset_lock(&mut *tx, user.id).await?;
    let update = AdminUpdate {
        role: Some(role.into()),
        tier: Some(tier.into()),
        is_active: Some(true),
        is_verified: Some(true),
    };
    Ok(users::admin_update_user(&mut *tx, user.id, &update).await?)
}

/// Writes the buffered rows in one statement and records each id with its
/// owner and text.
async fn flush(
    tx: &mut sqlx::PgConnection,
    rows: &mut Vec<bp_store::history::NewPromptHistory>,
    written: &mut Vec<(Uuid, Option<Uuid>, String)>,
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let saved = bp_store::history::save_history_batch(&mut *tx, rows).await?;
    for (id, row) in saved.into_iter().zip(rows.iter()) {
        written.push((id, row.user_id, row.original_input.clone()));
    }
    rows.clear();
    Ok(())
}

/// Three of `person`'s enhancements saved (one shared) and a collection
/// holding them; returns how many were saved.
async fn library(
    tx: &mut sqlx::PgConnection,
    person: &User,
    rows: &[(Uuid, Option<Uuid>, String)],
) -> anyhow::Result<usize> {
    use bp_store::library::{self, CollectionFields, NewSavedPrompt};
    let mine: Vec<&(Uuid, Option<Uuid>, String)> = rows
        .iter()
        .filter(|(_, owner, _)| *owner == Some(person.id))
        .take(3)
        .collect();
    let fields = CollectionFields {
        name: Some("Favourites".into()),
        description: Some("Prompts worth reusing".into()),
        color: Some("#4f46e5".into()),
        icon: Some("star".into()),
        is_public: Some(false),
    };
    let collection = library::create_collection(&mut *tx, person.id, &fields).await?;
    for (n, (history_id, _, text)) in mine.iter().enumerate() {
        let new = NewSavedPrompt {
            user_id: person.id,
            history_id: Some(*history_id),
            title: text.chars().take(60).collect(),
            description: None,
            tags: vec!["seed".into()],
            is_public: false,
        };
        let saved = library::create_saved_prompt(&mut *tx, &new).await?;
        if n == 0 {
            library::share_saved_prompt(&mut *tx, saved.id, person.id).await?;
        }
        library::add_to_collection(&mut *tx, collection.id, person.id, saved.id).await?;
    }
    Ok(mine.len())
}

/// A fixed-seed generator: the same seed data on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}
