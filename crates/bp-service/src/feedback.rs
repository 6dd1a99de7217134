//! Learning from ratings. [`record`] changes the history row's feedback and
//! `analytics.technique_effectiveness` for each technique the enhancement
//! used in one transaction (a second rating of the same item replaces the
//! first, in both places), then forgets the technique caches so selection
//! and the catalogue see it at once.

use std::collections::BTreeMap;

use bp_cache::{Cache, Namespace};
use bp_engine::{InputError, Technique};
use bp_store::Db;
use bp_store::analytics::{self, TechniqueOutcome};
use bp_store::history::{self, PromptHistory};
use uuid::Uuid;

use crate::ServiceError;

/// A rating at or above this counts as a success.
pub const SUCCESS_RATING: i32 = 4;

/// Longest that selection may go on using effectiveness from before a
/// rating.
pub const EFFECTIVENESS_STALE: std::time::Duration = std::time::Duration::from_secs(1);

/// A rating of 1 to 5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rating(i32);

impl Rating {
    /// Checks `stars` for the request field `field`.
    pub fn new(field: &'static str, stars: i32) -> Result<Self, InputError> {
        if (1..=5).contains(&stars) {
            Ok(Self(stars))
        } else {
            Err(InputError {
                field,
                reason: "must be 1 to 5".into(),
            })
        }
    }

    /// The stars.
    pub fn get(self) -> i32 {
        self.0
    }
}

/// What kind of feedback was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeedbackKind {
    /// Stars.
    #[default]
    Rating,
    /// Up or down.
    Thumbs,
    /// Stars with per-technique ratings.
    Detailed,
    /// A comment.
    Comment,
}

impl FeedbackKind {
    /// Parses the `feedback_type` field.
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        Ok(match raw {
            "rating" => Self::Rating,
            "thumbs" => Self::Thumbs,
            "detailed" => Self::Detailed,
            "comment" => Self::Comment,
            _ => {
                return Err(InputError {
                    field: "feedback_type",
                    reason: "must be rating, thumbs, detailed or comment".into(),
                });
            }
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rating => "rating",
            Self::Thumbs => "thumbs",
            Self::Detailed => "detailed",
            Self::Comment => "comment",
        }
    }
}

/// A comment of at most [`FeedbackText::MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackText(String);

impl FeedbackText {
    /// The longest comment.
    pub const MAX_CHARS: usize = 1000;

    /// Checks the `feedback_text` field.
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(InputError {
                field: "feedback_text",
                reason: format!("at most {} characters", Self::MAX_CHARS),
            });
        }
        if raw.contains('\0') {
            return Err(InputError {
                field: "feedback_text",
                reason: "must not contain NUL characters".into(),
            });
        }
        Ok(Self(raw.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A rating of one enhancement, parsed at the edge.
#[derive(Debug, Clone)]
pub struct NewFeedback {
    /// The rated history item.
    pub history_id: Uuid,
    /// The overall rating.
    pub rating: Rating,
    /// What kind of feedback.
    pub kind: FeedbackKind,
    /// An optional comment.
    pub text: Option<FeedbackText>,
    /// Ratings of single techniques; the others get the overall rating.
    pub technique_ratings: BTreeMap<Technique, Rating>,
}

/// The item after the rating.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The history item with its new feedback.
    pub item: PromptHistory,
    /// Whether an earlier rating was replaced.
    pub replaced: bool,
}

/// Records `feedback` by `user` (see the module docs). 404 when the item is
/// not the user's.
pub async fn record(
    db: &Db,
    cache: &Cache,
    user: Uuid,
    feedback: &NewFeedback,
) -> Result<Recorded, ServiceError> {
    let mut tx = db.begin_for(user).await?;
    let before = history::get_history(&mut tx, feedback.history_id, user).await?;
    let after = history::update_feedback(
        &mut *tx,
        before.id,
        user,
        feedback.rating.get(),
        feedback.text.as_ref().map(FeedbackText::as_str),
    )
    .await?;
    let intent = before.intent.clone().unwrap_or_else(|| "unknown".into());
    let date = before.created_at.map(|t| t.date_naive());
    // In one order for every caller: two ratings recorded at once update
    // the same techniques' rows, and rows locked in different orders
    // deadlock (a 503 for one of them).
    let mut techniques = before.techniques_used.clone().unwrap_or_default();
    techniques.sort();
    techniques.dedup();
    for technique in techniques {
        let rating = technique
            .parse::<Technique>()
            .ok()
            .and_then(|t| feedback.technique_ratings.get(&t))
            .copied()
            .unwrap_or(feedback.rating)
            .get();
        match before.feedback_score {
            None => {
                analytics::record_technique_outcome(
                    &mut *tx,
                    &TechniqueOutcome {
                        technique,
                        intent: intent.clone(),
                        date,
                        success: rating >= SUCCESS_RATING,
                        feedback_score: Some(rating),
                        processing_time_ms: before.processing_time_ms,
                    },
                )
                .await?;
            }
            Some(old) => {
                analytics::replace_feedback(&mut *tx, &technique, &intent, date, old, rating, SUCCESS_RATING)
                    .await?;
            }
        }
    }
    tx.commit().await.map_err(bp_store::StoreError::from)?;
    // Selection reads effectiveness per intent on every enhancement: the
    // rating shows in it within a second. Forgetting it on every rating
    // made each enhancement after one re-read the table (about 4 ms of
    // PostgreSQL; in `bench api`'s mixed load, with 47 ratings a second,
    // most enhancements). The catalogue, read rarely, shows it at once.
    let _ = cache
        .expire_soon(
            Namespace::Techniques,
            &crate::keys::effectiveness(&intent),
            EFFECTIVENESS_STALE,
        )
        .await;
    let _ = cache.forget(Namespace::Techniques, crate::keys::CATALOGUE).await;
    Ok(Recorded {
        item: after,
        replaced: before.feedback_score.is_some(),
    })
}
