//! Embeddings: upsert, binary COPY, HNSW top-k with filters, and rejection
//! of bad vectors.

use bp_store::StoreError;
use bp_store::embeddings::{self, DIMENSION, Embedding, NewEmbedding, SearchRequest, SourceType};
use bp_testkit::TestDb;
use uuid::Uuid;

/// Deterministic vectors around `clusters` random centres (xorshift), so
/// nearest neighbours are meaningful and runs repeat.
fn clustered(n: usize, clusters: usize, seed: u64) -> Vec<Embedding> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| (0..DIMENSION).map(|_| next()).collect())
        .collect();
    (0..n)
        .map(|i| {
            let c = &centres[i % clusters];
            Embedding::new(c.iter().map(|v| v + 0.3 * next()).collect()).unwrap()
        })
        .collect()
}

fn row(source_type: SourceType, embedding: Embedding) -> NewEmbedding {
    NewEmbedding {
        source_type,
        source_id: Uuid::new_v4(),
        embedding,
        model_version: Some("test-v1".into()),
    }
}

#[tokio::test]
async fn upsert_replaces_by_source_and_round_trips_the_vector_exactly() {
    let db = TestDb::new().await;
    let vs = clustered(2, 2, 7);
    let mut new = row(SourceType::SavedPrompt, vs[0].clone());
    let id = embeddings::upsert_embedding(db.pool(), &new).await.unwrap();
    assert_eq!(
        embeddings::get_embedding(db.pool(), SourceType::SavedPrompt, new.source_id)
            .await
            .unwrap(),
        vs[0]
    );
    new.embedding = vs[1].clone();
    assert_eq!(
        embeddings::upsert_embedding(db.pool(), &new).await.unwrap(),
        id,
        "same row, replaced"
    );
    assert_eq!(
        embeddings::get_embedding(db.pool(), SourceType::SavedPrompt, new.source_id)
            .await
            .unwrap(),
        vs[1]
    );
    assert!(matches!(
        embeddings::get_embedding(db.pool(), SourceType::Template, new.source_id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        embeddings::delete_embedding(db.pool(), SourceType::SavedPrompt, new.source_id)
            .await
            .unwrap()
    );
    let bad_model = NewEmbedding {
        model_version: Some("m".repeat(51)),
        ..new
    };
    assert!(matches!(
        embeddings::upsert_embedding(db.pool(), &bad_model).await,
        Err(StoreError::Invalid { .. })
    ));
}

#[tokio::test]
async fn the_database_itself_refuses_a_wrong_dimension_or_nan() {
    // Embedding::new refuses these before SQL (unit-tested); this checks that
    // the column would too, so no other writer can store them.
    let db = TestDb::new().await;
    for literal in ["[1,2,3]", "[NaN,1]"] {
        let err = sqlx::query("INSERT INTO prompts.embeddings (source_type, source_id, embedding) VALUES ('template', gen_random_uuid(), $1::text::vector)")
            .bind(literal)
            .execute(db.pool())
            .await
            .map_err(StoreError::from)
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid { .. } | StoreError::Database(_)),
            "{err}"
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM prompts.embeddings")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn binary_copy_upserts_many_with_the_last_duplicate_winning() {
    let db = TestDb::new().await;
    let vs = clustered(501, 5, 11);
    let mut rows: Vec<_> = vs[..500]
        .iter()
        .map(|v| row(SourceType::PromptHistory, v.clone()))
        .collect();
    rows[3].model_version = None;
    let dup = NewEmbedding {
        embedding: vs[500].clone(),
        ..rows[10].clone()
    };
    rows.push(dup);
    assert_eq!(
        embeddings::upsert_embeddings(db.pool(), &rows).await.unwrap(),
        500
    );
    assert_eq!(
        embeddings::get_embedding(db.pool(), SourceType::PromptHistory, rows[10].source_id)
            .await
            .unwrap(),
        vs[500]
    );
    assert_eq!(
        embeddings::get_embedding(db.pool(), SourceType::PromptHistory, rows[42].source_id)
            .await
            .unwrap(),
        vs[42]
    );
    // A second load replaces rather than duplicates.
    assert_eq!(
        embeddings::upsert_embeddings(db.pool(), &rows[..100])
            .await
            .unwrap(),
        100
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM prompts.embeddings")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(count, 500);
    assert_eq!(embeddings::upsert_embeddings(db.pool(), &[]).await.unwrap(), 0);

    // A few rows take the plain-statement path, with the same rules: the
    // last duplicate wins and an existing source is replaced.
    let few = vec![
        NewEmbedding {
            embedding: vs[1].clone(),
            ..rows[0].clone()
        },
        row(SourceType::Template, vs[2].clone()),
        NewEmbedding {
            embedding: vs[3].clone(),
            ..rows[0].clone()
        },
    ];
    assert_eq!(embeddings::upsert_embeddings(db.pool(), &few).await.unwrap(), 2);
    assert_eq!(
        embeddings::get_embedding(db.pool(), SourceType::PromptHistory, rows[0].source_id)
            .await
            .unwrap(),
        vs[3]
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM prompts.embeddings")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(count, 501);
}

#[tokio::test]
async fn top_k_uses_the_hnsw_index_filters_by_type_and_threshold_and_finds_the_true_neighbours() {
    let db = TestDb::new().await;
    let vs = clustered(3000, 30, 42);
    let rows: Vec<_> = vs
        .iter()
        .enumerate()
        .map(|(i, v)| {
            row(
                if i % 3 == 0 {
                    SourceType::Template
                } else {
                    SourceType::PromptHistory
                },
                v.clone(),
            )
        })
        .collect();
    embeddings::upsert_embeddings(db.pool(), &rows).await.unwrap();
    sqlx::query("ANALYZE prompts.embeddings")
        .execute(db.pool())
        .await
        .unwrap();

    let query = &vs[5];
    let request = SearchRequest {
        query,
        source_type: None,
        min_similarity: None,
        limit: 10,
        ef_search: Some(200),
    };
    let hits = embeddings::search_similar(db.pool(), &request).await.unwrap();
    assert_eq!(hits.len(), 10);
    assert_eq!(
        hits[0].source_id, rows[5].source_id,
        "a stored vector is its own nearest neighbour"
    );
    assert!((hits[0].similarity - 1.0).abs() < 1e-5);
    assert!(hits.windows(2).all(|w| w[0].similarity >= w[1].similarity));
    let exact = embeddings::search_exact(db.pool(), query, 10).await.unwrap();
    let found = hits.iter().filter(|h| exact.contains(&h.id)).count();
    assert!(found >= 9, "recall@10 = {found}/10");

    let templates = SearchRequest {
        source_type: Some(SourceType::Template),
        ..request.clone()
    };
    let hits = embeddings::search_similar(db.pool(), &templates).await.unwrap();
    assert_eq!(hits.len(), 10, "the filter still fills k (iterative scan)");
    assert!(hits.iter().all(|h| h.source_type == "template"));

    let close = SearchRequest {
        min_similarity: Some(0.99),
        ..request.clone()
    };
    let hits = embeddings::search_similar(db.pool(), &close).await.unwrap();
    assert_eq!(hits.len(), 1, "only the vector itself is that close");

    for bad in [
        SearchRequest {
            limit: 0,
            ..request.clone()
        },
        SearchRequest {
            limit: 101,
            ..request.clone()
        },
        SearchRequest {
            ef_search: Some(0),
            ..request.clone()
        },
        SearchRequest {
            min_similarity: Some(1.5),
            ..request.clone()
        },
    ] {
        assert!(matches!(
            embeddings::search_similar(db.pool(), &bad).await,
            Err(StoreError::Invalid { .. })
        ));
    }

    // The plan of the very statement search_similar runs, with its bound
    // values. On a table this small, scanning and sorting costs about the
    // same as the index and the planner's pick flips with the data, so
    // explicit sorts are priced out (enable_sort off): the only other way to
    // produce rows in distance order is the HNSW index, and each statement
    // must be able to use it (a shape the index cannot serve would still
    // sort). The benchmark runs the same statements at 20k and 100k rows.
    for (source_type, limit) in [(None, 10), (None, 37), (Some("template"), 10)] {
        let mut tx = db.pool().begin().await.unwrap();
        sqlx::query("SET LOCAL enable_sort = off")
            .execute(&mut *tx)
            .await
            .unwrap();
        let sql = embeddings::search_sql(limit, source_type.is_some());
        let explain = format!("EXPLAIN {sql}");
        let mut statement = sqlx::query_scalar(&explain).bind(query);
        if let Some(source_type) = source_type {
            statement = statement.bind(source_type);
        }
        let plan: Vec<String> = statement.bind(Some(0.5f64)).fetch_all(&mut *tx).await.unwrap();
        let plan = plan.join("\n");
        assert!(
            plan.contains("Index Scan using idx_embeddings_hnsw"),
            "{source_type:?}: {plan}"
        );
    }
    let eleven = SearchRequest {
        limit: 11,
        ..request.clone()
    };
    assert_eq!(
        embeddings::search_similar(db.pool(), &eleven)
            .await
            .unwrap()
            .len(),
        11,
        "rounded up, then truncated"
    );

    // The search turns sequential scans off for its own transaction only:
    // the pooled connection it ran on plans everything else as before.
    let mut conn = db.pool().acquire().await.unwrap();
    embeddings::search_similar(&mut *conn, &request).await.unwrap();
    let (seqscan, ef): (String, String) =
        sqlx::query_as("SELECT current_setting('enable_seqscan'), current_setting('hnsw.ef_search')")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(seqscan, "on");
    assert_eq!(ef, "40", "pgvector's default ef_search, not the search's 200");
}
