//! `betterprompts migrate up|down|status|new`.

use bp_config::Settings;
use bp_store::PoolSettings;
use bp_store::migrate::{self, MIGRATOR};

use crate::cli::MigrateCommand;
use crate::resolve;

/// Runs one `migrate` subcommand.
pub async fn run(settings: &Settings, instance: Option<&str>, command: MigrateCommand) -> anyhow::Result<u8> {
    if let MigrateCommand::New { name, dir } = &command {
        let (up, down) = migrate::new_migration(dir, name)?;
        println!("created {} and {}", up.display(), down.display());
        return Ok(0);
    }
    let url = resolve::direct_database_url(settings, instance, "migrate").await?;
    let pool = bp_store::connect(url.expose(), &PoolSettings::small()).await?;
    let result = match command {
        MigrateCommand::Up => {
            let applied = migrate::run_up(&pool, &MIGRATOR).await?;
            match (applied.first(), applied.last()) {
                (Some(first), Some(last)) => {
                    println!(
                        "applied {} migrations ({first:04}..{last:04}); schema is current",
                        applied.len()
                    );
                }
                _ => println!("no pending migrations; schema is current"),
            }
            if let Some(done) = super::keys::convert_legacy_rows(settings, &pool).await? {
                println!("encrypted the rows from before PII encryption: {done}");
            }
            0
        }
        MigrateCommand::Down { steps } => {
            let reverted = migrate::run_down(&pool, &MIGRATOR, steps).await?;
            let list: Vec<String> = reverted.iter().map(|v| format!("{v:04}")).collect();
            println!("reverted {} migrations ({})", reverted.len(), list.join(", "));
            0
        }
        MigrateCommand::Status => {
            let all = migrate::status(&pool, &MIGRATOR).await?;
            let pending = all.iter().filter(|m| m.applied_at.is_none()).count();
            for m in &all {
                let when = m.applied_at.map_or("pending".to_owned(), |t| {
                    format!("applied {}", t.format("%Y-%m-%d %H:%M:%S UTC"))
                });
                println!("{:04}  {:<24} {when}", m.version, m.description);
            }
            println!("{} applied, {pending} pending", all.len() - pending);
            0
        }
        MigrateCommand::New { .. } => 0,
    };
    pool.close().await;
    Ok(result)
}
