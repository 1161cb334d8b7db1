//! Reading a local store's files for delivery. `object_store` streams a local file in 8 KiB
//! chunks, each one a trip to the blocking pool: a 600 KB photo took 75 trips, a 48 MB video
//! 6,000. Here a body is sent as the chunks of [`ContentCache`] (256 KiB at aligned offsets):
//! each chunk the node holds is sent as it is; one it does not is read in one blocking trip
//! straight into the buffer the response sends (the first in the trip that opens the file), and
//! kept in the cache for the next reader.
//!
//! A chunk is the unit of memory a stalled answer holds: hyper queues body chunks until about
//! 400 KiB wait to be sent, so an answer its client stops reading holds at most about two chunks
//! (512 KiB) until `--write-timeout-secs` cuts it — and nothing at all beyond the cache's own
//! when they came from it.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};

use super::BlobError;
use super::content_cache::{CHUNK_BYTES, Chunk, ContentCache, sha256_bytes};
use crate::metrics::{ChunkFrom, METRICS};

/// Where a body is: the blob, the chunk to send next and the bytes still to send.
struct Reading {
    path: PathBuf,
    sha256: [u8; 32],
    cache: Arc<ContentCache>,
    /// Opened at the first chunk the cache does not hold.
    file: Option<File>,
    blob_len: u64,
    next: u64,
    end: u64,
}

/// The bytes of `path`, the blob `sha256` (or `range` of them, clamped to its end), as a
/// stream of chunks from `cache` or read and kept there; a missing file is `NotFound(sha256)`.
pub(super) async fn stream(
    path: PathBuf,
    sha256: &str,
    range: Option<Range<u64>>,
    cache: Arc<ContentCache>,
) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
    let not_found = || BlobError::NotFound(sha256.to_owned());
    let key = sha256_bytes(sha256).ok_or_else(not_found)?;
    let (start, end) = range.map_or((0, u64::MAX), |r| (r.start, r.end));
    let first_index = start / CHUNK_BYTES;
    let mut reading = Reading {
        path,
        sha256: key,
        cache,
        file: None,
        blob_len: 0,
        next: start,
        end,
    };
    let first = match reading.cache.get(&key, first_index) {
        Some(chunk) => {
            METRICS.content_chunk(ChunkFrom::Memory);
            chunk
        }
        None => match reading.open_and_read(first_index).await {
            Ok(Some(chunk)) => chunk,
            // The range starts at or past the end: nothing to send.
            Ok(None) => return Ok(stream::empty().boxed()),
            Err(BlobError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(not_found());
            }
            Err(e) => return Err(e),
        },
    };
    reading.blob_len = first.blob_len;
    reading.end = reading.end.min(first.blob_len);
    if reading.next >= reading.end {
        return Ok(stream::empty().boxed());
    }
    let head = reading.send(first_index, &first);
    let head = stream::iter((!head.is_empty()).then_some(Ok(head)));
    let tail = stream::try_unfold(reading, |mut reading| async move {
        if reading.next >= reading.end {
            return Ok(None);
        }
        let index = reading.next / CHUNK_BYTES;
        let chunk = match reading.cache.get(&reading.sha256, index) {
            Some(chunk) if chunk.blob_len == reading.blob_len => {
                METRICS.content_chunk(ChunkFrom::Memory);
                chunk
            }
            _ => reading.read(index).await?,
        };
        let part = reading.send(index, &chunk);
        Ok(Some((part, reading)))
    });
    Ok(head.chain(tail).boxed())
}

impl Reading {
    /// The part of chunk `index` this body sends, moving on past it.
    fn send(&mut self, index: u64, chunk: &Chunk) -> Bytes {
        let chunk_start = index * CHUNK_BYTES;
        let chunk_end = chunk_start + chunk.bytes.len() as u64;
        let (from, to) = (self.next.max(chunk_start), self.end.min(chunk_end));
        self.next = chunk_end.max(self.next);
        if from >= to {
            return Bytes::new();
        }
        // Both within the chunk, so both fit in usize.
        chunk
            .bytes
            .slice((from - chunk_start) as usize..(to - chunk_start) as usize)
    }

    /// Opens the file and reads chunk `index` in one blocking trip; `None` when the blob ends
    /// before the chunk (or the range) starts.
    async fn open_and_read(&mut self, index: u64) -> Result<Option<Chunk>, BlobError> {
        let path = self.path.clone();
        let next = self.next;
        let (file, chunk) = blocking(move || {
            let file = File::open(&path)?;
            let blob_len = file.metadata()?.len();
            if next >= blob_len {
                return Ok((file, None));
            }
            let bytes = read_chunk(&file, index, blob_len)?;
            Ok((file, Some(Chunk { bytes, blob_len })))
        })
        .await?;
        self.file = Some(file);
        if let Some(chunk) = &chunk {
            METRICS.content_chunk(ChunkFrom::Store);
            self.cache.put(&self.sha256, index, chunk.clone());
        }
        Ok(chunk)
    }

    /// Reads chunk `index` from the file (opened now if the first chunks came from the cache)
    /// and keeps it in the cache.
    async fn read(&mut self, index: u64) -> Result<Chunk, BlobError> {
        let file = self.file.take();
        let path = self.path.clone();
        let blob_len = self.blob_len;
        let (file, bytes) = blocking(move || {
            let file = match file {
                Some(file) => file,
                None => {
                    let file = File::open(&path)?;
                    if file.metadata()?.len() != blob_len {
                        return Err(short_blob());
                    }
                    file
                }
            };
            let bytes = read_chunk(&file, index, blob_len)?;
            Ok((file, bytes))
        })
        .await?;
        self.file = Some(file);
        let chunk = Chunk { bytes, blob_len };
        METRICS.content_chunk(ChunkFrom::Store);
        self.cache.put(&self.sha256, index, chunk.clone());
        Ok(chunk)
    }
}

/// Chunk `index` of a blob of `blob_len` bytes; a file shorter than that is an error, not a
/// short body.
fn read_chunk(file: &File, index: u64, blob_len: u64) -> Result<Bytes, BlobError> {
    let offset = index * CHUNK_BYTES;
    let n = CHUNK_BYTES.min(blob_len.saturating_sub(offset));
    // At most CHUNK_BYTES.
    let mut buf = vec![0u8; n as usize];
    file.read_exact_at(&mut buf, offset).map_err(read_error)?;
    Ok(Bytes::from(buf))
}

/// A read of a stored file that failed: one that found the file's end first is a blob shorter
/// than its length.
pub(super) fn read_error(e: std::io::Error) -> BlobError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        short_blob()
    } else {
        BlobError::Io(e)
    }
}

fn short_blob() -> BlobError {
    BlobError::Io(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "a stored blob ended before its length",
    ))
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e)))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    async fn body(
        path: &std::path::Path,
        range: Option<Range<u64>>,
        cache: &Arc<ContentCache>,
    ) -> Vec<u8> {
        let chunks: Vec<Bytes> = stream(path.to_path_buf(), SHA, range, Arc::clone(cache))
            .await
            .expect("open")
            .try_collect()
            .await
            .expect("read");
        chunks.concat()
    }

    /// Every range of a blob of three chunks and a bit, read through `cache`.
    async fn every_range_reads_exactly(cache: &Arc<ContentCache>) {
        let dir = tempfile::tempdir().expect("dir");
        let big_len = (3 * CHUNK_BYTES + 17) as usize;
        let content: Vec<u8> = (0..big_len).map(|i| (i % 251) as u8).collect();
        let path = dir.path().join("blob");
        std::fs::write(&path, &content).expect("write");
        assert_eq!(body(&path, None, cache).await, content);
        let cases = [
            0..10,
            0..CHUNK_BYTES,
            0..CHUNK_BYTES + 1,
            5..CHUNK_BYTES + 5,
            CHUNK_BYTES - 1..2 * CHUNK_BYTES + 1,
            1..big_len as u64,
            big_len as u64 - 100..big_len as u64 + 1000,
            big_len as u64..big_len as u64 + 10,
            big_len as u64 + 5..big_len as u64 + 10,
            10 * CHUNK_BYTES..11 * CHUNK_BYTES,
        ];
        // Twice: what the first pass kept is read back from the cache the second time.
        for _ in 0..2 {
            for range in cases.clone() {
                let end = (range.end as usize).min(big_len);
                let start = (range.start as usize).min(end);
                assert_eq!(
                    body(&path, Some(range.clone()), cache).await,
                    &content[start..end],
                    "{range:?}"
                );
            }
        }
        // Another blob, neither stored nor held.
        let other = "f".repeat(64);
        let missing = stream(dir.path().join("none"), &other, None, Arc::clone(cache)).await;
        assert!(matches!(missing, Err(BlobError::NotFound(s)) if s == other));
    }

    #[tokio::test]
    async fn small_and_large_bodies_and_ranges_read_exactly() {
        every_range_reads_exactly(&Arc::new(ContentCache::new(0))).await;
        every_range_reads_exactly(&Arc::new(ContentCache::new(64 << 20))).await;
        // A blob larger than a quarter of the cache: every chunk read from the file, none kept.
        let small = Arc::new(ContentCache::new(4 * CHUNK_BYTES));
        every_range_reads_exactly(&small).await;
        assert_eq!(small.bytes(), 0);
    }

    #[tokio::test]
    async fn an_empty_blob_is_an_empty_body() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("blob");
        std::fs::write(&path, b"").expect("write");
        let cache = Arc::new(ContentCache::new(1 << 20));
        assert!(body(&path, None, &cache).await.is_empty());
        assert!(body(&path, Some(0..10), &cache).await.is_empty());
    }

    #[tokio::test]
    async fn a_held_chunk_is_sent_without_reading_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("blob");
        let content = vec![9u8; (CHUNK_BYTES + 10) as usize];
        std::fs::write(&path, &content).expect("write");
        let cache = Arc::new(ContentCache::new(4 << 20));
        assert_eq!(body(&path, None, &cache).await, content);
        assert_eq!(cache.bytes(), content.len() as u64);
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(body(&path, None, &cache).await, content);
        assert_eq!(
            body(&path, Some(3..CHUNK_BYTES + 2), &cache).await,
            &content[3..(CHUNK_BYTES + 2) as usize]
        );
    }

    #[tokio::test]
    async fn a_file_shorter_than_its_range_is_an_error() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("blob");
        let len = (3 * CHUNK_BYTES) as usize;
        std::fs::write(&path, vec![7u8; len]).expect("write");
        let cache = Arc::new(ContentCache::new(0));
        let mut chunks = stream(path.clone(), SHA, None, cache).await.expect("open");
        let first = chunks.try_next().await.expect("first").expect("a chunk");
        assert_eq!(first.len() as u64, CHUNK_BYTES);
        std::fs::write(&path, vec![7u8; 10]).expect("truncate");
        let rest: Result<Vec<Bytes>, _> = chunks.try_collect().await;
        assert!(
            rest.is_err(),
            "a truncated blob ends the body with an error"
        );
    }
}
