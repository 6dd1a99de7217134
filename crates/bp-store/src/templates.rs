//! `prompts.templates`: the prompt templates the engine fills in, one or
//! more per technique. Listing is ordered by effectiveness, then usage; a
//! slug left empty is derived from the name by the table's trigger.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreError, check_days, check_identifier, check_opt_text, check_text, invalid};

/// Longest template text, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 100_000;

const COLUMNS: &str = "id, name, slug, description, technique, category, template_text, variables, examples, \
    metadata, effectiveness_score, usage_count, is_active, is_public, created_by, created_at, updated_at";

/// A template row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Template {
    /// Primary key.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// URL name, unique.
    pub slug: String,
    /// What it does.
    pub description: Option<String>,
    /// The technique it implements (`chain_of_thought`).
    pub technique: String,
    /// Grouping (`reasoning`, `learning`).
    pub category: Option<String>,
    /// The text with `{{variable}}` placeholders.
    pub template_text: String,
    /// Names of the variables, a JSON array.
    pub variables: Option<Value>,
    /// Worked examples, a JSON array.
    pub examples: Option<Value>,
    /// Free-form metadata.
    pub metadata: Option<Value>,
    /// Success rate learnt from feedback, 0..=1.
    pub effectiveness_score: Option<f64>,
    /// Times used.
    pub usage_count: Option<i32>,
    /// Offered to the engine.
    pub is_active: Option<bool>,
    /// Visible to every user.
    pub is_public: Option<bool>,
    /// Author.
    pub created_by: Option<Uuid>,
    /// Created.
    pub created_at: Option<DateTime<Utc>>,
    /// Updated (trigger).
    pub updated_at: Option<DateTime<Utc>>,
}

/// A template to create.
#[derive(Debug, Clone, Default)]
pub struct NewTemplate {
    /// 1 to 255 characters.
    pub name: String,
    /// Lowercase letters, digits and '-'; derived from the name when `None`.
    pub slug: Option<String>,
    /// Up to 10 000 characters.
    pub description: Option<String>,
    /// A technique name.
    pub technique: String,
    /// Up to 100 characters.
    pub category: Option<String>,
    /// 1..=[`MAX_TEMPLATE_CHARS`] characters.
    pub template_text: String,
    /// A JSON array; `[]` when `None`.
    pub variables: Option<Value>,
    /// A JSON array; `[]` when `None`.
    pub examples: Option<Value>,
    /// Public (default true).
    pub is_public: Option<bool>,
    /// Author.
    pub created_by: Option<Uuid>,
}

/// Changes to a template; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TemplateUpdate {
    /// New name.
    pub name: Option<String>,
    /// New slug.
    pub slug: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New text.
    pub template_text: Option<String>,
    /// New variables (JSON array).
    pub variables: Option<Value>,
    /// New examples (JSON array).
    pub examples: Option<Value>,
    /// Activate or retire.
    pub is_active: Option<bool>,
    /// Publish or hide.
    pub is_public: Option<bool>,
}

fn check_slug(slug: Option<&str>) -> Result<(), StoreError> {
    let Some(slug) = slug else { return Ok(()) };
    let shaped = (1..=255).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if shaped {
        Ok(())
    } else {
        Err(invalid(
            "slug",
            "must be lowercase letters, digits and inner '-' (at most 255)",
        ))
    }
}

fn check_array(field: &str, value: Option<&Value>) -> Result<(), StoreError> {
    match value {
        None | Some(Value::Array(_)) => Ok(()),
        Some(_) => Err(invalid(field, "must be a JSON array")),
    }
}

impl NewTemplate {
    /// Checks every field before any SQL runs.
    pub fn validate(&self) -> Result<(), StoreError> {
        check_text("name", &self.name, 1, 255)?;
        if !self.name.chars().any(|c| c.is_ascii_alphanumeric()) && self.slug.is_none() {
            return Err(invalid("name", "needs a letter or digit to derive a slug from"));
        }
        check_slug(self.slug.as_deref())?;
        check_opt_text("description", self.description.as_deref(), 10_000)?;
        check_identifier("technique", &self.technique)?;
        check_opt_text("category", self.category.as_deref(), 100)?;
        check_text("template_text", &self.template_text, 1, MAX_TEMPLATE_CHARS)?;
        check_array("variables", self.variables.as_ref())?;
        check_array("examples", self.examples.as_ref())
    }
}

impl TemplateUpdate {
    fn validate(&self) -> Result<(), StoreError> {
        if let Some(name) = &self.name {
            check_text("name", name, 1, 255)?;
        }
        check_slug(self.slug.as_deref())?;
        check_opt_text("description", self.description.as_deref(), 10_000)?;
        check_opt_text("category", self.category.as_deref(), 100)?;
        if let Some(text) = &self.template_text {
            check_text("template_text", text, 1, MAX_TEMPLATE_CHARS)?;
        }
        check_array("variables", self.variables.as_ref())?;
        check_array("examples", self.examples.as_ref())
    }
}

/// Creates a template; a taken slug is [`StoreError::Conflict`] on
/// `templates_slug_key`.
pub async fn create_template(db: impl PgExecutor<'_>, new: &NewTemplate) -> Result<Template, StoreError> {
    new.validate()?;
    let sql = format!(
        "INSERT INTO prompts.templates (name, slug, description, technique, category, template_text, \
         variables, examples, is_public, created_by)
         VALUES ($1, coalesce($2, ''), $3, $4, $5, $6, coalesce($7, '[]'), coalesce($8, '[]'), \
                 coalesce($9, true), $10)
         RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&new.name)
        .bind(&new.slug)
        .bind(&new.description)
        .bind(&new.technique)
        .bind(&new.category)
        .bind(&new.template_text)
        .bind(&new.variables)
        .bind(&new.examples)
        .bind(new.is_public)
        .bind(new.created_by)
        .fetch_one(db)
        .await?)
}

/// Changes the given fields. Setting a new name with no slug keeps the old
/// slug (links stay valid); pass `slug: Some(..)` to change it.
pub async fn update_template(
    db: impl PgExecutor<'_>,
    id: Uuid,
    update: &TemplateUpdate,
) -> Result<Template, StoreError> {
    update.validate()?;
    let sql = format!(
        "UPDATE prompts.templates SET name = coalesce($2, name), slug = coalesce($3, slug),
             description = coalesce($4, description), category = coalesce($5, category),
             template_text = coalesce($6, template_text), variables = coalesce($7, variables),
             examples = coalesce($8, examples), is_active = coalesce($9, is_active),
             is_public = coalesce($10, is_public)
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .bind(&update.name)
        .bind(&update.slug)
        .bind(&update.description)
        .bind(&update.category)
        .bind(&update.template_text)
        .bind(&update.variables)
        .bind(&update.examples)
        .bind(update.is_active)
        .bind(update.is_public)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "template" })
}

/// One template by slug (active or not).
pub async fn get_template_by_slug(db: impl PgExecutor<'_>, slug: &str) -> Result<Template, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM prompts.templates WHERE slug = $1");
    sqlx::query_as(&sql)
        .bind(slug)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "template" })
}

/// One template by id.
pub async fn get_template(db: impl PgExecutor<'_>, id: Uuid) -> Result<Template, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM prompts.templates WHERE id = $1");
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "template" })
}

/// Active templates, optionally of one technique and/or category, the most
/// effective first, then the most used, then by name.
pub async fn list_active_templates(
    db: impl PgExecutor<'_>,
    technique: Option<&str>,
    category: Option<&str>,
) -> Result<Vec<Template>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM prompts.templates
         WHERE is_active AND ($1::text IS NULL OR technique = $1) AND ($2::text IS NULL OR category = $2)
         ORDER BY effectiveness_score DESC NULLS LAST, usage_count DESC NULLS LAST, name, id"
    );
    Ok(sqlx::query_as(&sql)
        .bind(technique)
        .bind(category)
        .fetch_all(db)
        .await?)
}

/// Adds `by` uses to a template in one atomic update; returns the new count.
pub async fn increment_template_usage(db: impl PgExecutor<'_>, id: Uuid, by: i32) -> Result<i32, StoreError> {
    if by < 1 {
        return Err(invalid("by", "must be positive"));
    }
    sqlx::query_scalar(
        "UPDATE prompts.templates SET usage_count = coalesce(usage_count, 0) + $2 WHERE id = $1
         RETURNING usage_count",
    )
    .bind(id)
    .bind(by)
    .fetch_optional(db)
    .await?
    .flatten()
    .ok_or(StoreError::NotFound { entity: "template" })
}

/// Sets every active template's `effectiveness_score` to its technique's
/// success rate (successes / uses over all intents) in
/// `analytics.technique_effectiveness` over the last `days` days; templates
/// of techniques without data keep their score. Returns the rows changed.
pub async fn refresh_template_effectiveness(db: impl PgExecutor<'_>, days: u32) -> Result<u64, StoreError> {
    check_days(days, 3660)?;
    let done = sqlx::query(
        "UPDATE prompts.templates t SET effectiveness_score = s.rate
         FROM (SELECT technique, sum(success_count)::float8 / sum(total_count) AS rate
               FROM analytics.technique_effectiveness
               WHERE date > CURRENT_DATE - $1::int
               GROUP BY technique HAVING sum(total_count) > 0) s
         WHERE t.technique = s.technique AND t.is_active
           AND t.effectiveness_score IS DISTINCT FROM s.rate",
    )
    .bind(days as i32)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A value that changes whenever a template is added, changed or deleted
/// (row count and newest update): servers poll it to reload templates.
pub async fn templates_fingerprint(db: impl PgExecutor<'_>) -> Result<String, StoreError> {
    let (n, newest): (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT count(*), max(greatest(created_at, updated_at)) FROM prompts.templates")
            .fetch_one(db)
            .await?;
    Ok(format!("{n}:{}", newest.map_or(0, |t| t.timestamp_micros())))
}
