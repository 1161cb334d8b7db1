//! Bytes written to a temp file as they arrive, whoever sends them (a source server, a client's
//! upload): sha256 and the first `HEAD_BYTES` computed on the way, a cap enforced on the running
//! count. The temp file is removed when the spool or the file it becomes is dropped.

use std::path::Path;

use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

use super::{FetchError, FetchedFile, HEAD_BYTES, hex};

pub struct Spool {
    out: tokio::fs::File,
    path: TempPath,
    hasher: Sha256,
    head: Vec<u8>,
    bytes: u64,
    max_bytes: u64,
}

fn local(e: std::io::Error) -> FetchError {
    FetchError::LocalIo(e.into())
}

impl Spool {
    /// A new temp file `{prefix}*` in `tmp_dir` taking at most `max_bytes`.
    pub fn create(tmp_dir: &Path, prefix: &str, max_bytes: u64) -> Result<Self, FetchError> {
        let temp = tempfile::Builder::new()
            .prefix(prefix)
            .tempfile_in(tmp_dir)
            .map_err(local)?;
        let (file, path) = temp.into_parts();
        Ok(Self {
            out: tokio::fs::File::from_std(file),
            path,
            hasher: Sha256::new(),
            head: Vec::new(),
            bytes: 0,
            max_bytes,
        })
    }

    /// Lowers (or raises) the cap; bytes already written over it fail the next write or `finish`.
    pub fn set_limit(&mut self, max_bytes: u64) {
        self.max_bytes = max_bytes;
    }

    pub fn limit(&self) -> u64 {
        self.max_bytes
    }

    /// Appends `chunk`; refuses it (`TooLarge`) when the running count passes the cap.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), FetchError> {
        self.bytes += chunk.len() as u64;
        self.check()?;
        self.hasher.update(chunk);
        if self.head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.out.write_all(chunk).await.map_err(local)
    }

    fn check(&self) -> Result<(), FetchError> {
        if self.bytes > self.max_bytes {
            return Err(FetchError::TooLarge {
                limit: self.max_bytes,
                declared: None,
            });
        }
        Ok(())
    }

    /// The whole file, flushed, with its hash and head.
    pub async fn finish(mut self) -> Result<FetchedFile, FetchError> {
        self.check()?;
        self.out.flush().await.map_err(local)?;
        Ok(FetchedFile {
            path: self.path,
            sha256: hex(&self.hasher.finalize()),
            bytes: self.bytes,
            head: self.head,
        })
    }
}

/// Writes and removes a small file `name` in `dir`: whether the directory can take a write now
/// (a full disk answers `StorageFull`). Written with `std::fs` on the blocking pool, so the
/// write's own error is the answer.
pub async fn probe_write(dir: &Path, name: &str) -> std::io::Result<()> {
    let path = dir.join(name);
    tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        let written = std::fs::File::create(&path).and_then(|mut file| {
            file.write_all(&[0_u8; 512])?;
            file.sync_data()
        });
        let removed = std::fs::remove_file(&path);
        written?;
        removed
    })
    .await
    .map_err(std::io::Error::other)?
}
