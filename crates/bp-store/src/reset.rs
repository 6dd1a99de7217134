//! Deleting development data (`betterprompts seed`): what the last seed
//! wrote, or everything but one admin account.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::StoreError;

/// Deletes what an earlier seed wrote for `owners` and anonymously: history
/// rows marked `metadata.seed = true` (their saved prompts go with them),
/// the owners' collections, and the embeddings of both.
pub async fn delete_seeded_history(conn: &mut PgConnection, owners: &[Uuid]) -> Result<u64, StoreError> {
    let mut deleted = sqlx::query(
        "DELETE FROM prompts.embeddings e USING prompts.history h
         WHERE e.source_type = 'prompt_history' AND e.source_id = h.id AND h.metadata->>'seed' = 'true'",
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    for sql in [
        "DELETE FROM prompts.embeddings e USING prompts.saved_prompts s
         WHERE e.source_type = 'saved_prompt' AND e.source_id = s.id AND s.user_id = ANY($1)",
        "DELETE FROM prompts.saved_prompts WHERE user_id = ANY($1)",
        "DELETE FROM prompts.collections WHERE user_id = ANY($1)",
    ] {
        deleted += sqlx::query(sql)
            .bind(owners)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    deleted += sqlx::query("DELETE FROM prompts.history WHERE metadata->>'seed' = 'true'")
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(deleted)
}

/// Deletes the application's data in dependency order, keeping the account
/// `keep_email`, the templates (and their embeddings), intent patterns not
/// from `seed_source`, and the audit log. Returns the rows deleted.
pub async fn delete_all_but(
    conn: &mut PgConnection,
    keep_email: &str,
    seed_source: &str,
) -> Result<u64, StoreError> {
    let mut deleted = 0;
    for sql in [
        "DELETE FROM prompts.collection_prompts",
        "DELETE FROM prompts.collections",
        "DELETE FROM prompts.embeddings WHERE source_type <> 'template'",
        "DELETE FROM prompts.saved_prompts",
        "DELETE FROM prompts.history",
        "DELETE FROM analytics.technique_effectiveness",
        "DELETE FROM analytics.user_activity",
        "DELETE FROM analytics.daily_stats",
        "DELETE FROM analytics.api_metrics",
        "DELETE FROM auth.sessions",
        "DELETE FROM auth.api_keys",
    ] {
        deleted += sqlx::query(sql).execute(&mut *conn).await?.rows_affected();
    }
    deleted += sqlx::query("DELETE FROM prompts.intent_patterns WHERE source = $1")
        .bind(seed_source)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    deleted += sqlx::query(
        "DELETE FROM auth.user_preferences WHERE user_id NOT IN (SELECT id FROM auth.users WHERE email_bidx = $1)",
    )
    .bind(crate::crypto::email_index(keep_email)?)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    deleted += sqlx::query("DELETE FROM auth.users WHERE email_bidx IS DISTINCT FROM $1")
        .bind(crate::crypto::email_index(keep_email)?)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(deleted)
}
