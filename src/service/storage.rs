//! Whether this node can write where uploads go — its temp directory and its blob store —, for
//! readiness: a node whose disk is full answers every upload `insufficient-storage`, so a load
//! balancer should send them elsewhere. Each check writes and removes a small probe file; the
//! answer is kept for `STORAGE_CHECK_TTL`, so probes of `/readyz` cost at most one write each
//! few seconds.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::blob::{BlobError, BlobStore};

/// How long a check's answer is reused.
pub const STORAGE_CHECK_TTL: Duration = Duration::from_secs(2);

/// Whether a place can take a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writable {
    Yes,
    /// No space left (ENOSPC) or a disk quota reached.
    Full(String),
    /// Any other failure (permissions, a vanished directory, the store down).
    Failed(String),
}

impl Writable {
    pub fn is_yes(&self) -> bool {
        matches!(self, Writable::Yes)
    }

    /// `ok`, `full` or `unavailable`, as `/readyz` spells it.
    pub fn word(&self) -> &'static str {
        match self {
            Writable::Yes => "ok",
            Writable::Full(_) => "full",
            Writable::Failed(_) => "unavailable",
        }
    }

    /// The cause, when not writable.
    pub fn cause(&self) -> Option<&str> {
        match self {
            Writable::Yes => None,
            Writable::Full(cause) | Writable::Failed(cause) => Some(cause),
        }
    }

    fn of_io(what: &str, e: &std::io::Error) -> Self {
        match e.kind() {
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
                Writable::Full(format!("{what} is full: no space left on the device ({e})"))
            }
            _ => Writable::Failed(format!("{what} cannot be written: {e}")),
        }
    }
}

/// The last check: the temp directory and the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageStatus {
    pub tmp_dir: Writable,
    pub blob_store: Writable,
}

#[derive(Clone)]
pub struct StorageCheck {
    tmp_dir: PathBuf,
    blobs: Arc<dyn BlobStore>,
    last: Arc<Mutex<Option<(Instant, StorageStatus)>>>,
}

impl StorageCheck {
    pub fn new(tmp_dir: PathBuf, blobs: Arc<dyn BlobStore>) -> Self {
        Self {
            tmp_dir,
            blobs,
            last: Arc::default(),
        }
    }

    /// The status, checked again when the last check is older than `STORAGE_CHECK_TTL`
    /// (concurrent callers wait for one check).
    pub async fn status(&self) -> StorageStatus {
        let mut last = self.last.lock().await;
        if let Some((at, status)) = &*last
            && at.elapsed() < STORAGE_CHECK_TTL
        {
            return status.clone();
        }
        let status = self.check().await;
        *last = Some((Instant::now(), status.clone()));
        status
    }

    async fn check(&self) -> StorageStatus {
        let name = format!(".write-probe-{}", std::process::id());
        let tmp_dir = match crate::fetch::probe_write(&self.tmp_dir, &name).await {
            Ok(()) => Writable::Yes,
            Err(e) => Writable::of_io("the temp directory", &e),
        };
        let blob_store = match self.blobs.probe_write().await {
            Ok(()) => Writable::Yes,
            Err(BlobError::Io(e)) => Writable::of_io("the blob store", &e),
            Err(e) => Writable::Failed(format!("the blob store cannot be written: {e}")),
        };
        if let Some(cause) = tmp_dir.cause().or(blob_store.cause()) {
            tracing::warn!("readiness: {cause}");
        }
        StorageStatus {
            tmp_dir,
            blob_store,
        }
    }
}
