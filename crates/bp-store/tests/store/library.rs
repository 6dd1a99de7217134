//! Templates and intent patterns.

use bp_store::StoreError;
use bp_store::intent_patterns::{self, NewIntentPattern};
use bp_store::templates::{self, NewTemplate, TemplateUpdate};
use bp_testkit::TestDb;
use serde_json::json;

fn template(name: &str, technique: &str) -> NewTemplate {
    NewTemplate {
        name: name.into(),
        technique: technique.into(),
        category: Some("testing".into()),
        template_text: "{{prompt}}\n\nBe precise.".into(),
        variables: Some(json!(["prompt"])),
        ..Default::default()
    }
}

#[tokio::test]
async fn templates_derive_slugs_list_by_effectiveness_then_usage_and_count_uses() {
    let db = TestDb::new().await;
    let a = templates::create_template(db.pool(), &template("My  Great Template!", "few_shot"))
        .await
        .unwrap();
    assert_eq!(a.slug, "my-great-template");
    assert_eq!(a.examples, Some(json!([])));
    let err = templates::create_template(db.pool(), &template("my great template", "few_shot"))
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { constraint } if constraint == "templates_slug_key"));
    let b = templates::create_template(
        db.pool(),
        &NewTemplate {
            slug: Some("second".into()),
            ..template("Second", "few_shot")
        },
    )
    .await
    .unwrap();
    let c = templates::create_template(db.pool(), &template("Third", "few_shot"))
        .await
        .unwrap();
    sqlx::query("UPDATE prompts.templates SET effectiveness_score = 0.9 WHERE id = $1")
        .bind(c.id)
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(
        templates::increment_template_usage(db.pool(), b.id, 1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        templates::increment_template_usage(db.pool(), b.id, 4)
            .await
            .unwrap(),
        5
    );
    let listed = templates::list_active_templates(db.pool(), Some("few_shot"), Some("testing"))
        .await
        .unwrap();
    let slugs: Vec<_> = listed.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(slugs, ["third", "second", "my-great-template"]);
    // The migration's defaults cover the other techniques.
    let cot = templates::list_active_templates(db.pool(), Some("chain_of_thought"), None)
        .await
        .unwrap();
    assert_eq!(cot.len(), 1);
    assert_eq!(
        templates::get_template_by_slug(db.pool(), "second")
            .await
            .unwrap()
            .id,
        b.id
    );
    assert!(matches!(
        templates::get_template_by_slug(db.pool(), "nope").await,
        Err(StoreError::NotFound { .. })
    ));

    let updated = templates::update_template(
        db.pool(),
        a.id,
        &TemplateUpdate {
            name: Some("Renamed".into()),
            is_active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.slug.as_str()),
        ("Renamed", "my-great-template"),
        "slug kept"
    );
    assert!(updated.updated_at >= a.updated_at);
    let listed = templates::list_active_templates(db.pool(), Some("few_shot"), None)
        .await
        .unwrap();
    assert!(
        listed.iter().all(|t| t.id != a.id),
        "inactive templates are not listed"
    );
    for bad in [
        NewTemplate {
            technique: "Few Shot".into(),
            ..template("x", "few_shot")
        },
        NewTemplate {
            slug: Some("Bad Slug".into()),
            ..template("x", "few_shot")
        },
        NewTemplate {
            variables: Some(json!({"a": 1})),
            ..template("x", "few_shot")
        },
        NewTemplate {
            template_text: String::new(),
            ..template("x", "few_shot")
        },
        template("!!!", "few_shot"),
    ] {
        assert!(matches!(
            templates::create_template(db.pool(), &bad).await,
            Err(StoreError::Invalid { .. })
        ));
    }
    assert!(matches!(
        templates::update_template(db.pool(), uuid::Uuid::new_v4(), &TemplateUpdate::default()).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn template_effectiveness_is_refreshed_from_technique_feedback() {
    let db = TestDb::new().await;
    sqlx::query(
        "INSERT INTO analytics.technique_effectiveness (technique, intent, success_count, total_count, date)
         VALUES ('few_shot', 'reasoning', 3, 4, CURRENT_DATE), ('few_shot', 'translation', 1, 4, CURRENT_DATE),
                ('zero_shot', 'reasoning', 9, 10, CURRENT_DATE - 40)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    assert_eq!(
        templates::refresh_template_effectiveness(db.pool(), 30)
            .await
            .unwrap(),
        1
    );
    let few = templates::get_template_by_slug(db.pool(), "few-shot-learning")
        .await
        .unwrap();
    assert_eq!(few.effectiveness_score, Some(0.5));
    let zero = templates::get_template_by_slug(db.pool(), "zero-shot")
        .await
        .unwrap();
    assert_eq!(
        zero.effectiveness_score,
        Some(0.0),
        "data older than the window is ignored"
    );
    assert_eq!(
        templates::refresh_template_effectiveness(db.pool(), 30)
            .await
            .unwrap(),
        0,
        "idempotent"
    );
}

fn pattern(text: &str, intent: &str) -> NewIntentPattern {
    NewIntentPattern {
        pattern: text.into(),
        intent: intent.into(),
        source: Some("test".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn intent_patterns_are_normalised_listed_by_confidence_and_found_by_shared_words() {
    let db = TestDb::new().await;
    let saved = intent_patterns::save_intent_pattern(
        db.pool(),
        &pattern("  Write a Python FUNCTION to sort a list ", "code_generation"),
    )
    .await
    .unwrap();
    assert_eq!(saved.normalized_pattern, "write a python function to sort a list");
    assert_eq!(saved.confidence, Some(1.0));
    let batch = vec![
        pattern("Translate this paragraph into French", "translation"),
        NewIntentPattern {
            confidence: Some(0.4),
            ..pattern("sort these numbers for me", "data_analysis")
        },
        pattern("Summarize the article in three bullet points", "summarization"),
        pattern("write a python function to sort a list", "code_generation"),
        pattern("Write a Python function to sort a list", "code_generation"),
    ];
    assert_eq!(
        intent_patterns::save_intent_patterns(db.pool(), &batch)
            .await
            .unwrap(),
        3,
        "duplicates skipped"
    );
    assert_eq!(
        intent_patterns::save_intent_patterns(db.pool(), &batch)
            .await
            .unwrap(),
        0,
        "seeding twice adds nothing"
    );

    let confident = intent_patterns::list_intent_patterns(db.pool(), None, 0.5)
        .await
        .unwrap();
    assert_eq!(confident.len(), 3);
    let code = intent_patterns::list_intent_patterns(db.pool(), Some("code_generation"), 0.0)
        .await
        .unwrap();
    assert_eq!(code.len(), 1);

    let similar = intent_patterns::similar_patterns(db.pool(), "how do I sort a list in python?", 5)
        .await
        .unwrap();
    assert_eq!(similar[0].pattern.intent, "code_generation", "{similar:?}");
    assert!(
        similar.iter().any(|s| s.pattern.intent == "data_analysis"),
        "one shared word is enough"
    );
    assert!(similar.windows(2).all(|w| w[0].rank >= w[1].rank));
    assert!(
        intent_patterns::similar_patterns(db.pool(), "the and of", 5)
            .await
            .unwrap()
            .is_empty()
    );
    let odd = intent_patterns::similar_patterns(db.pool(), "'; DROP TABLE x; -- & | ! :* <->", 5)
        .await
        .unwrap();
    assert!(
        odd.is_empty(),
        "operators in the text are words, not query syntax"
    );

    for bad in [
        pattern("   ", "translation"),
        pattern("ok", "Not An Intent"),
        NewIntentPattern {
            confidence: Some(2.0),
            ..pattern("ok", "translation")
        },
    ] {
        assert!(matches!(
            intent_patterns::save_intent_pattern(db.pool(), &bad).await,
            Err(StoreError::Invalid { .. })
        ));
    }
    let err = intent_patterns::save_intent_patterns(
        db.pool(),
        &[pattern("fine", "translation"), pattern("", "translation")],
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, StoreError::Invalid { field, .. } if field == "rows[1].pattern"));
}
