//! Outgoing mail (email verification). There is no SMTP relay in this
//! deployment: messages go to an outbox directory (one `.eml` file each,
//! readable by the operator only) or, in tests, to memory.

use std::path::PathBuf;
use std::sync::Mutex;

/// One message.
#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Where mail goes.
#[derive(Debug)]
pub enum Outbox {
    /// A directory of `.eml` files.
    Dir(PathBuf),
    /// Kept in memory (tests).
    Memory(Mutex<Vec<Mail>>),
}

impl Outbox {
    /// An empty in-memory outbox.
    pub fn memory() -> Self {
        Self::Memory(Mutex::new(Vec::new()))
    }

    /// Delivers `mail`; a failure is logged, never shown to the client.
    pub async fn send(&self, mail: Mail) {
        match self {
            Self::Memory(list) => list
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(mail),
            Self::Dir(dir) => {
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"),
                    uuid::Uuid::new_v4()
                );
                let text = format!("To: {}\nSubject: {}\n\n{}\n", mail.to, mail.subject, mail.body);
                let path = dir.join(name);
                let written = async {
                    tokio::fs::create_dir_all(dir).await?;
                    write_private(&path, text.as_bytes()).await
                };
                if let Err(e) = written.await {
                    tracing::warn!(error = %e, "could not write mail to the outbox");
                }
            }
        }
    }

    /// The messages sent to `to` (in-memory outbox only).
    pub fn sent_to(&self, to: &str) -> Vec<Mail> {
        match self {
            Self::Memory(list) => list
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .filter(|m| m.to.eq_ignore_ascii_case(to))
                .cloned()
                .collect(),
            Self::Dir(_) => Vec::new(),
        }
    }
}

async fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    file.write_all(bytes).await
}
