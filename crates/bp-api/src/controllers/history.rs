//! `/history` (and the `/prompts/history`, `/prompts/{id}` aliases): a
//! user's enhancements, paged by offset or cursor, filtered, sorted by an
//! allow-listed column; favourites, deletion, stats, streamed export.

use axum::Json as JsonOut;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bp_store::PageRequest;
use bp_store::history::{self, HistoryCursor, HistoryFilter, HistorySort, PromptHistory};
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, OptionalJson, Query};
use crate::routes::{Access, Endpoint, Table, Verb};
use crate::state::AppState;

/// The public view of a history item.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HistoryItem {
    /// Id.
    pub id: Uuid,
    /// Owner; null for anonymous enhancements.
    pub user_id: Option<Uuid>,
    /// The client's session.
    pub session_id: Option<String>,
    /// The request that made it.
    pub request_id: Option<String>,
    /// What the user typed.
    pub original_input: String,
    /// The enhanced prompt.
    pub enhanced_output: String,
    /// Detected intent.
    pub intent: Option<String>,
    /// Its probability.
    pub intent_confidence: Option<f64>,
    /// `simple`, `moderate` or `complex`.
    pub complexity: Option<String>,
    /// Technique ids applied, in order.
    pub techniques_used: Vec<String>,
    /// Technique id to selection score.
    pub technique_scores: Option<Value>,
    /// Time spent enhancing.
    pub processing_time_ms: Option<i32>,
    /// Estimated tokens of the enhanced prompt.
    pub token_count: Option<i32>,
    /// The intent model's version.
    pub model_used: Option<String>,
    /// The user's rating, 1 to 5.
    pub feedback_score: Option<i32>,
    /// The user's comment.
    pub feedback_text: Option<String>,
    /// Starred.
    pub is_favorite: bool,
    /// Complexity score, reasons per technique.
    pub metadata: Option<Value>,
    /// When it was made.
    pub created_at: Option<DateTime<Utc>>,
}

impl From<&PromptHistory> for HistoryItem {
    fn from(h: &PromptHistory) -> Self {
        Self {
            id: h.id,
            user_id: h.user_id,
            session_id: h.session_id.clone(),
            request_id: h.request_id.clone(),
            original_input: h.original_input.clone(),
            enhanced_output: h.enhanced_output.clone(),
            intent: h.intent.clone(),
            intent_confidence: h.intent_confidence,
            complexity: h.complexity.clone(),
            techniques_used: h.techniques_used.clone().unwrap_or_default(),
            technique_scores: h.technique_scores.clone(),
            processing_time_ms: h.processing_time_ms,
            token_count: h.token_count,
            model_used: h.model_used.clone(),
            feedback_score: h.feedback_score,
            feedback_text: h.feedback_text.clone(),
            is_favorite: h.is_favorite.unwrap_or(false),
            metadata: h.metadata.clone(),
            created_at: h.created_at,
        }
    }
}

/// A page of history.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HistoryPage {
    /// The items (never null).
    pub data: Vec<HistoryItem>,
    /// Where the page stands.
    pub pagination: super::Pagination,
}

/// `PUT /history/{id}/favorite` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Favorite {
    /// The item.
    pub id: Uuid,
    /// Whether it is starred now.
    pub is_favorite: bool,
}

/// `GET /history/stats` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HistoryStatsAnswer {
    /// All items.
    pub total: i64,
    /// Starred items.
    pub favorites: i64,
    /// Mean rating of rated items.
    pub average_feedback: Option<f64>,
    /// Items per intent (`unknown` for none).
    pub by_intent: std::collections::BTreeMap<String, i64>,
    /// Items using each technique.
    pub by_technique: std::collections::BTreeMap<String, i64>,
    /// Items per UTC day (`YYYY-MM-DD`) over the period.
    pub by_day: std::collections::BTreeMap<NaiveDate, i64>,
    /// The caller's mean rating (1 to 5) of the rated items that used each
    /// technique; techniques never rated are absent.
    pub rating_by_technique: std::collections::BTreeMap<String, f64>,
}

/// `GET /history` query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ListQuery {
    page: Option<u32>,
    limit: Option<u32>,
    search: Option<String>,
    technique: Option<String>,
    intent: Option<String>,
    date_from: Option<String>,
    date_to: Option<String>,
    sort_by: Option<String>,
    sort_direction: Option<String>,
    cursor: Option<String>,
    favorites: Option<bool>,
    /// Only items rated at least this, 1 to 5.
    min_rating: Option<i32>,
}

/// A `YYYY-MM-DD` or RFC 3339 query value; a date means its start, or the
/// start of the next day with `end_of_day`.
pub(crate) fn date(
    field: &str,
    value: Option<&str>,
    end_of_day: bool,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| ApiError::BadRequest(format!("invalid {field}: use YYYY-MM-DD or RFC 3339")))?;
    let d = if end_of_day { d.succ_opt().unwrap_or(d) } else { d };
    Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
}

/// `GET /history`.
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<ListQuery>,
) -> Result<JsonOut<HistoryPage>, ApiError> {
    p.require_scope("history:read")?;
    let filter = HistoryFilter {
        intent: q.intent.filter(|s| !s.is_empty()),
        technique: q.technique.filter(|s| !s.is_empty()),
        search: q.search.filter(|s| !s.is_empty()),
        from: date("date_from", q.date_from.as_deref(), false)?,
        to: date("date_to", q.date_to.as_deref(), true)?,
        favorites_only: q.favorites.unwrap_or(false),
        min_rating: q.min_rating,
    };
    let sort = HistorySort {
        column: q.sort_by.as_deref().unwrap_or("created_at").parse()?,
        direction: q.sort_direction.as_deref().unwrap_or("desc").parse()?,
    };
    let limit = q.limit.unwrap_or(20);
    if let Some(cursor) = q.cursor.as_deref().filter(|c| !c.is_empty()) {
        if sort.column != history::SortColumn::CreatedAt {
            return Err(ApiError::BadRequest(
                "cursor paging sorts by created_at only".into(),
            ));
        }
        let cursor = HistoryCursor::decode(cursor)?;
        let mut conn = state.db.read_for(p.user_id).await?;
        let page = history::page_history_after(
            &mut *conn,
            p.user_id,
            &filter,
            sort.direction,
            Some(&cursor),
            limit,
        )
        .await?;
        conn.finish().await?;
        return Ok(JsonOut(HistoryPage {
            data: page.items.iter().map(HistoryItem::from).collect(),
            pagination: super::Pagination {
                limit,
                has_next: page.next_cursor.is_some(),
                next_cursor: Some(page.next_cursor),
                ..super::Pagination::default()
            },
        }));
    }
    let request = PageRequest::new(q.page.unwrap_or(1), limit)?;
    let mut conn = state.db.read_for(p.user_id).await?;
    let page = history::page_history(&mut conn, p.user_id, &filter, sort, request).await?;
    conn.finish().await?;
    let total_pages = page.total_pages();
    let current = i64::from(request.page);
    let next_cursor = (sort.column == history::SortColumn::CreatedAt && current < total_pages)
        .then(|| {
            page.items
                .last()
                .and_then(HistoryCursor::after)
                .map(|c| c.encode())
        })
        .flatten();
    let mut pagination = super::pagination(&page);
    pagination.next_cursor = Some(next_cursor);
    Ok(JsonOut(HistoryPage {
        data: page.items.iter().map(HistoryItem::from).collect(),
        pagination,
    }))
}

/// `GET /history/{id}`: 404 when missing, 403 when another user's.
pub async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    Id(id): Id,
) -> Result<JsonOut<HistoryItem>, ApiError> {
    p.require_scope("history:read")?;
    let mut conn = state.db.for_user(p.user_id).await?;
    let item = history::get_history(&mut conn, id, p.user_id).await?;
    conn.finish().await?;
    Ok(JsonOut(HistoryItem::from(&item)))
}

/// `DELETE /history/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Caller(p): Caller,
    Id(id): Id,
) -> Result<JsonOut<super::Message>, ApiError> {
    p.require_scope("history:write")?;
    let mut conn = state.db.for_user(p.user_id).await?;
    history::get_history(&mut conn, id, p.user_id).await?;
    history::delete_history(&mut *conn, id, p.user_id).await?;
    conn.finish().await?;
    Ok(JsonOut(super::Message::new("history item deleted successfully")))
}

/// `PUT /history/{id}/favorite` body: `{"is_favorite": bool}` sets, no body toggles.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct FavoriteBody {
    #[serde(default)]
    is_favorite: Option<bool>,
}

/// `PUT /history/{id}/favorite`.
pub async fn favorite(
    State(state): State<AppState>,
    Caller(p): Caller,
    Id(id): Id,
    OptionalJson(body): OptionalJson<FavoriteBody>,
) -> Result<JsonOut<Favorite>, ApiError> {
    p.require_scope("history:write")?;
    let mut conn = state.db.for_user(p.user_id).await?;
    history::get_history(&mut conn, id, p.user_id).await?;
    let value = history::set_favorite(&mut *conn, id, p.user_id, body.is_favorite).await?;
    conn.finish().await?;
    Ok(JsonOut(Favorite {
        id,
        is_favorite: value,
    }))
}

/// `GET /history/stats` query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct StatsQuery {
    days: Option<u32>,
}

/// `GET /history/stats`.
pub async fn stats(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<StatsQuery>,
) -> Result<JsonOut<HistoryStatsAnswer>, ApiError> {
    p.require_scope("history:read")?;
    let mut conn = state.db.read_for(p.user_id).await?;
    let s = history::history_stats(&mut *conn, p.user_id, q.days.unwrap_or(30)).await?;
    conn.finish().await?;
    Ok(JsonOut(HistoryStatsAnswer {
        total: s.total,
        favorites: s.favorites,
        average_feedback: s.average_feedback,
        by_intent: s.by_intent,
        by_technique: s.by_technique,
        by_day: s.by_day,
        rating_by_technique: s.rating_by_technique,
    }))
}

/// `GET /history/export` query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ExportQuery {
    format: Option<String>,
}

fn csv_field(value: &str) -> String {
    // Quote always; double inner quotes; neutralise spreadsheet formulas.
    let guarded = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

fn csv_line(h: &PromptHistory) -> String {
    let fields = [
        h.id.to_string(),
        h.created_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        h.intent.clone().unwrap_or_default(),
        h.complexity.clone().unwrap_or_default(),
        h.techniques_used.clone().unwrap_or_default().join(" "),
        h.feedback_score.map(|s| s.to_string()).unwrap_or_default(),
        h.original_input.clone(),
        h.enhanced_output.clone(),
    ];
    let mut line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

/// `GET /history/export?format=json|csv`: streamed, one row at a time.
pub async fn export(
    State(state): State<AppState>,
    Caller(p): Caller,
    client: crate::extract::Client,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    p.require_scope("history:read")?;
    let csv = match q.format.as_deref().unwrap_or("json") {
        "json" => false,
        "csv" => true,
        _ => return Err(ApiError::BadRequest("format must be json or csv".into())),
    };
    // A bulk read of the caller's data: audited before the first byte goes out.
    crate::audit::record(
        &state,
        &client,
        crate::audit::Actor::from(&*p),
        crate::audit::Event {
            action: "history.export",
            target: Some(("prompts.history", p.user_id.to_string())),
            outcome: "success",
            details: json!({ "format": if csv { "csv" } else { "json" } }),
        },
    )
    .await?;
    let user = p.user_id;
    // The first page is read here, so that a database fault is a 503
    // before the headers go out; the rest follow as the client reads.
    let first = export_page(&state.db, user, None).await?;
    let stream = async_stream(state.db.clone(), user, csv, first);
    let (content_type, name) = if csv {
        ("text/csv; charset=utf-8", "history.csv")
    } else {
        ("application/x-ndjson", "history.ndjson")
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Rows per page of an export.
const EXPORT_PAGE: u32 = bp_store::page::MAX_LIMIT;

/// One page of the caller's history, oldest first, after `cursor`, on a
/// connection taken for that page alone and released before the rows are
/// sent: a slow download never holds a database (or, behind a transaction
/// pooler, a server) connection. The pages are each as current as their
/// own read, not one snapshot: an item added or deleted during a download
/// may or may not be in it, and every item there throughout is, once.
async fn export_page(
    db: &bp_store::Db,
    user: Uuid,
    cursor: Option<&history::ExportCursor>,
) -> Result<(Vec<PromptHistory>, Option<history::ExportCursor>), bp_store::StoreError> {
    let mut conn = db.read_for(user).await?;
    let page = history::export_history_page(&mut conn, user, cursor, EXPORT_PAGE).await?;
    conn.finish().await?;
    Ok(page)
}

/// The rows as lines: a task reads page after page and feeds a bounded
/// channel (backpressure from the client's reading), the body reads the
/// channel. The task keeps the request's read-your-writes position.
fn async_stream(
    db: bp_store::Db,
    user: uuid::Uuid,
    csv: bool,
    first: (Vec<PromptHistory>, Option<history::ExportCursor>),
) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> + Send {
    use tracing::Instrument as _;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(64);
    let position = bp_store::replicas::consistency::required();
    let task = async move {
        if csv {
            let header = "\"id\",\"created_at\",\"intent\",\"complexity\",\"techniques\",\"rating\",\"original_input\",\"enhanced_output\"\n";
            if tx.send(Ok(header.to_owned())).await.is_err() {
                return;
            }
        }
        let (mut rows, mut next) = first;
        loop {
            for h in &rows {
                let line = if csv {
                    Ok(csv_line(h))
                } else {
                    serde_json::to_string(&HistoryItem::from(h))
                        .map(|line| line + "\n")
                        .map_err(std::io::Error::other)
                };
                let failed = line.is_err();
                // The client went away: stop reading rows.
                if tx.send(line).await.is_err() || failed {
                    return;
                }
            }
            let Some(cursor) = next else { return };
            (rows, next) = match export_page(&db, user, Some(&cursor)).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "history export failed");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    return;
                }
            };
        }
    };
    // The request's read-your-writes position and its span (request id)
    // go with the task.
    tokio::spawn(bp_store::replicas::consistency::scope(position, task).instrument(tracing::Span::current()));
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|line| (line, rx)) })
}

/// This module's endpoints.
pub(crate) fn routes(t: &mut Table) {
    t.add(
        Endpoint::new(
            Verb::Get,
            "/history",
            "history",
            Access::SessionOrKey,
            "The caller's enhancements",
        )
        .query::<ListQuery>()
        .returns::<HistoryPage>(),
        list,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/prompts/history",
            "history",
            Access::SessionOrKey,
            "Alias of /history",
        )
        .query::<ListQuery>()
        .returns::<HistoryPage>(),
        list,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/history/stats",
            "history",
            Access::SessionOrKey,
            "Totals by intent and technique",
        )
        .query::<StatsQuery>()
        .returns::<HistoryStatsAnswer>(),
        stats,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/history/export",
            "history",
            Access::SessionOrKey,
            "Stream the history as CSV or NDJSON",
        )
        .query::<ExportQuery>()
        .downloads(&["application/x-ndjson", "text/csv"]),
        export,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/history/{id}",
            "history",
            Access::SessionOrKey,
            "One enhancement",
        )
        .returns::<HistoryItem>(),
        get,
    );
    t.add(
        Endpoint::new(
            Verb::Delete,
            "/history/{id}",
            "history",
            Access::SessionOrKey,
            "Delete an enhancement",
        )
        .returns::<super::Message>(),
        delete,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/prompts/{id}",
            "history",
            Access::SessionOrKey,
            "Alias of /history/{id}",
        )
        .returns::<HistoryItem>(),
        get,
    );
    t.add(
        Endpoint::new(
            Verb::Put,
            "/history/{id}/favorite",
            "history",
            Access::SessionOrKey,
            "Mark or unmark a favourite",
        )
        .optional_body::<FavoriteBody>()
        .returns::<Favorite>(),
        favorite,
    );
}
