//! PII encryption at rest: what a direct SQL reader sees, lookups through
//! the blind index, key rotation and the conversion of rows from before
//! encryption.

use bp_store::analytics::{self, NewActivity};
use bp_store::audit::{self, NewAuditEntry};
use bp_store::crypto::{self, Keyring};
use bp_store::history::{self, NewPromptHistory};
use bp_store::rotate::{self, Goal};
use bp_store::sessions::{self, NewSession};
use bp_store::users::{self, NewUser};
use bp_testkit::TestDb;
use chrono::{Duration, Utc};
use sqlx::PgPool;

const IP: &str = "203.0.113.77";
const AGENT: &str = "PiiProbe/1.0 (secret-agent)";
const FEEDBACK: &str = "my colleague Zebulon said this was great";

/// One account with a name, a session, an activity, an audit entry and a
/// feedback comment, all carrying recognisable plaintext.
async fn populate(pool: &PgPool, name: &str) -> uuid::Uuid {
    let user = users::create_user(
        pool,
        &NewUser {
            email: format!("{name}@Example.com"),
            username: name.into(),
            password_hash: "$2b$12$abcdefghijklmnopqrstuv".into(),
            first_name: Some("Augusta".into()),
            last_name: Some("Byron-King".into()),
            role: None,
            tier: None,
        },
    )
    .await
    .unwrap();
    sessions::create_session(
        pool,
        &NewSession {
            user_id: user.id,
            token_hash: format!("t-{name}"),
            refresh_token_hash: format!("r-{name}"),
            user_agent: Some(AGENT.into()),
            ip_address: Some(IP.into()),
            expires_at: Utc::now() + Duration::days(1),
        },
    )
    .await
    .unwrap();
    analytics::record_activities(
        pool,
        &[NewActivity {
            user_id: user.id,
            activity_type: "login".into(),
            ip_address: Some(IP.into()),
            user_agent: Some(AGENT.into()),
            ..NewActivity::default()
        }],
    )
    .await
    .unwrap();
    audit::record(
        pool,
        &NewAuditEntry {
            actor_user_id: Some(user.id),
            action: "auth.login".into(),
            ip_address: Some(IP.into()),
            user_agent: Some(AGENT.into()),
            outcome: "success",
            ..NewAuditEntry::default()
        },
    )
    .await
    .unwrap();
    let item = history::save_history(
        pool,
        &NewPromptHistory {
            user_id: Some(user.id),
            original_input: "explain b-trees".into(),
            enhanced_output: "Explain B-trees step by step.".into(),
            ..NewPromptHistory::default()
        },
    )
    .await
    .unwrap();
    history::update_feedback(pool, item.id, user.id, 5, Some(FEEDBACK))
        .await
        .unwrap();
    user.id
}

/// Every encrypted column of every table as text, one string per value.
async fn raw_values(pool: &PgPool) -> Vec<String> {
    let mut out = Vec::new();
    for sealed in rotate::SEALED {
        for col in sealed.columns {
            // Table and column names are the crate's constants.
            let sql = format!("SELECT {col}::text FROM {} WHERE {col} IS NOT NULL", sealed.table);
            let values: Vec<String> = sqlx::query_scalar(&sql).fetch_all(pool).await.unwrap();
            out.extend(values);
        }
    }
    out
}

#[tokio::test]
async fn sql_sees_no_plaintext_pii_and_lookups_by_email_still_work() {
    let db = TestDb::new().await;
    let id = populate(db.pool(), "augusta").await;

    let values = raw_values(db.pool()).await;
    assert!(values.len() >= 10, "{values:?}");
    for v in &values {
        for secret in ["augusta", "Augusta", "Byron", "203.0.113", "PiiProbe", "Zebulon"] {
            assert!(!v.contains(secret), "plaintext `{secret}` in {v}");
        }
        assert!(v.starts_with("enc:v1:test1:"), "{v}");
    }
    let dump: String = sqlx::query_scalar("SELECT row_to_json(u)::text FROM auth.users u WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(!dump.to_lowercase().contains("augusta@example.com"), "{dump}");

    // Lookups by email go through the blind index, in any letter case.
    let by_email = users::get_user_by_email(db.pool(), "AUGUSTA@example.COM")
        .await
        .unwrap();
    assert_eq!(by_email.id, id);
    assert_eq!(by_email.email, "augusta@Example.com");
    assert_eq!(by_email.first_name.as_deref(), Some("Augusta"));
    let by_login = users::get_user_by_email_or_username(db.pool(), "augusta@example.com")
        .await
        .unwrap();
    assert_eq!(by_login.id, id);
    let session = sessions::get_session_by_refresh_hash(db.pool(), "r-augusta")
        .await
        .unwrap();
    assert_eq!(session.ip_address.as_deref(), Some(IP));
    assert_eq!(session.user_agent.as_deref(), Some(AGENT));
    let activity = analytics::list_activity(db.pool(), id, None, (None, None), 10)
        .await
        .unwrap();
    assert_eq!(activity[0].ip_address.as_deref(), Some(IP));
    let page = users::list_users(
        db.pool(),
        &users::UserFilter {
            search: Some("Augusta@example.com".into()),
            ..users::UserFilter::default()
        },
        bp_store::PageRequest::new(1, 10).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(page.items.len(), 1, "a whole address finds its account");
}

fn second_key() -> Keyring {
    bp_testkit::test_keyring("test2:c2Vjb25kLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmchISE")
}

#[tokio::test]
async fn rotation_moves_every_value_to_the_new_key_and_a_second_run_has_nothing_to_do() {
    let db = TestDb::new().await;
    populate(db.pool(), "rotor").await;
    populate(db.pool(), "rotor2").await;
    let keys = second_key();
    assert_eq!(keys.active_id(), "test2");

    let mut batches = 0;
    let reports = rotate::run(db.pool(), &keys, Goal::ActiveKey, 1, |_| batches += 1)
        .await
        .unwrap();
    let rewritten: u64 = reports.iter().map(|r| r.rewritten).sum();
    assert!(rewritten >= 10, "{reports:?}");
    assert!(
        batches as u64 > rewritten,
        "one row per batch, plus each table's last empty batch"
    );

    let uses = rotate::key_use(db.pool()).await.unwrap();
    assert!(!uses.is_empty());
    for u in &uses {
        assert_eq!(u.key_id.as_deref(), Some("test2"), "{u:?}");
    }
    for v in raw_values(db.pool()).await {
        assert!(crypto::key_id_of(&v) == Some("test2"), "{v}");
        keys.open(&v).unwrap();
    }
    // The blind index does not depend on the encryption key.
    let bidx: String = sqlx::query_scalar("SELECT email_bidx FROM auth.users WHERE username = 'rotor'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(bidx, keys.email_index("rotor@example.com"));

    let again = rotate::run(db.pool(), &keys, Goal::ActiveKey, 1000, |_| {})
        .await
        .unwrap();
    assert_eq!(again.iter().map(|r| r.rewritten).sum::<u64>(), 0, "{again:?}");
}

#[tokio::test]
async fn rows_from_before_encryption_are_converted_and_decrypt_restores_plaintext() {
    let db = TestDb::new().await;
    // As migration 0009 finds them: plaintext, no blind index.
    sqlx::query(
        "INSERT INTO auth.users (email, username, password_hash, first_name) VALUES ('Old@Example.com', 'old', 'x', 'Olga')",
    )
    .execute(db.pool())
    .await
    .unwrap();
    assert!(rotate::unconverted_accounts(db.pool()).await.unwrap());
    assert!(
        users::get_user_by_email(db.pool(), "old@example.com")
            .await
            .is_err(),
        "not findable by email before conversion"
    );
    let keys = bp_testkit::test_keyring("");
    rotate::run(db.pool(), &keys, Goal::ActiveKey, 100, |_| {})
        .await
        .unwrap();
    assert!(!rotate::unconverted_accounts(db.pool()).await.unwrap());
    let user = users::get_user_by_email(db.pool(), "OLD@example.com")
        .await
        .unwrap();
    assert_eq!(user.first_name.as_deref(), Some("Olga"));
    assert!(
        raw_values(db.pool())
            .await
            .iter()
            .all(|v| v.starts_with("enc:v1:test1:"))
    );

    rotate::run(db.pool(), &keys, Goal::Plaintext, 100, |_| {})
        .await
        .unwrap();
    let email: String = sqlx::query_scalar("SELECT email FROM auth.users WHERE username = 'old'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(email, "Old@Example.com");
}

/// An anonymous history row with `input` as its prompt.
async fn save_prompt(db: &TestDb, input: &str) -> history::PromptHistory {
    history::save_history(
        db.pool(),
        &NewPromptHistory {
            original_input: input.into(),
            enhanced_output: "plain output".into(),
            ..NewPromptHistory::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_prompt_that_looks_like_an_envelope_is_sealed_so_it_reads_back_unchanged() {
    let db = TestDb::new().await;
    let tricky = "enc:v1:test1:AAAA this is just text";
    let saved = save_prompt(&db, tricky).await;
    let read = history::get_history_any(db.pool(), saved.id).await.unwrap();
    assert_eq!(read.original_input, tricky);
    assert_eq!(read.enhanced_output, "plain output");
    let stored: String = sqlx::query_scalar("SELECT enhanced_output FROM prompts.history WHERE id = $1")
        .bind(saved.id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(stored, "plain output", "prompt text is not encrypted by default");
}

#[tokio::test]
async fn the_audit_list_filters_decrypts_addresses_and_prune_keeps_the_retention_period() {
    let db = TestDb::new().await;
    let id = populate(db.pool(), "auditor").await;
    for outcome in ["failure", "denied"] {
        audit::record(
            db.pool(),
            &NewAuditEntry {
                action: "auth.login".into(),
                outcome,
                ..NewAuditEntry::default()
            },
        )
        .await
        .unwrap();
    }
    let mine = audit::search(
        db.pool(),
        &audit::AuditFilter {
            actor_user_id: Some(id),
            ..audit::AuditFilter::default()
        },
        10,
    )
    .await
    .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        mine[0].ip_address.as_deref(),
        Some(IP),
        "decrypted on the way out"
    );
    assert_eq!(mine[0].user_agent.as_deref(), Some(AGENT));
    let denied = audit::search(
        db.pool(),
        &audit::AuditFilter {
            action: Some("auth.login".into()),
            outcome: Some("denied".into()),
            ..audit::AuditFilter::default()
        },
        10,
    )
    .await
    .unwrap();
    assert_eq!(denied.len(), 1);
    let bad = audit::AuditFilter {
        outcome: Some("maybe".into()),
        ..audit::AuditFilter::default()
    };
    assert!(matches!(
        audit::search(db.pool(), &bad, 10).await,
        Err(bp_store::StoreError::Invalid { .. })
    ));

    sqlx::query(
        "UPDATE auth.audit_log SET occurred_at = now() - interval '400 days' WHERE outcome = 'denied'",
    )
    .execute(db.pool())
    .await
    .unwrap();
    assert_eq!(audit::prune(db.pool(), 365).await.unwrap(), 1);
    assert_eq!(audit::recent(db.pool(), None, 100).await.unwrap().len(), 2);
}

#[tokio::test]
async fn rotation_moves_sealed_prompts_to_the_new_key_and_seals_plain_ones_only_when_asked() {
    let db = TestDb::new().await;
    let tricky = "enc:v1:test1:not really an envelope";
    let saved = save_prompt(&db, tricky).await;
    let stored = |col: &'static str| {
        let pool = db.pool().clone();
        async move {
            // `col` is one of two constant column names.
            let sql = format!("SELECT {col} FROM prompts.history WHERE id = $1");
            sqlx::query_scalar::<_, String>(&sql)
                .bind(saved.id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let keys = second_key();
    rotate::run(db.pool(), &keys, Goal::ActiveKey, 100, |_| {})
        .await
        .unwrap();
    let input = stored("original_input").await;
    assert_eq!(
        crypto::key_id_of(&input),
        Some("test2"),
        "a sealed prompt follows the key"
    );
    assert_eq!(keys.open(&input).as_deref(), Ok(tricky));
    assert_eq!(
        stored("enhanced_output").await,
        "plain output",
        "prompts stay plaintext by default"
    );

    let sealing = second_key().with_prompt_encryption(true);
    rotate::run(db.pool(), &sealing, Goal::ActiveKey, 100, |_| {})
        .await
        .unwrap();
    let output = stored("enhanced_output").await;
    assert_eq!(
        crypto::key_id_of(&output),
        Some("test2"),
        "BP_ENCRYPT_PROMPTS seals old rows"
    );

    rotate::run(db.pool(), &keys, Goal::Plaintext, 100, |_| {})
        .await
        .unwrap();
    assert_eq!(stored("enhanced_output").await, "plain output");
    let input = stored("original_input").await;
    assert_eq!(
        keys.open(&input).as_deref(),
        Ok(tricky),
        "an envelope-looking prompt stays sealed so that it reads back unchanged"
    );
    assert!(crypto::key_id_of(&input).is_some());
}
