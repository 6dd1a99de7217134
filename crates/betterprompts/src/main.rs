//! The `betterprompts` binary: parses the command line, sets up logging,
//! runs the command and turns any error into one line on stderr.

mod cli;
mod commands;
mod progress;
mod resolve;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Loadgen(args) = &cli.command {
        // Its own single-threaded runtime, before any other is built.
        return match commands::loadgen::run(args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    init_logging(matches!(cli.command, Command::Serve(_)));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // `{:#}` joins the cause chain on one line: no backtrace, no Debug.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    // Needs no settings: it works on a machine with no configuration at all.
    if let Command::HashPassword(args) = cli.command {
        return commands::hash_password::run(args).await;
    }
    let settings = bp_config::Settings::from_env()?;
    let instance = cli.instance.as_deref();
    match cli.command {
        Command::Serve(args) => commands::serve::run(&settings, instance, args).await,
        Command::Infra(cmd) => commands::infra::run(&settings, instance, cmd).await,
        Command::Migrate(cmd) => commands::migrate::run(&settings, instance, cmd).await,
        Command::Bench(cmd) => commands::bench::run(&settings, cmd).await,
        Command::Cache(cmd) => commands::cache::run(&settings, instance, cmd).await,
        Command::Enhance(args) => commands::enhance::run(&settings, instance, args).await,
        Command::Train(args) => commands::train::run(&settings, instance, args).await,
        Command::Model(cmd) => commands::model::run(&settings, instance, cmd).await,
        Command::Seed(args) => commands::seed::run(&settings, instance, args).await,
        Command::Db(cmd) => commands::db::run(&settings, instance, cmd).await,
        Command::Backup(args) => commands::backup::run(&settings, instance, args).await,
        Command::Keys(cmd) => commands::keys::run(&settings, instance, cmd).await,
        Command::Restore(args) => commands::backup::restore(&settings, instance, args).await,
        Command::HashPassword(_) => anyhow::bail!("hash-password runs before the settings are read"),
        Command::Loadgen(_) => anyhow::bail!("loadgen runs before the runtime starts"),
    }
}

/// Logs to stderr: `RUST_LOG` filters (default `info` for `serve`, `warn`
/// otherwise); `BP_LOG_FORMAT=json` writes one JSON object per line. Beside
/// the log, sqlx's slow-statement events are always timed per statement
/// (`bp_store::slow`), whatever `RUST_LOG` says.
fn init_logging(serving: bool) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let default = if serving {
        "info,sqlx=warn"
    } else {
        "warn,sqlx=error"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let log = if std::env::var("BP_LOG_FORMAT").is_ok_and(|v| v == "json") {
        fmt.json().with_filter(filter).boxed()
    } else {
        fmt.compact().with_filter(filter).boxed()
    };
    let slow = bp_store::slow::SlowStatementLayer.with_filter(
        tracing_subscriber::filter::Targets::new().with_target("sqlx::query", tracing::Level::WARN),
    );
    tracing_subscriber::registry().with(log).with(slow).init();
}
