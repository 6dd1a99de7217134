//! Redis down is a degraded mode for the API, not an outage: enhance still
//! answers (uncached, rate-limit policy applied), sessions are checked in
//! the database, /ready says Redis is down, and everything recovers when
//! Redis returns, without a restart.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use bp_cache::{Cache, CacheSettings};
use bp_testkit::{OwnRedis, TestApp, eventually};
use serde_json::json;

use super::{call, count, register};

#[tokio::test]
async fn with_redis_stopped_the_api_degrades_and_recovers_without_a_restart() {
    let mut redis = OwnRedis::start();
    let cache = Cache::connect_with(&redis.url(), CacheSettings::new("degraded"))
        .await
        .unwrap();
    let app = TestApp::with_cache(cache).await;
    let user = register(&app, "steady").await;
    let text = json!({ "text": "Explain how vaccines train the immune system" });
    let anonymous = || async { call(&app, Method::POST, "/api/v1/enhance", &text, None).await };
    let first = anonymous().await;
    let again = anonymous().await;
    assert_eq!(
        again.json["id"], first.json["id"],
        "the response cache works before the outage"
    );

    redis.down();
    let ready = app.get("/api/v1/ready").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.json);
    assert_eq!(ready.json["state"], "degraded");
    assert_eq!(ready.json["checks"]["redis"], "degraded");

    let rows = count(&app, "prompts.history").await;
    let a = anonymous().await;
    let b = anonymous().await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert_eq!(b.status, StatusCode::OK, "{}", b.json);
    assert_ne!(a.json["id"], b.json["id"], "served from a cache that is down");
    assert_eq!(b.json["metadata"]["cached"], false);
    assert!(
        a.headers.contains_key("x-ratelimit-limit"),
        "the rate-limit policy was not applied"
    );
    assert_eq!(
        count(&app, "prompts.history").await,
        rows + 2,
        "enhancements were not saved"
    );

    let res = call(&app, Method::POST, "/api/v1/enhance", &text, Some(&user)).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "a session is checked in the database: {}",
        res.json
    );
    let res = call(&app, Method::GET, "/api/v1/history", &json!(null), Some(&user)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json["pagination"]["total_records"], 1);

    redis.up();
    eventually(Duration::from_secs(30), "/ready reports Redis back", || async {
        app.get("/api/v1/ready").await.json["checks"]["redis"] == "ok"
    })
    .await;
    let c = anonymous().await;
    eventually(
        Duration::from_secs(30),
        "the response cache serves again",
        || async { anonymous().await.json["id"] == c.json["id"] },
    )
    .await;
    let res = call(
        &app,
        Method::GET,
        "/api/v1/auth/profile",
        &json!(null),
        Some(&user),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_sentinel_failover_the_api_keeps_answering_and_then_caches_on_the_new_master() {
    let mut set = bp_testkit::sentinel::SentinelSet::start_with(Duration::from_millis(1000)).await;
    let cache = Cache::connect_with(&set.url(), CacheSettings::new("failover"))
        .await
        .unwrap();
    let app = TestApp::with_cache(cache.clone()).await;
    let user = register(&app, "failover").await;
    set.wait_replicated().await;

    set.kill_master();
    let replica = set.replica_port();
    let mut served = 0;
    // Every request while the Sentinels agree, and after, is answered.
    while set.master_port().await != Some(replica) || !cache.is_available() || served < 5 {
        served += 1;
        both_answered(&app, &user, served).await;
    }
    // The response cache works again, now on the promoted replica.
    answers_are_cached_again(&app).await;
    let ready = app.get("/api/v1/ready").await;
    assert_eq!(ready.json["checks"]["redis"], "ok", "{}", ready.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_cluster_failover_the_api_keeps_answering_and_then_caches_again() {
    let mut cluster = bp_testkit::cluster::TestCluster::start_with(true, Duration::from_millis(1000)).await;
    let cache = Cache::connect_with(&cluster.url(), CacheSettings::new("clusterapi"))
        .await
        .unwrap();
    let app = TestApp::with_cache(cache.clone()).await;
    let user = register(&app, "clusterfailover").await;
    cluster.wait_replicated().await;

    let replica = cluster.replica_port().unwrap();
    cluster.kill_first_master();
    let mut served = 0;
    // Every request while the cluster fails over, and after, is answered.
    while !cluster.is_master(replica).await || !cache.is_available() || served < 5 {
        served += 1;
        both_answered(&app, &user, served).await;
    }
    // The response cache works again, the dead master's slots now on its
    // promoted replica.
    answers_are_cached_again(&app).await;
    eventually(Duration::from_secs(10), "/ready says Redis is ok", || async {
        app.get("/api/v1/ready").await.json["checks"]["redis"] == "ok"
    })
    .await;
}

/// One anonymous and one signed-in `/enhance` (the `n`th of a failover
/// test), both answered; a failover that takes 5,000 rounds fails.
async fn both_answered(app: &TestApp, user: &super::Account, n: u32) {
    let text = json!({ "text": format!("Explain how tides work, part {n}") });
    let anonymous = call(app, Method::POST, "/api/v1/enhance", &text, None).await;
    assert_eq!(anonymous.status, StatusCode::OK, "{}", anonymous.json);
    let signed_in = call(app, Method::POST, "/api/v1/enhance", &text, Some(user)).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.json);
    assert!(n < 5_000, "the failover did not finish");
}

/// After a failover, a repeated answer comes from the response cache again.
async fn answers_are_cached_again(app: &TestApp) {
    let text = json!({ "text": "Explain how tides work, after the failover" });
    eventually(Duration::from_secs(10), "answers are cached again", || async {
        let a = call(app, Method::POST, "/api/v1/enhance", &text, None).await;
        let b = call(app, Method::POST, "/api/v1/enhance", &text, None).await;
        b.json["metadata"]["cached"] == true && a.json["id"] == b.json["id"]
    })
    .await;
}
