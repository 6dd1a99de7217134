//! `auth.user_preferences`: one row per user; reads return defaults when the
//! user has none, writes are an upsert.

use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreError, invalid};

/// A user's preferences (the defaults of the schema when never saved).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserPreferences {
    /// Techniques to favour.
    pub preferred_techniques: Vec<String>,
    /// Techniques never to apply.
    pub excluded_techniques: Vec<String>,
    /// `simple`, `moderate` or `complex`.
    pub complexity_preference: Option<String>,
    /// UI theme.
    pub ui_theme: String,
    /// UI language code.
    pub ui_language: String,
    /// Email notifications on.
    pub email_notifications: bool,
    /// Usage analytics allowed.
    pub analytics_opt_in: bool,
    /// Anything else (a JSON object).
    pub custom_settings: Value,
}

impl Default for UserPreferences {
    fn default() -> Self {
        Self {
            preferred_techniques: Vec::new(),
            excluded_techniques: Vec::new(),
            complexity_preference: None,
            ui_theme: "light".into(),
            ui_language: "en".into(),
            email_notifications: true,
            analytics_opt_in: true,
            custom_settings: Value::Object(Default::default()),
        }
    }
}

impl UserPreferences {
    /// Checks the values against the columns and allowed sets. Technique
    /// names are checked by the caller against the engine's catalogue.
    pub fn validate(&self) -> Result<(), StoreError> {
        for (field, list) in [
            ("preferred_techniques", &self.preferred_techniques),
            ("excluded_techniques", &self.excluded_techniques),
        ] {
            if list.len() > 12 || list.iter().any(|t| t.is_empty() || t.len() > 100) {
                return Err(invalid(field, "at most 12 technique ids of 1 to 100 characters"));
            }
        }
        if let Some(c) = &self.complexity_preference
            && !["simple", "moderate", "complex"].contains(&c.as_str())
        {
            return Err(invalid(
                "complexity_preference",
                "must be simple, moderate or complex",
            ));
        }
        if self.ui_theme.is_empty() || self.ui_theme.len() > 50 {
            return Err(invalid("ui_theme", "must be 1 to 50 characters"));
        }
        if self.ui_language.is_empty() || self.ui_language.len() > 10 {
            return Err(invalid("ui_language", "must be 1 to 10 characters"));
        }
        if !self.custom_settings.is_object() {
            return Err(invalid("custom_settings", "must be a JSON object"));
        }
        Ok(())
    }
}

const SELECT: &str = "SELECT coalesce(preferred_techniques, '{}') AS preferred_techniques,
        coalesce(excluded_techniques, '{}') AS excluded_techniques, complexity_preference,
        coalesce(ui_theme, 'light') AS ui_theme, coalesce(ui_language, 'en') AS ui_language,
        coalesce(email_notifications, true) AS email_notifications,
        coalesce(analytics_opt_in, true) AS analytics_opt_in,
        coalesce(custom_settings, '{}') AS custom_settings
     FROM auth.user_preferences WHERE user_id = $1";

/// The user's preferences, or the defaults when none were saved.
pub async fn get_preferences(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<UserPreferences, StoreError> {
    Ok(sqlx::query_as(SELECT)
        .bind(user_id)
        .fetch_optional(db)
        .await?
        .unwrap_or_default())
}

/// Saves the user's preferences (insert or replace).
pub async fn upsert_preferences(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    prefs: &UserPreferences,
) -> Result<(), StoreError> {
    prefs.validate()?;
    sqlx::query(
        "INSERT INTO auth.user_preferences (user_id, preferred_techniques, excluded_techniques, complexity_preference,
             ui_theme, ui_language, email_notifications, analytics_opt_in, custom_settings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (user_id) DO UPDATE SET
             preferred_techniques = EXCLUDED.preferred_techniques, excluded_techniques = EXCLUDED.excluded_techniques,
             complexity_preference = EXCLUDED.complexity_preference, ui_theme = EXCLUDED.ui_theme,
             ui_language = EXCLUDED.ui_language, email_notifications = EXCLUDED.email_notifications,
             analytics_opt_in = EXCLUDED.analytics_opt_in, custom_settings = EXCLUDED.custom_settings",
    )
    .bind(user_id)
    .bind(&prefs.preferred_techniques)
    .bind(&prefs.excluded_techniques)
    .bind(&prefs.complexity_preference)
    .bind(&prefs.ui_theme)
    .bind(&prefs.ui_language)
    .bind(prefs.email_notifications)
    .bind(prefs.analytics_opt_in)
    .bind(&prefs.custom_settings)
    .execute(db)
    .await?;
    Ok(())
}
