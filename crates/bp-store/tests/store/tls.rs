//! PostgreSQL over TLS: `sslmode` and `sslrootcert` in `DATABASE_URL` are
//! honoured. The bundled PostgreSQL is built without OpenSSL, so the test
//! puts [`PgTlsFront`] in front of it: the server side of PostgreSQL's TLS
//! upgrade, with a certificate for `localhost` only.

use bp_store::PoolSettings;
use bp_testkit::TestDb;
use bp_testkit::tls::{PgTlsFront, TestCa};

/// `DATABASE_URL` pointed at `host:port` and `db`, with `query` appended.
fn url_via(host: &str, port: u16, db: &TestDb, query: &str) -> String {
    let mut url = url::Url::parse(&bp_testkit::test_env().database_url).unwrap();
    url.set_host(Some(host)).unwrap();
    url.set_port(Some(port)).unwrap();
    url.set_path(db.name());
    url.set_query(Some(query));
    url.to_string()
}

async fn connects(url: &str) -> Result<(), String> {
    let pool = bp_store::connect(url, &PoolSettings::small())
        .await
        .map_err(|e| e.to_string())?;
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(one, 1);
    pool.close().await;
    Ok(())
}

#[tokio::test]
async fn sslmode_verify_full_with_a_ca_file_is_honoured() {
    let db = TestDb::new().await;
    let options = db.connect_options();
    let upstream = format!("{}:{}", options.get_host(), options.get_port())
        .parse()
        .unwrap();
    let ca = TestCa::new(&["localhost"]);
    let front = PgTlsFront::start(upstream, &ca).await;
    let port = front.addr().port();
    let root = ca.ca_file().display().to_string();

    let verified = url_via(
        "localhost",
        port,
        &db,
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    connects(&verified).await.unwrap();

    // The certificate names localhost, not 127.0.0.1: verify-full checks
    // the name and refuses.
    let by_ip = url_via(
        "127.0.0.1",
        port,
        &db,
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    let mismatch = connects(&by_ip).await.unwrap_err();
    assert!(mismatch.contains("not valid for name"), "{mismatch}");

    // Another authority's file: refused.
    let stranger = TestCa::new(&["localhost"]);
    let wrong = url_via(
        "localhost",
        port,
        &db,
        &format!("sslmode=verify-full&sslrootcert={}", stranger.ca_file().display()),
    );
    assert!(
        connects(&wrong).await.is_err(),
        "an untrusted certificate was accepted"
    );

    // Without TLS the (TLS-only) server is not reached at all.
    assert!(
        connects(&url_via("localhost", port, &db, "sslmode=disable"))
            .await
            .is_err()
    );
}
