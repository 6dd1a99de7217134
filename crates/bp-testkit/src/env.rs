//! Where the test servers are.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The servers tests run against.
#[derive(Clone)]
pub struct TestEnv {
    /// A URL to the maintenance database (the role must have CREATEDB).
    pub database_url: String,
    /// The Redis URL.
    pub redis_url: String,
}

impl std::fmt::Debug for TestEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestEnv([redacted urls])")
    }
}

const NOTHING_RUNNING: &str = "No PostgreSQL/Redis to test against: run `make test` (it starts a throw-away \
     PostgreSQL and Redis), or start `betterprompts infra up` and run the tests again.";

/// The test servers, resolved once per process. Panics with one sentence
/// that says what to run when there are none.
pub fn test_env() -> &'static TestEnv {
    static ENV: OnceLock<TestEnv> = OnceLock::new();
    ENV.get_or_init(|| {
        install_test_keys();
        resolve().unwrap_or_else(|| panic!("{NOTHING_RUNNING}"))
    })
}

/// The encryption keys every test process uses (`BP_ENCRYPTION_KEYS`):
/// fixed, so a binary the tests start reads what the tests wrote.
pub const TEST_ENCRYPTION_KEYS: &str = "test1:dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctLS0tLS0";

/// The blind-index key of the tests (`BP_BLIND_INDEX_KEY`).
pub const TEST_BLIND_INDEX_KEY: &str = "dGVzdC1ibGluZC1pbmRleC1rZXktMzItYnl0ZXMhISE";

/// A test keyring with these keys (`extra` adds `id:base64` entries after
/// them; the last entry is active).
pub fn test_keyring(extra: &str) -> bp_store::crypto::Keyring {
    let spec = format!("{TEST_ENCRYPTION_KEYS},{extra}");
    bp_store::crypto::Keyring::parse(&spec, None, TEST_BLIND_INDEX_KEY)
        .unwrap_or_else(|e| panic!("test keys: {e}"))
}

/// Installs the test keyring in this process (once; later calls do nothing).
pub fn install_test_keys() {
    // Installing the same keyring again is accepted, so the result only
    // matters the first time, and then it is Ok.
    let _ = bp_store::crypto::install(test_keyring(""));
}

fn resolve() -> Option<TestEnv> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(database_url), Some(redis_url)) = (var("DATABASE_URL"), var("REDIS_URL")) {
        return Some(TestEnv {
            database_url,
            redis_url,
        });
    }
    let workspace_home = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.bp");
    let homes = var("BP_HOME")
        .map(PathBuf::from)
        .into_iter()
        .chain([workspace_home]);
    for home in homes {
        for instance in ["test", "default"] {
            if let Ok(Some(endpoints)) = bp_infra::Infra::new(&home, instance).endpoints() {
                return Some(TestEnv {
                    database_url: endpoints.database_url.expose().to_owned(),
                    redis_url: endpoints.redis_url.expose().to_owned(),
                });
            }
        }
    }
    None
}
