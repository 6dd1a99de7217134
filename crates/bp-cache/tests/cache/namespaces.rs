//! Typed namespace caches, invalidation triggers and stats.

use std::time::Duration;

use bp_cache::{Invalidation, Namespace};
use bp_testkit::TestRedis;
use serde_json::{Value, json};

use crate::{eventually, raw};

async fn keys(cache: &bp_cache::Cache, ns: Namespace) -> Vec<String> {
    let pattern = format!("{}:{}*", cache.prefix(), ns.key_prefix());
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut raw().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn api_responses_hit_regardless_of_param_order_and_whitespace() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    let response = json!({"enhanced": "Think step by step.", "techniques": ["chain_of_thought"]});
    assert!(
        cache
            .cache_api_response("/api/v1/enhance", r#"{"text":"hi","b":1}"#, &response)
            .await
    );
    let hit: Option<Value> = cache
        .get_cached_api_response("/api/v1/enhance", "{ \"b\": 1,\n \"text\": \"hi\" }")
        .await;
    assert_eq!(hit, Some(response));
    let other: Option<Value> = cache
        .get_cached_api_response("/api/v1/other", r#"{"text":"hi","b":1}"#)
        .await;
    assert_eq!(other, None, "the endpoint is part of the key");

    // The key holds a hash, not the request text, and the TTL is 5 min.
    let stored = keys(cache, Namespace::ApiResponses).await;
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains("hi") && !stored[0].contains("enhance"),
        "{}",
        stored[0]
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(&stored[0])
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert!((290..=300).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn predictions_are_keyed_by_model_version_and_normalised_text() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    let prediction = json!({"intent": "creative_writing", "confidence": 0.91});
    assert!(
        cache
            .cache_prediction("v1", "Write a  POEM about\tthe sea", &prediction)
            .await
    );
    let hit: Option<Value> = cache
        .get_cached_prediction("v1", "write a poem about the sea")
        .await;
    assert_eq!(hit, Some(prediction.clone()));
    let other_model: Option<Value> = cache
        .get_cached_prediction("v2", "write a poem about the sea")
        .await;
    assert_eq!(other_model, None);
    // A key computed once names the same entry.
    let key = bp_cache::typed::PredictionKey::new("v1", "WRITE a poem about the sea ");
    let again: Option<Value> = cache.get_cached_prediction_at(&key).await;
    assert_eq!(again.as_ref(), hit.as_ref());
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys(cache, Namespace::Predictions).await[0])
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert!((3590..=3600).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn a_value_that_does_not_decode_is_a_miss_and_is_deleted() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    assert!(
        cache
            .cache_template("cot-basic", &json!({"body": "Let's think"}))
            .await
    );
    let key = keys(cache, Namespace::Templates).await.remove(0);
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("\u{0}garbage")
        .query_async(&mut raw().await)
        .await
        .unwrap();
    let got: Option<Value> = cache.get_cached_template("cot-basic").await;
    assert_eq!(got, None);
    assert!(
        keys(cache, Namespace::Templates).await.is_empty(),
        "the bad value was deleted"
    );

    // A value of another shape is a miss too, not an error.
    assert!(cache.cache_user_prefs("u1", &json!({"theme": "dark"})).await);
    let wrong: Option<Vec<u32>> = cache.get_cached_user_prefs("u1").await;
    assert_eq!(wrong, None);
}

#[tokio::test]
async fn expire_soon_bounds_a_values_age_and_never_lengthens_it() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    let pttl = || async {
        let key = keys(cache, Namespace::Techniques).await.remove(0);
        redis::cmd("PTTL")
            .arg(&key)
            .query_async::<i64>(&mut raw().await)
            .await
            .unwrap()
    };
    assert!(
        cache
            .put(Namespace::Techniques, &["eff", "reasoning"], &7u32)
            .await
    );
    assert!(pttl().await > 60_000, "the namespace's own TTL (minutes)");
    assert!(
        cache
            .expire_soon(
                Namespace::Techniques,
                &["eff", "reasoning"],
                Duration::from_millis(1500)
            )
            .await
    );
    let bounded = pttl().await;
    assert!((1..=1500).contains(&bounded), "{bounded} ms left");
    // A later, longer bound does not move the expiry out again.
    cache
        .expire_soon(
            Namespace::Techniques,
            &["eff", "reasoning"],
            Duration::from_secs(60),
        )
        .await;
    assert!(pttl().await <= 1500);
    eventually(Duration::from_secs(5), "the value expires", || async {
        cache
            .fetch::<u32>(Namespace::Techniques, &["eff", "reasoning"])
            .await
            .is_none()
    })
    .await;
    assert!(
        !cache
            .expire_soon(
                Namespace::Techniques,
                &["eff", "reasoning"],
                Duration::from_secs(1)
            )
            .await,
        "nothing left to expire"
    );
}

#[tokio::test]
async fn large_values_are_stored_compressed() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    let text = "You are an expert editor. Think step by step. ".repeat(400);
    assert!(cache.put(Namespace::Temp, &["big"], &text).await);
    let key = keys(cache, Namespace::Temp).await.remove(0);
    let len: usize = redis::cmd("STRLEN")
        .arg(&key)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert!(
        len < text.len() / 4,
        "{len} bytes stored for {} of text",
        text.len()
    );
    assert_eq!(cache.fetch::<String>(Namespace::Temp, &["big"]).await, Some(text));
}

#[tokio::test]
async fn user_update_removes_that_users_preferences_and_sessions_only() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    cache.cache_user_prefs("alice", &json!({"theme": "dark"})).await;
    cache.cache_user_prefs("bob", &json!({"theme": "light"})).await;
    cache
        .set_session("s1", "alice", &json!({"ip": "1"}), None)
        .await
        .unwrap();
    cache
        .set_session("s2", "alice", &json!({"ip": "2"}), None)
        .await
        .unwrap();
    cache
        .set_session("s3", "bob", &json!({"ip": "3"}), None)
        .await
        .unwrap();

    let deleted = cache
        .invalidate(Invalidation::UserUpdate { user_id: "alice" })
        .await
        .unwrap();
    assert_eq!(deleted, 3, "alice's preferences and two sessions");
    assert_eq!(cache.get_cached_user_prefs::<Value>("alice").await, None);
    assert!(cache.get_session::<Value>("s1").await.unwrap().is_none());
    assert!(cache.get_cached_user_prefs::<Value>("bob").await.is_some());
    assert!(cache.get_session::<Value>("s3").await.unwrap().is_some());
}

#[tokio::test]
async fn template_and_model_updates_invalidate_their_namespaces_in_every_process() {
    let redis = TestRedis::new().await;
    let (a, b) = (redis.cache(), redis.another_client().await);
    a.cache_template("cot", &json!(1)).await;
    a.cache_api_response("/api/v1/enhance", "{}", &json!(2)).await;
    a.cache_prediction("v1", "text", &json!(3)).await;
    a.cache_techniques("v1", "code_generation:complex", &json!(4))
        .await;
    a.cache_user_prefs("u", &json!(5)).await;
    assert_eq!(b.get_cached_template::<Value>("cot").await, Some(json!(1)));
    assert_eq!(
        b.get_cached_prediction::<Value>("v1", "text").await,
        Some(json!(3))
    );

    a.invalidate(Invalidation::TemplateUpdate).await.unwrap();
    // The other process sees the bump through the events channel.
    eventually(Duration::from_secs(5), "b sees the template bump", || async {
        b.get_cached_template::<Value>("cot").await.is_none()
    })
    .await;
    assert_eq!(
        b.get_cached_api_response::<Value>("/api/v1/enhance", "{}").await,
        None
    );
    assert_eq!(
        b.get_cached_prediction::<Value>("v1", "text").await,
        Some(json!(3)),
        "untouched"
    );

    a.invalidate(Invalidation::ModelUpdate).await.unwrap();
    eventually(Duration::from_secs(5), "b sees the model bump", || async {
        b.get_cached_prediction::<Value>("v1", "text").await.is_none()
    })
    .await;
    assert_eq!(
        b.get_cached_techniques::<Value>("v1", "code_generation:complex")
            .await,
        None
    );
    assert_eq!(
        b.get_cached_user_prefs::<Value>("u").await,
        Some(json!(5)),
        "untouched"
    );

    // New entries after the bump are cached normally.
    a.cache_template("cot", &json!(6)).await;
    assert_eq!(a.get_cached_template::<Value>("cot").await, Some(json!(6)));
}

#[tokio::test]
async fn flushing_a_namespace_deletes_its_keys_only() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    for i in 0..5 {
        cache.put(Namespace::Analytics, &[&i.to_string()], &i).await;
    }
    cache.put(Namespace::Temp, &["keep"], &1).await;
    assert_eq!(cache.flush_namespace(Namespace::Analytics).await.unwrap(), 5);
    assert_eq!(cache.fetch::<i32>(Namespace::Temp, &["keep"]).await, Some(1));
}

#[tokio::test]
async fn hits_and_misses_are_counted_per_namespace_and_shared() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    cache.cache_template("t", &json!(1)).await;
    cache.get_cached_template::<Value>("t").await;
    cache.get_cached_template::<Value>("t").await;
    cache.get_cached_template::<Value>("missing").await;
    let local = cache.namespace_stats();
    let templates = local.iter().find(|s| s.namespace == "templates").unwrap();
    assert_eq!((templates.hits, templates.misses), (2, 1));

    cache.flush_stats().await.unwrap();
    cache.flush_stats().await.unwrap();
    let shared = cache.shared_namespace_stats().await.unwrap();
    let templates = shared.iter().find(|s| s.namespace == "templates").unwrap();
    assert_eq!(
        (templates.hits, templates.misses),
        (2, 1),
        "flushed once, not twice"
    );
    assert_eq!(templates.hit_rate(), Some(2.0 / 3.0));

    let server = cache.server_stats().await.unwrap();
    assert!(server.version.starts_with('7'), "{}", server.version);
    assert!(server.used_memory > 0 && server.connected_clients > 0);
}
