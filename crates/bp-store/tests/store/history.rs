//! Prompt history: save one and many, owner checks, pages, keyset, feedback,
//! favourites, stats and export.

use bp_store::history::{
    self, HistoryCursor, HistoryFilter, HistorySort, NewPromptHistory, SortColumn, SortDirection,
};
use bp_store::{PageRequest, StoreError};
use bp_testkit::TestDb;
use chrono::{Duration, Utc};
use futures_util::TryStreamExt;
use serde_json::json;
use uuid::Uuid;

pub(crate) fn item(
    user_id: Option<Uuid>,
    input: &str,
    intent: &str,
    techniques: &[&str],
) -> NewPromptHistory {
    NewPromptHistory {
        user_id,
        original_input: input.into(),
        enhanced_output: format!("Enhanced: {input}"),
        intent: Some(intent.into()),
        intent_confidence: Some(0.9),
        complexity: Some("simple".into()),
        techniques_used: techniques.iter().map(|t| (*t).into()).collect(),
        technique_scores: Some(json!({"chain_of_thought": 0.8})),
        processing_time_ms: Some(12),
        token_count: Some(40),
        model_used: Some("tfidf-v1".into()),
        ..Default::default()
    }
}

/// Sets created_at of every row of `user` to `now - i minutes` in id order, so
/// order-dependent assertions do not hinge on insertion timing.
async fn spread_times(db: &TestDb, user: Uuid) {
    sqlx::query(
        "UPDATE prompts.history h SET created_at = now() - make_interval(mins => s.n)
         FROM (SELECT id, (row_number() OVER (ORDER BY original_input))::int AS n FROM prompts.history
               WHERE user_id = $1) s WHERE h.id = s.id",
    )
    .bind(user)
    .execute(db.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn save_one_returns_the_row_and_a_repeated_request_id_is_a_conflict() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let new = NewPromptHistory {
        request_id: Some("req-1".into()),
        session_id: Some("s-1".into()),
        ..item(
            Some(alice),
            "write a poem",
            "creative_writing",
            &["role_play", "constraints"],
        )
    };
    let saved = history::save_history(db.pool(), &new).await.unwrap();
    assert_eq!(saved.user_id, Some(alice));
    assert_eq!(
        saved.techniques_used.as_deref(),
        Some(&["role_play".to_string(), "constraints".into()][..])
    );
    assert_eq!(saved.technique_scores, Some(json!({"chain_of_thought": 0.8})));
    assert_eq!(saved.is_favorite, Some(false));
    assert!(saved.created_at.is_some());
    let anon = history::save_history(db.pool(), &item(None, "anon", "conversation", &[]))
        .await
        .unwrap();
    assert_eq!(anon.user_id, None);
    let err = history::save_history(db.pool(), &new).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { constraint } if constraint == "history_request_id_key"));
}

#[tokio::test]
async fn invalid_rows_are_rejected_before_any_write_and_a_bad_batch_writes_nothing() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let good = item(Some(alice), "ok", "reasoning", &["step_by_step"]);
    let cases: Vec<(&str, NewPromptHistory)> = vec![
        (
            "original_input",
            NewPromptHistory {
                original_input: String::new(),
                ..good.clone()
            },
        ),
        (
            "original_input",
            NewPromptHistory {
                original_input: "x".repeat(history::MAX_INPUT_CHARS + 1),
                ..good.clone()
            },
        ),
        (
            "original_input",
            NewPromptHistory {
                original_input: "a\0b".into(),
                ..good.clone()
            },
        ),
        (
            "complexity",
            NewPromptHistory {
                complexity: Some("huge".into()),
                ..good.clone()
            },
        ),
        (
            "intent",
            NewPromptHistory {
                intent: Some("Code Generation".into()),
                ..good.clone()
            },
        ),
        (
            "intent_confidence",
            NewPromptHistory {
                intent_confidence: Some(1.5),
                ..good.clone()
            },
        ),
        (
            "intent_confidence",
            NewPromptHistory {
                intent_confidence: Some(f64::NAN),
                ..good.clone()
            },
        ),
        (
            "techniques_used",
            NewPromptHistory {
                techniques_used: vec!["a,b".into()],
                ..good.clone()
            },
        ),
        (
            "technique_scores",
            NewPromptHistory {
                technique_scores: Some(json!([1, 2])),
                ..good.clone()
            },
        ),
        (
            "processing_time_ms",
            NewPromptHistory {
                processing_time_ms: Some(-1),
                ..good.clone()
            },
        ),
        (
            "session_id",
            NewPromptHistory {
                session_id: Some("s".repeat(256)),
                ..good.clone()
            },
        ),
    ];
    for (field, bad) in &cases {
        let err = history::save_history(db.pool(), bad).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid { field: f, .. } if f == field),
            "{field}: {err}"
        );
    }
    let batch = vec![good.clone(), cases[3].1.clone()];
    let err = history::save_history_batch(db.pool(), &batch).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid { field, .. } if field == "rows[1].complexity"),
        "{err}"
    );
    let dup = vec![
        NewPromptHistory {
            request_id: Some("same".into()),
            ..good.clone()
        },
        NewPromptHistory {
            request_id: Some("same".into()),
            ..good.clone()
        },
    ];
    assert!(matches!(
        history::save_history_batch(db.pool(), &dup).await,
        Err(StoreError::Conflict { .. })
    ));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM prompts.history")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing was written");
}

#[tokio::test]
async fn a_batch_is_saved_in_one_statement_with_ids_in_input_order() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let rows: Vec<NewPromptHistory> = (0..250)
        .map(|i| NewPromptHistory {
            request_id: Some(format!("batch-{i}")),
            ..item(
                if i % 5 == 0 { None } else { Some(alice) },
                &format!("prompt {i}"),
                "summarization",
                if i % 2 == 0 {
                    &["few_shot", "structured_output"]
                } else {
                    &[]
                },
            )
        })
        .collect();
    let ids = history::save_history_batch(db.pool(), &rows).await.unwrap();
    assert_eq!(ids.len(), 250);
    for (i, id) in ids.iter().enumerate().step_by(49) {
        let got = history::get_history_any(db.pool(), *id).await.unwrap();
        assert_eq!(got.original_input, format!("prompt {i}"));
        assert_eq!(got.request_id, Some(format!("batch-{i}")));
        let expected: Vec<String> = rows[i].techniques_used.clone();
        assert_eq!(
            got.techniques_used,
            Some(expected),
            "row {i}: empty lists stay empty, not NULL"
        );
        assert_eq!(got.user_id, rows[i].user_id);
    }
    assert!(
        history::save_history_batch(db.pool(), &[])
            .await
            .unwrap()
            .is_empty()
    );
    let too_many = vec![item(None, "x", "conversation", &[]); history::MAX_BATCH + 1];
    assert!(matches!(
        history::save_history_batch(db.pool(), &too_many).await,
        Err(StoreError::Invalid { .. })
    ));
}

#[tokio::test]
async fn get_checks_the_owner_missing_is_404_and_another_users_is_403() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let bob = super::user_id(&db, "bob").await;
    let mine = history::save_history(db.pool(), &item(Some(alice), "mine", "translation", &[]))
        .await
        .unwrap();
    let anon = history::save_history(db.pool(), &item(None, "anon", "translation", &[]))
        .await
        .unwrap();
    assert_eq!(
        history::get_history(&mut db.pool().acquire().await.unwrap(), mine.id, alice)
            .await
            .unwrap(),
        mine
    );
    assert!(matches!(
        history::get_history(&mut db.pool().acquire().await.unwrap(), mine.id, bob).await,
        Err(StoreError::Forbidden { .. })
    ));
    assert!(matches!(
        history::get_history(&mut db.pool().acquire().await.unwrap(), anon.id, bob).await,
        Err(StoreError::Forbidden { .. })
    ));
    assert!(matches!(
        history::get_history(&mut db.pool().acquire().await.unwrap(), Uuid::new_v4(), alice).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn pages_filter_sort_from_the_allow_list_and_count_the_total() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let bob = super::user_id(&db, "bob").await;
    let mut rows = Vec::new();
    for i in 0..30 {
        let (intent, tech): (&str, &[&str]) = match i % 3 {
            0 => ("code_generation", &["few_shot"]),
            1 => ("reasoning", &["chain_of_thought", "step_by_step"]),
            _ => ("summarization", &[]),
        };
        rows.push(item(
            Some(alice),
            &format!("alice prompt {i:02} about 100%_rust"),
            intent,
            tech,
        ));
    }
    rows.push(item(Some(bob), "bob prompt", "reasoning", &["chain_of_thought"]));
    history::save_history_batch(db.pool(), &rows).await.unwrap();
    spread_times(&db, alice).await;

    let all = HistoryFilter::default();
    let page = history::page_history(
        &mut db.pool().acquire().await.unwrap(),
        alice,
        &all,
        HistorySort::default(),
        PageRequest::new(2, 7).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!((page.total, page.items.len(), page.total_pages()), (30, 7, 5));
    // Newest first: row n is n minutes old, so page 2 holds 08..=14.
    assert_eq!(page.items[0].original_input, "alice prompt 07 about 100%_rust");
    let beyond = history::page_history(
        &mut db.pool().acquire().await.unwrap(),
        alice,
        &all,
        HistorySort::default(),
        PageRequest::new(9, 7).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        (beyond.total, beyond.items.len()),
        (30, 0),
        "a page past the end still knows the total"
    );

    let reasoning = HistoryFilter {
        intent: Some("reasoning".into()),
        ..Default::default()
    };
    let page = history::page_history(
        &mut db.pool().acquire().await.unwrap(),
        alice,
        &reasoning,
        HistorySort::default(),
        PageRequest::new(1, 100).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(page.total, 10);
    assert!(
        page.items
            .iter()
            .all(|h| h.intent.as_deref() == Some("reasoning") && h.user_id == Some(alice))
    );

    // A rating filter: nothing is rated yet, and out-of-range is refused.
    let rated = HistoryFilter {
        min_rating: Some(4),
        ..Default::default()
    };
    let none = history::page_history(
        &mut db.pool().acquire().await.unwrap(),
        alice,
        &rated,
        HistorySort::default(),
        PageRequest::new(1, 100).unwrap(),
    )
    .await
    .unwrap();
    let already: i64 =
        sqlx::query_scalar("SELECT count(*) FROM prompts.history WHERE user_id = $1 AND feedback_score >= 4")
            .bind(alice)
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(none.total, already);
    assert!(
        none.items
            .iter()
            .all(|h| h.feedback_score.is_some_and(|s| s >= 4))
    );
    assert!(matches!(
        history::page_history(
            &mut db.pool().acquire().await.unwrap(),
            alice,
            &HistoryFilter {
                min_rating: Some(6),
                ..Default::default()
            },
            HistorySort::default(),
            PageRequest::new(1, 100).unwrap(),
        )
        .await,
        Err(StoreError::Invalid { .. })
    ));

    let technique = HistoryFilter {
        technique: Some("few_shot".into()),
        ..Default::default()
    };
    let page = history::page_history(
        &mut db.pool().acquire().await.unwrap(),
        alice,
        &technique,
        HistorySort::default(),
        PageRequest::new(1, 100).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(page.total, 10);

    // Search text is literal: % and _ match only themselves.
    for (search, expected) in [
        ("PROMPT 1", 10),
        ("100%_rust", 30),
        ("100%x", 0),
        ("_", 30),
        ("' OR 1=1 --", 0),
    ] {
        let f = HistoryFilter {
            search: Some(search.into()),
            ..Default::default()
        };
        let page = history::page_history(
            &mut db.pool().acquire().await.unwrap(),
            alice,
            &f,
            HistorySort::default(),
            PageRequest::new(1, 100).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(page.total, expected, "search {search:?}");
    }

    let now = Utc::now();
    let window = HistoryFilter {
        from: Some(now - Duration::seconds(5 * 60 + 30)),
        to: Some(now),
        ..Default::default()
    };
    let page = history::page_history(
        &mut db.pool().acquire().await.unwrap(),
        alice,
        &window,
        HistorySort::default(),
        PageRequest::new(1, 100).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(page.total, 5, "rows 1..=5 minutes old");
    let backwards = HistoryFilter {
        from: Some(now),
        to: Some(now - Duration::hours(1)),
        ..Default::default()
    };
    assert!(matches!(
        history::page_history(
            &mut db.pool().acquire().await.unwrap(),
            alice,
            &backwards,
            HistorySort::default(),
            PageRequest::new(1, 10).unwrap()
        )
        .await,
        Err(StoreError::Invalid { .. })
    ));

    let by_intent = HistorySort {
        column: "intent".parse().unwrap(),
        direction: "asc".parse().unwrap(),
    };
    let page = history::page_history(
        &mut db.pool().acquire().await.unwrap(),
        alice,
        &all,
        by_intent,
        PageRequest::new(1, 100).unwrap(),
    )
    .await
    .unwrap();
    let intents: Vec<_> = page.items.iter().map(|h| h.intent.clone().unwrap()).collect();
    let mut sorted = intents.clone();
    sorted.sort();
    assert_eq!(intents, sorted);
    assert!("id; DROP TABLE prompts.history".parse::<SortColumn>().is_err());
}

#[tokio::test]
async fn keyset_pages_walk_every_row_once_in_order_and_bad_cursors_are_invalid() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let rows: Vec<_> = (0..23)
        .map(|i| item(Some(alice), &format!("k{i:02}"), "reasoning", &[]))
        .collect();
    history::save_history_batch(db.pool(), &rows).await.unwrap();
    // Ties on created_at are broken by id, so equal timestamps are no problem:
    // all 23 rows were inserted by one statement and share one timestamp.
    for direction in [SortDirection::Desc, SortDirection::Asc] {
        let mut seen = Vec::new();
        let mut cursor: Option<HistoryCursor> = None;
        loop {
            let page = history::page_history_after(
                db.pool(),
                alice,
                &HistoryFilter::default(),
                direction,
                cursor.as_ref(),
                5,
            )
            .await
            .unwrap();
            assert!(page.items.len() <= 5);
            seen.extend(page.items.iter().map(|h| (h.created_at.unwrap(), h.id)));
            match page.next_cursor {
                Some(token) => cursor = Some(HistoryCursor::decode(&token).unwrap()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 23, "{direction:?}");
        let mut expected = seen.clone();
        expected.sort();
        if direction == SortDirection::Desc {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{direction:?} order");
    }
    assert!(matches!(
        HistoryCursor::decode("bm90IGEgY3Vyc29y"),
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        history::page_history_after(
            db.pool(),
            alice,
            &HistoryFilter::default(),
            SortDirection::Desc,
            None,
            101
        )
        .await,
        Err(StoreError::Invalid { .. })
    ));
}

#[tokio::test]
async fn feedback_favorite_and_delete_are_owner_only() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let bob = super::user_id(&db, "bob").await;
    let h = history::save_history(db.pool(), &item(Some(alice), "rate me", "reasoning", &[]))
        .await
        .unwrap();
    let rated = history::update_feedback(db.pool(), h.id, alice, 4, Some("good, but 'quoted'"))
        .await
        .unwrap();
    assert_eq!(
        (rated.feedback_score, rated.feedback_text.as_deref()),
        (Some(4), Some("good, but 'quoted'"))
    );
    for score in [0, 6] {
        assert!(matches!(
            history::update_feedback(db.pool(), h.id, alice, score, None).await,
            Err(StoreError::Invalid { .. })
        ));
    }
    let long = "x".repeat(history::MAX_FEEDBACK_CHARS + 1);
    assert!(matches!(
        history::update_feedback(db.pool(), h.id, alice, 3, Some(&long)).await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        history::update_feedback(db.pool(), h.id, bob, 1, None).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        history::get_history(&mut db.pool().acquire().await.unwrap(), h.id, alice)
            .await
            .unwrap()
            .feedback_score,
        Some(4)
    );

    assert!(history::set_favorite(db.pool(), h.id, alice, None).await.unwrap());
    assert!(!history::set_favorite(db.pool(), h.id, alice, None).await.unwrap());
    assert!(
        history::set_favorite(db.pool(), h.id, alice, Some(true))
            .await
            .unwrap()
    );
    assert!(
        history::set_favorite(db.pool(), h.id, alice, Some(true))
            .await
            .unwrap(),
        "setting is idempotent"
    );
    assert!(matches!(
        history::set_favorite(db.pool(), h.id, bob, None).await,
        Err(StoreError::NotFound { .. })
    ));

    assert!(matches!(
        history::delete_history(db.pool(), h.id, bob).await,
        Err(StoreError::NotFound { .. })
    ));
    history::delete_history(db.pool(), h.id, alice).await.unwrap();
    assert!(matches!(
        history::get_history(&mut db.pool().acquire().await.unwrap(), h.id, alice).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        history::delete_history(db.pool(), h.id, alice).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn stats_count_by_intent_technique_and_day_and_export_streams_everything() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let bob = super::user_id(&db, "bob").await;
    let mut rows = vec![
        item(
            Some(alice),
            "a1",
            "reasoning",
            &["chain_of_thought", "step_by_step"],
        ),
        item(Some(alice), "a2", "reasoning", &["chain_of_thought"]),
        item(Some(alice), "a3", "translation", &[]),
        NewPromptHistory {
            intent: None,
            ..item(Some(alice), "a4", "x", &[])
        },
        item(Some(bob), "b1", "reasoning", &["few_shot"]),
    ];
    rows.extend((0..3).map(|i| item(Some(bob), &format!("b{i}"), "conversation", &[])));
    let ids = history::save_history_batch(db.pool(), &rows).await.unwrap();
    sqlx::query("UPDATE prompts.history SET created_at = now() - interval '3 days' WHERE id = $1")
        .bind(ids[3])
        .execute(db.pool())
        .await
        .unwrap();
    history::update_feedback(db.pool(), ids[0], alice, 5, None)
        .await
        .unwrap();
    history::update_feedback(db.pool(), ids[1], alice, 2, None)
        .await
        .unwrap();
    history::set_favorite(db.pool(), ids[2], alice, Some(true))
        .await
        .unwrap();

    let stats = history::history_stats(db.pool(), alice, 30).await.unwrap();
    assert_eq!((stats.total, stats.favorites), (4, 1));
    assert_eq!(stats.average_feedback, Some(3.5));
    assert_eq!(stats.by_intent.get("reasoning"), Some(&2));
    assert_eq!(stats.by_intent.get("unknown"), Some(&1));
    assert_eq!(stats.by_technique.get("chain_of_thought"), Some(&2));
    assert_eq!(
        stats.by_technique.get("few_shot"),
        None,
        "bob's rows are not counted"
    );
    assert_eq!(stats.by_day.values().sum::<i64>(), 4);
    assert_eq!(stats.by_day.len(), 2);
    // a1 (chain_of_thought, step_by_step) rated 5, a2 (chain_of_thought) 2.
    assert_eq!(stats.rating_by_technique.get("chain_of_thought"), Some(&3.5));
    assert_eq!(stats.rating_by_technique.get("step_by_step"), Some(&5.0));
    assert_eq!(
        stats.rating_by_technique.len(),
        2,
        "{:?}",
        stats.rating_by_technique
    );
    let one_day = history::history_stats(db.pool(), alice, 1).await.unwrap();
    assert_eq!(
        one_day.by_day.values().sum::<i64>(),
        3,
        "the 3-day-old row is outside a 1-day window"
    );
    assert!(matches!(
        history::history_stats(db.pool(), alice, 0).await,
        Err(StoreError::Invalid { .. })
    ));

    let exported: Vec<_> = history::export_history(db.pool(), alice)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(exported.len(), 4);
    assert_eq!(exported[0].original_input, "a4", "oldest first");
    assert!(exported.iter().all(|h| h.user_id == Some(alice)));
}
