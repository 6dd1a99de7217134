//! What PII encryption at rest costs: history inserts with prompt text
//! sealed (`BP_ENCRYPT_PROMPTS`) against the same inserts in plaintext, and
//! the cryptography a login adds (blind index, opening the email and two
//! names) against the bcrypt verification every login does anyway.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bp_store::PgPool;
use bp_store::crypto::Keyring;
use bp_store::history::{INSERT_ONE, NewPromptHistory};

use super::Figure;

/// Rows per second of `INSERT_ONE` from `clients` callers for `run`, the
/// prompt text bound as `seal` makes it.
async fn insert_rate(
    pool: &PgPool,
    row: &NewPromptHistory,
    keys: &Arc<Keyring>,
    sealed: bool,
    clients: u32,
    run: Duration,
) -> anyhow::Result<f64> {
    super::per_second(clients, run, |_, lap| {
        let (pool, row, keys) = (pool.clone(), row.clone(), keys.clone());
        async move {
            let mut conn = pool.acquire().await?;
            while lap.going() {
                // As save_history binds them: sealed per row when prompts are encrypted.
                let (input, output) = if sealed {
                    (keys.seal(&row.original_input)?, keys.seal(&row.enhanced_output)?)
                } else {
                    (row.original_input.clone(), row.enhanced_output.clone())
                };
                sqlx::query(INSERT_ONE)
                    .bind(row.user_id)
                    .bind(&row.session_id)
                    .bind(&row.request_id)
                    .bind(input)
                    .bind(output)
                    .bind(&row.intent)
                    .bind(row.intent_confidence)
                    .bind(&row.complexity)
                    .bind(&row.techniques_used)
                    .bind(&row.technique_scores)
                    .bind(row.processing_time_ms)
                    .bind(row.token_count)
                    .bind(&row.model_used)
                    .bind(&row.metadata)
                    .fetch_one(&mut *conn)
                    .await?;
                lap.count();
            }
            Ok(())
        }
    })
    .await
}

/// The figures; `row` is the store bench's sample row (200 + 800 characters).
pub async fn run(pool: &PgPool, row: &NewPromptHistory, run: Duration) -> anyhow::Result<Vec<Figure>> {
    let keys = bp_store::crypto::keyring()?;
    let clients = 8;
    let (mut plain, mut sealed) = (0f64, 0f64);
    // Alternating rounds, best of each: the two cores are shared with the server.
    for _ in 0..2 {
        plain = plain.max(insert_rate(pool, row, &keys, false, clients, run).await?);
        sealed = sealed.max(insert_rate(pool, row, &keys, true, clients, run).await?);
    }
    // A login's cryptography: one blind index and three envelopes opened.
    let envelopes = [
        keys.seal("ada.lovelace@example.com")?,
        keys.seal("Ada")?,
        keys.seal("Lovelace")?,
    ];
    let rounds = 20_000u32;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(keys.email_index("ada.lovelace@example.com"));
        for e in &envelopes {
            std::hint::black_box(keys.open(e)?);
        }
    }
    let login_crypto_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    let hash = bp_api::auth::password::hash("Str0ng&Secret!", 12).await?;
    let start = Instant::now();
    let verifies = 3u32;
    for _ in 0..verifies {
        std::hint::black_box(bp_api::auth::password::verify("Str0ng&Secret!", &hash).await?);
    }
    let bcrypt_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(verifies);
    Ok(vec![
        Figure {
            name: format!("history_insert_encrypted_prompts_c{clients}"),
            unit: "rows/s",
            value: sealed,
            baseline: Some(plain),
            baseline_label: format!(
                "the same INSERT with plaintext prompts (BP_ENCRYPT_PROMPTS off), {clients} callers"
            ),
        },
        Figure {
            name: "login_pii_crypto_us".into(),
            unit: "us",
            value: login_crypto_us,
            baseline: Some(bcrypt_us),
            baseline_label: "one bcrypt verification at cost 12 (every login does one)".into(),
        },
    ])
}
