//! Fetching source URLs: an SSRF-safe HTTP client with size and time caps that hashes the
//! bytes while streaming them to a temp file; and webhook deliveries, sent through the same guard.

mod error;
pub mod guard;
mod http;
mod spool;
mod webhook;

use async_trait::async_trait;
use tempfile::TempPath;
use url::Url;

pub use error::{FetchError, LocalIo};
pub use guard::{AddressPolicy, NameLookup, StaticLookup, SystemLookup};
pub use http::{HttpFetcher, install_crypto_provider};
pub use spool::{Spool, probe_write};
pub use webhook::{Answered, HttpWebhookSender, NotAnswered, WEBHOOK_TIMEOUT, WebhookSender};

/// How many leading bytes a fetch keeps in memory for sniffing.
pub const HEAD_BYTES: usize = 64 * 1024;

/// A downloaded file: removed from disk when dropped, unless persisted elsewhere first.
#[derive(Debug)]
pub struct FetchedFile {
    pub path: TempPath,
    /// Lowercase hex sha256 of the content.
    pub sha256: String,
    pub bytes: u64,
    /// The first `HEAD_BYTES` bytes (fewer for a smaller file).
    pub head: Vec<u8>,
}

/// Downloads a URL into a temp file, refusing anything larger than `max_bytes`.
#[async_trait]
pub trait Fetcher: Send + Sync {
    async fn fetch(&self, url: &Url, max_bytes: u64) -> Result<FetchedFile, FetchError>;
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
