//! Progress for long-running commands: an indicatif spinner on a terminal,
//! plain step lines otherwise (CI logs); a one-line summary at the end.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner, or plain lines when stderr is not a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts with `message`.
    pub fn start(message: &str) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(100));
            bar.set_message(message.to_owned());
            Self { bar: Some(bar) }
        } else {
            eprintln!("{message}");
            Self { bar: None }
        }
    }

    /// Reports the current step.
    pub fn step(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_owned()),
            None => eprintln!("  {message}"),
        }
    }

    /// Clears the spinner and prints the summary line on stdout.
    pub fn finish(self, summary: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        println!("{summary}");
    }

    /// Like [`Progress::finish`], but the summary goes to stderr: for
    /// commands whose stdout is a machine-readable report (`bench --json`).
    pub fn finish_on_stderr(self, summary: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        eprintln!("{summary}");
    }
}

/// A counting bar for a step of known length (a line on stderr instead when
/// it is not a terminal).
pub fn bar(len: u64, message: &str) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(len)
    } else {
        eprintln!("  {message} ({len})");
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("  {msg} {bar:30} {pos}/{len} [{elapsed}]") {
        bar.set_style(style);
    }
    bar.set_message(message.to_owned());
    bar
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
