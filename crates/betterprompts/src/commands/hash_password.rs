//! `betterprompts hash-password [PASSWORD] [--cost N] [--verify HASH]`: the
//! guide's "generate password hashes" tool. Without an argument the password
//! is read from standard input (one line), so it stays out of the shell
//! history; the hash goes to standard output and nothing else does.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::Context;

use crate::cli::HashPasswordArgs;

/// Lowest and highest cost accepted (bcrypt's own range is 4..=31; below 10
/// is only for tests).
pub const COSTS: std::ops::RangeInclusive<u32> = 4..=31;

/// Hashes or verifies; exit 0, or 1 when `--verify` does not match.
pub async fn run(args: HashPasswordArgs) -> anyhow::Result<u8> {
    anyhow::ensure!(
        COSTS.contains(&args.cost),
        "--cost must be {} to {} (12 is the service's default)",
        COSTS.start(),
        COSTS.end()
    );
    let password = match args.password {
        Some(p) => p,
        None => read_password()?,
    };
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    if let Some(hash) = args.verify {
        let matches = bp_api::auth::password::verify(&password, hash.trim())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("{}", if matches { "match" } else { "no match" });
        return Ok(u8::from(!matches));
    }
    let hash = bp_api::auth::password::hash(&password, args.cost)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{hash}");
    Ok(0)
}

/// One line from standard input, without its line ending; prompts on
/// standard error when a person is typing.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
