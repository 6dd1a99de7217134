//! `rediss://`: the cache talks TLS to a Redis that listens only for TLS,
//! trusting the authority in `BP_REDIS_CA_FILE`, and refuses a server whose
//! certificate another authority signed.

use std::time::Duration;

use bp_cache::{Cache, CacheSettings, Namespace};
use bp_testkit::OwnRedis;
use bp_testkit::tls::TestCa;

fn settings(ca: &TestCa) -> CacheSettings {
    CacheSettings {
        ca_file: Some(ca.ca_file()),
        ..CacheSettings::new("tls")
    }
}

#[tokio::test]
async fn rediss_with_the_servers_authority_works_and_another_authority_is_refused() {
    let ca = TestCa::new(&["localhost", "127.0.0.1"]);
    let redis = OwnRedis::start_tls(&ca);
    assert!(redis.url().starts_with("rediss://"));

    let cache = Cache::connect_with(&redis.url(), settings(&ca)).await.unwrap();
    assert!(cache.put(Namespace::Templates, &["t"], &7).await);
    assert_eq!(cache.fetch::<i32>(Namespace::Templates, &["t"]).await, Some(7));

    // Plain text to the TLS port gets nowhere.
    let plain = redis.url().replacen("rediss://", "redis://", 1);
    let refused = tokio::time::timeout(
        Duration::from_secs(10),
        Cache::connect_with(&plain, CacheSettings::new("tls")),
    )
    .await;
    assert!(!matches!(refused, Ok(Ok(_))), "a plain-text client was served");

    // A server certificate from an authority we do not trust is refused.
    let stranger = TestCa::new(&["localhost", "127.0.0.1"]);
    let wrong = Cache::connect_with(&redis.url(), settings(&stranger)).await;
    assert!(
        wrong.is_err(),
        "a certificate from an untrusted authority was accepted"
    );
}
