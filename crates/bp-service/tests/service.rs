//! The enhancement service over a real database and Redis.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap is a failed test, with its message"
)]

use std::sync::Arc;
use std::time::Duration;

use bp_engine::data::bundled_examples;
use bp_engine::embed::{DIMENSIONS, EmbedError, Embedder, LocalEmbedder};
use bp_engine::{EnhanceRequest, Intent, PromptText, Technique, TechniqueLimit, TechniqueList};
use bp_service::{EnhanceService, OpenAiEmbedder, PatternSource, Requester};
use bp_store::Db;
use bp_store::analytics::{TechniqueOutcome, record_technique_outcome};
use bp_store::embeddings::{SourceType, get_embedding};
use bp_store::history::get_history_any;
use bp_store::intent_patterns::{NewIntentPattern, save_intent_pattern, save_intent_patterns};
use bp_store::preferences::{UserPreferences, upsert_preferences};
use bp_store::users::{NewUser, create_user};
use bp_testkit::{TestDb, TestRedis};

async fn service(db: &TestDb, redis: &TestRedis) -> Arc<EnhanceService> {
    let embedder: Arc<dyn Embedder> = Arc::new(LocalEmbedder);
    EnhanceService::start(Db::new(db.pool().clone(), None), redis.cache().clone(), embedder)
        .await
        .unwrap()
}

fn request(text: &str) -> EnhanceRequest {
    EnhanceRequest::new(PromptText::parse(text).unwrap())
}

/// A user named `name` (email `name@example.com`).
async fn user(db: &TestDb, name: &str) -> bp_store::users::User {
    let new = NewUser {
        email: format!("{name}@example.com"),
        username: name.into(),
        password_hash: "x".into(),
        first_name: None,
        last_name: None,
        role: None,
        tier: None,
    };
    create_user(db.pool(), &new).await.unwrap()
}

#[tokio::test]
async fn an_enhancement_is_saved_and_a_signed_in_users_is_embedded_for_search() {
    let (db, redis) = (TestDb::new().await, TestRedis::new().await);
    let svc = service(&db, &redis).await;
    let text =
        "Write a Python function that merges two sorted lists.\n\n```python\ndef merge(a, b):\n    pass\n```";
    let out = svc.enhance(&request(text), &Requester::default()).await.unwrap();
    let e = &out.enhancement;
    assert_eq!(e.analysis.prediction.intent, Intent::CodeGeneration);
    assert!(
        e.generated.text.contains(text),
        "the user's text and code block are kept"
    );
    let row = get_history_any(db.pool(), out.id).await.unwrap();
    assert_eq!(row.user_id, None);
    assert_eq!(row.original_input, text);
    assert_eq!(row.enhanced_output, e.generated.text);
    assert_eq!(row.intent.as_deref(), Some("code_generation"));
    assert_eq!(row.model_used.as_deref(), Some(e.model_version.as_str()));
    let used: Vec<String> = e.picks.iter().map(|p| p.technique.as_str().to_string()).collect();
    assert_eq!(row.techniques_used.as_deref(), Some(used.as_slice()));
    svc.embeddings().flush().await;
    assert!(
        get_embedding(db.pool(), SourceType::PromptHistory, out.id)
            .await
            .is_err(),
        "an anonymous row, which no search can return, was embedded"
    );
    let user = user(&db, "embed").await;
    let who = Requester {
        user_id: Some(user.id),
        ..Requester::default()
    };
    let mine = svc.enhance(&request(text), &who).await.unwrap();
    svc.embeddings().flush().await;
    let v = get_embedding(db.pool(), SourceType::PromptHistory, mine.id)
        .await
        .unwrap();
    assert_eq!(v.as_slice().len(), DIMENSIONS);
}

#[tokio::test]
async fn the_model_trains_from_the_table_once_seeded_and_a_new_version_never_serves_old_predictions() {
    let (db, redis) = (TestDb::new().await, TestRedis::new().await);
    let svc = service(&db, &redis).await;
    assert_eq!(svc.pattern_source(), PatternSource::Bundled);
    let bundled_version = svc.engine().model().version().to_string();

    let seeded: Vec<NewIntentPattern> = bundled_examples()
        .into_iter()
        .map(|e| NewIntentPattern {
            pattern: e.text,
            intent: e.intent.as_str().into(),
            ..Default::default()
        })
        .collect();
    save_intent_patterns(db.pool(), &seeded).await.unwrap();
    assert!(svc.refresh_if_changed().await.unwrap());
    assert_eq!(svc.pattern_source(), PatternSource::Database);
    assert_eq!(
        svc.engine().model().version(),
        bundled_version,
        "the same patterns give the same version"
    );
    assert!(!svc.refresh_if_changed().await.unwrap(), "nothing changed since");

    let text = &PromptText::parse("hello there, how is your week going").unwrap();
    assert!(!svc.analyze(text).await.unwrap().1, "first call computes");
    // The prediction is written without holding up the answer: a later
    // call is served from the cache once the write has landed.
    bp_testkit::eventually(
        std::time::Duration::from_secs(10),
        "a later call is served from the prediction cache",
        || async { svc.analyze(text).await.unwrap().1 },
    )
    .await;

    let new = NewIntentPattern {
        pattern: "yo, how's life treating you".into(),
        intent: "conversation".into(),
        ..Default::default()
    };
    save_intent_pattern(db.pool(), &new).await.unwrap();
    assert!(svc.refresh_if_changed().await.unwrap());
    assert_ne!(svc.engine().model().version(), bundled_version);
    assert!(
        !svc.analyze(text).await.unwrap().1,
        "the new model version computes afresh"
    );
}

#[tokio::test]
async fn a_user_s_excluded_technique_is_never_applied_and_requested_ones_are() {
    let (db, redis) = (TestDb::new().await, TestRedis::new().await);
    let svc = service(&db, &redis).await;
    let user = user(&db, "prefs").await;
    let prefs = UserPreferences {
        excluded_techniques: vec!["step_by_step".into()],
        ..Default::default()
    };
    upsert_preferences(db.pool(), user.id, &prefs).await.unwrap();
    let who = Requester {
        user_id: Some(user.id),
        ..Default::default()
    };
    let req = EnhanceRequest {
        prefer: TechniqueList::of(&[Technique::Constraints]),
        ..request("Plan a 5 day trip to Rome with my kids")
    };
    let out = svc.enhance(&req, &who).await.unwrap();
    let used: Vec<Technique> = out.enhancement.picks.iter().map(|p| p.technique).collect();
    assert_eq!(used[0], Technique::Constraints);
    assert!(!used.contains(&Technique::StepByStep), "{used:?}");
    assert_eq!(
        get_history_any(db.pool(), out.id).await.unwrap().user_id,
        Some(user.id)
    );
}

#[tokio::test]
async fn ratings_move_what_gating_allows_and_never_what_it_forbids() {
    let (db, redis) = (TestDb::new().await, TestRedis::new().await);
    // Both rated perfect 150 times for planning; analogical reasoning is not
    // something a trip plan justifies, constraints are.
    for technique in ["analogical", "constraints"] {
        for _ in 0..150 {
            let outcome = TechniqueOutcome {
                technique: technique.into(),
                intent: "task_planning".into(),
                date: None,
                success: true,
                feedback_score: Some(5),
                processing_time_ms: Some(10),
            };
            record_technique_outcome(db.pool(), &outcome).await.unwrap();
        }
    }
    let svc = service(&db, &redis).await;
    let text = "Plan a 5 day trip to Rome with my kids";
    let out = svc.enhance(&request(text), &Requester::default()).await.unwrap();
    let e = &out.enhancement;
    assert_eq!(e.analysis.prediction.intent, Intent::TaskPlanning);
    assert!(
        e.picks.iter().all(|p| p.technique != Technique::Analogical),
        "a gated technique was picked: {:?}",
        e.picks
    );
    assert!(e.forbidden.iter().any(|f| f.technique == Technique::Analogical));
    let rated = e
        .picks
        .iter()
        .find(|p| p.technique == Technique::Constraints)
        .unwrap_or_else(|| panic!("the well-rated allowed technique was not picked: {:?}", e.picks));
    assert!(rated.reason.contains("150 of 150"), "{}", rated.reason);
}

#[tokio::test]
async fn an_edited_template_is_used_after_a_refresh() {
    let (db, redis) = (TestDb::new().await, TestRedis::new().await);
    let svc = service(&db, &redis).await;
    sqlx::query("UPDATE prompts.templates SET template_text = $1 WHERE technique = 'zero_shot'")
        .bind("{{prompt}}\n\nReply in one line, as {{role}} would.")
        .execute(db.pool())
        .await
        .unwrap();
    assert!(svc.refresh_if_changed().await.unwrap());
    let req = EnhanceRequest {
        prefer: TechniqueList::of(&[Technique::ZeroShot]),
        max_techniques: TechniqueLimit::new(1).unwrap(),
        ..request("hi there!")
    };
    let out = svc.enhance(&req, &Requester::default()).await.unwrap();
    assert!(
        out.enhancement.generated.text.ends_with("would."),
        "{}",
        out.enhancement.generated.text
    );
    assert!(
        out.enhancement
            .generated
            .text
            .contains("Reply in one line, as a warm, attentive conversation partner")
    );
}

#[tokio::test]
async fn the_shipped_templates_are_the_engine_s_builtin_ones() {
    let db = TestDb::new().await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT technique, template_text FROM prompts.templates")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), Technique::ALL.len());
    for (technique, text) in rows {
        let t: Technique = technique.parse().unwrap();
        assert_eq!(text, bp_engine::catalogue::info(t).template, "{technique}");
    }
}

/// A stand-in for an OpenAI-compatible provider: answers `dims`-long vectors.
async fn fake_provider(dims: usize) -> String {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/v1/embeddings",
        post(
            move |axum::Json(body): axum::Json<serde_json::Value>| async move {
                let n = body["input"].as_array().map_or(0, Vec::len);
                let data: Vec<_> = (0..n)
                    .rev()
                    .map(|i| serde_json::json!({"index": i, "embedding": vec![i as f32 + 1.0; dims]}))
                    .collect();
                axum::Json(serde_json::json!({"data": data, "model": body["model"]}))
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_http_embedder_orders_vectors_by_index_and_refuses_the_wrong_size() {
    let url = fake_provider(DIMENSIONS).await;
    let embedder = OpenAiEmbedder::new(&bp_config::Secret::new(url), "nomic-embed-text", None).unwrap();
    let texts = vec!["a".to_string(), "b".to_string()];
    let vectors = tokio::time::timeout(Duration::from_secs(10), embedder.embed(&texts))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((vectors[0][0], vectors[1][0]), (1.0, 2.0));
    assert_eq!(embedder.model(), "nomic-embed-text");

    let url = fake_provider(384).await;
    let small = OpenAiEmbedder::new(
        &bp_config::Secret::new(url),
        "m",
        Some(bp_config::Secret::new("sk-test")),
    )
    .unwrap();
    assert!(matches!(
        small.embed(&texts).await,
        Err(EmbedError::BadResponse(_))
    ));
    assert!(!format!("{small:?}").contains("sk-test"));
}

/// Rows of `ids` that have an embedding.
async fn embedded(db: &TestDb, ids: &[uuid::Uuid]) -> usize {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM prompts.embeddings WHERE source_type = 'prompt_history' AND source_id = ANY($1)",
    )
    .bind(ids)
    .fetch_one(db.pool())
    .await
    .unwrap();
    usize::try_from(n).unwrap()
}

/// Polls until every row of `ids` has an embedding, or fails after a deadline.
async fn until_all_embedded(db: &TestDb, ids: &[uuid::Uuid]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n = embedded(db, ids).await;
        if n == ids.len() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {n} of {} rows embedded after 60 s",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_burst_larger_than_the_embedding_queue_ends_up_searchable() {
    let (db, redis) = (TestDb::new().await, TestRedis::new().await);
    let embedder: Arc<dyn Embedder> = Arc::new(LocalEmbedder);
    // A queue of one job and no timed sweep within the test: whatever is
    // dropped is recovered by the sweep that follows a drop.
    let writer = bp_service::embedding::WriterOptions {
        capacity: 1,
        sweep_every: Duration::from_secs(3600),
    };
    let svc = EnhanceService::start_with(
        Db::new(db.pool().clone(), None),
        redis.cache().clone(),
        embedder,
        writer,
    )
    .await
    .unwrap();
    let owner = user(&db, "burst").await;
    let who = Requester {
        user_id: Some(owner.id),
        ..Requester::default()
    };
    let texts: Vec<String> = (0..80)
        .map(|i| format!("Explain how tide tables are read, case number {i}"))
        .collect();
    let requests: Vec<EnhanceRequest> = texts.iter().map(|t| request(t)).collect();
    let outcomes = futures_util::future::join_all(requests.iter().map(|r| svc.enhance(r, &who))).await;
    let ids: Vec<uuid::Uuid> = outcomes.into_iter().map(|o| o.unwrap().id).collect();
    until_all_embedded(&db, &ids).await;
    let stats = svc.embeddings().stats();
    let dropped = stats.dropped.load(std::sync::atomic::Ordering::Relaxed);
    let swept = stats.swept.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        dropped == 0 || swept > 0,
        "{dropped} jobs dropped yet nothing swept: the rows were embedded some other way"
    );
}

#[tokio::test]
async fn rows_saved_without_a_queued_embedding_are_found_by_the_sweep() {
    let (db, redis) = (TestDb::new().await, TestRedis::new().await);
    let owner = user(&db, "crashed").await;
    // History written as by a process that died before its embeddings were
    // stored: rows without any queued job.
    let mut ids = Vec::new();
    for i in 0..70 {
        let row = bp_store::history::NewPromptHistory {
            user_id: Some(owner.id),
            original_input: format!("Plan a three day walking trip, variant {i}"),
            enhanced_output: "Plan it.".into(),
            ..Default::default()
        };
        ids.push(bp_store::history::save_history(db.pool(), &row).await.unwrap().id);
    }
    assert_eq!(embedded(&db, &ids).await, 0);
    // The sweep at start covers the whole history (more than one page).
    let svc = service(&db, &redis).await;
    until_all_embedded(&db, &ids).await;
    let swept = svc
        .embeddings()
        .stats()
        .swept
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(swept >= 70, "swept {swept}");
}

/// The sentence model from `BP_MODEL_DIR` (installed by `make test`, which
/// sets `BP_REQUIRE_MODEL` so that this cannot skip there).
fn sentence_embedder() -> Option<Arc<dyn Embedder>> {
    let Ok(dir) = std::env::var("BP_MODEL_DIR") else {
        assert!(
            std::env::var("BP_REQUIRE_MODEL").is_err(),
            "BP_MODEL_DIR is unset"
        );
        eprintln!("BP_MODEL_DIR unset: skipped");
        return None;
    };
    let (embedder, state) = bp_service::model::local_embedder(std::path::Path::new(&dir));
    assert!(
        matches!(state, bp_service::model::ModelState::Loaded(_)),
        "{}",
        state.describe()
    );
    Some(embedder)
}

#[tokio::test]
async fn lexical_rows_are_reembedded_resumably_and_then_found_by_meaning() {
    let Some(sentence) = sentence_embedder() else {
        return;
    };
    let (db, redis) = (TestDb::new().await, TestRedis::new().await);
    let lexical = service(&db, &redis).await;
    let who = Requester {
        user_id: Some(user(&db, "meaning").await.id),
        ..Requester::default()
    };
    let texts = [
        "How do I bake bread at home without a machine?",
        "Summarise the quarterly sales report for the board",
        "Translate this sentence into German: the meeting moved to Friday",
    ];
    let mut ids = Vec::new();
    for t in texts {
        ids.push(lexical.enhance(&request(t), &who).await.unwrap().id);
    }
    lexical.embeddings().flush().await;
    until_all_embedded(&db, &ids).await;

    let store = Db::new(db.pool().clone(), None);
    let svc = EnhanceService::start(store.clone(), redis.cache().clone(), sentence.clone())
        .await
        .unwrap();
    assert_eq!(svc.embedder_model(), bp_engine::minilm::STATIC_MODEL);
    assert_ne!(
        svc.engine().model().version(),
        lexical.engine().model().version(),
        "the intent model with sentence features is a different model"
    );
    svc.embeddings().flush().await;
    let stale = bp_store::embeddings::count_stale_embeddings(db.pool(), sentence.model())
        .await
        .unwrap();
    assert!(stale >= 3, "the three lexical history rows are stale ({stale})");
    let seen = std::sync::atomic::AtomicU64::new(0);
    let done = bp_service::embedding::reembed(&store, sentence.as_ref(), 2, &|n| {
        seen.store(n, std::sync::atomic::Ordering::Relaxed)
    })
    .await
    .unwrap();
    assert_eq!(done.updated + done.removed, stale as u64);
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), stale as u64);
    assert_eq!(
        bp_store::embeddings::count_stale_embeddings(db.pool(), sentence.model())
            .await
            .unwrap(),
        0
    );
    let again = bp_service::embedding::reembed(&store, sentence.as_ref(), 2, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        (again.updated, again.removed),
        (0, 0),
        "a second run has nothing left to do"
    );

    // No word in common with the stored prompt: only meaning connects them.
    let query = svc
        .embed_query("recipe for a homemade sourdough loaf")
        .await
        .unwrap();
    let hits = bp_store::embeddings::search_similar(
        db.pool(),
        &bp_store::embeddings::SearchRequest {
            query: &query,
            source_type: Some(SourceType::PromptHistory),
            min_similarity: None,
            limit: 3,
            ef_search: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(hits.first().map(|h| h.source_id), Some(ids[0]), "{hits:?}");
    assert_eq!(
        hits[0].model_version.as_deref(),
        Some(bp_engine::minilm::STATIC_MODEL)
    );
}

fn anonymous_row(i: usize, request_id: Option<&str>) -> bp_store::history::NewPromptHistory {
    bp_store::history::NewPromptHistory {
        original_input: format!("prompt {i}"),
        enhanced_output: format!("enhanced prompt {i}"),
        request_id: request_id.map(str::to_string),
        ..Default::default()
    }
}

/// The test runtime has one thread: every `save` below queues its row
/// before the writer task runs, so the first batch holds all of them.
#[tokio::test]
async fn concurrent_rows_share_one_insert_and_each_caller_gets_its_own_row() {
    use bp_service::group::GroupCommit;
    let db = TestDb::new().await;
    let writer = GroupCommit::spawn(Db::new(db.pool().clone(), None));
    let rows: Vec<_> = (0..10).map(|i| anonymous_row(i, None)).collect();
    let saved = futures_util::future::join_all(rows.iter().cloned().map(|r| writer.save(r))).await;
    assert_eq!(writer.stats(), (10, 1), "ten rows, one statement");
    for (i, s) in saved.into_iter().enumerate() {
        let s = s.unwrap();
        assert_eq!(
            s.original_input,
            format!("prompt {i}"),
            "each caller gets its own row back"
        );
        assert!(s.created_at.is_some());
        let stored = get_history_any(db.pool(), s.id).await.unwrap();
        assert_eq!(
            stored.original_input, s.original_input,
            "acknowledged only once stored"
        );
    }
    // A reused request id fails its own row only: the batch is retried
    // row by row.
    let batch = [
        anonymous_row(20, Some("same-id")),
        anonymous_row(21, Some("same-id")),
        anonymous_row(22, None),
    ];
    let results = futures_util::future::join_all(batch.iter().cloned().map(|r| writer.save(r))).await;
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(bp_store::StoreError::Conflict { .. })))
        .count();
    assert_eq!(conflicts, 1, "{results:?}");
    assert!(
        results[2].is_ok(),
        "the row with no clash is saved: {:?}",
        results[2]
    );
    // Rows saved one by one are counted too: 10 + 2 so far.
    assert_eq!(writer.stats().0, 12);
    // An invalid row is refused before it reaches a batch.
    let empty = bp_store::history::NewPromptHistory::default();
    assert!(matches!(
        writer.save(empty).await,
        Err(bp_store::StoreError::Invalid { .. })
    ));
}
