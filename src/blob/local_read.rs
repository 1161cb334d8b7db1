//! Reading a local store's files for delivery. `object_store` streams a local file in 8 KiB
//! chunks, each one a trip to the blocking pool: a 600 KB photo took 75 trips, a 48 MB video
//! 6,000. Here a body streams in chunks of [`CHUNK_BYTES`], each read in one trip straight into
//! the buffer the response sends; the first is read in the trip that opens the file, so a body
//! of up to one chunk costs a single trip.
//!
//! A chunk is the unit of memory a stalled answer holds: hyper queues body chunks until about
//! 400 KiB wait to be sent, so an answer its client stops reading holds at most about two chunks
//! (512 KiB) until `--write-timeout-secs` cuts it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};

use super::BlobError;

/// Bodies stream in chunks of this size, one blocking read each.
pub(super) const CHUNK_BYTES: u64 = 256 * 1024;

/// An open file and the bytes of the range still to send.
struct Remaining {
    file: File,
    left: u64,
}

/// The bytes of `path` (or `range` of them, clamped to its end) as a stream; a missing file is
/// `NotFound(sha256)`.
pub(super) async fn stream(
    path: PathBuf,
    sha256: &str,
    range: Option<Range<u64>>,
) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
    let opened = blocking(move || open(path, range)).await;
    let (first, rest) = match opened {
        Ok(opened) => opened,
        Err(BlobError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BlobError::NotFound(sha256.to_owned()));
        }
        Err(e) => return Err(e),
    };
    let head = stream::iter((!first.is_empty()).then_some(Ok(first)));
    let Some(rest) = rest else {
        return Ok(head.boxed());
    };
    let tail = stream::try_unfold(rest, |mut rest| async move {
        if rest.left == 0 {
            return Ok(None);
        }
        blocking(move || {
            let chunk = read(&mut rest, CHUNK_BYTES)?;
            Ok(Some((chunk, rest)))
        })
        .await
    });
    Ok(head.chain(tail).boxed())
}

/// Opens the file at the range's start and reads its first chunk; the rest, if any, is read
/// later.
fn open(path: PathBuf, range: Option<Range<u64>>) -> Result<(Bytes, Option<Remaining>), BlobError> {
    let mut file = File::open(&path)?;
    let len = file.metadata()?.len();
    let (start, end) = match range {
        None => (0, len),
        Some(range) => {
            let end = range.end.min(len);
            (range.start.min(end), end)
        }
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start))?;
    }
    let mut rest = Remaining {
        file,
        left: end - start,
    };
    let first = read(&mut rest, CHUNK_BYTES)?;
    Ok((first, (rest.left > 0).then_some(rest)))
}

/// The next `n` bytes (at most what is left); a file shorter than its range is an error, not a
/// short body.
fn read(rest: &mut Remaining, n: u64) -> Result<Bytes, BlobError> {
    let n = n.min(rest.left);
    let capacity = usize::try_from(n).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "a chunk beyond memory")
    })?;
    let mut buf = Vec::with_capacity(capacity);
    (&mut rest.file).take(n).read_to_end(&mut buf)?;
    if buf.len() < capacity {
        return Err(BlobError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "a stored blob ended before its length",
        )));
    }
    rest.left -= n;
    Ok(Bytes::from(buf))
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

    async fn body(path: &std::path::Path, range: Option<Range<u64>>) -> Vec<u8> {
        let chunks: Vec<Bytes> = stream(path.to_path_buf(), "x", range)
            .await
            .expect("open")
            .try_collect()
            .await
            .expect("read");
        chunks.concat()
    }

    #[tokio::test]
    async fn small_and_large_bodies_and_ranges_read_exactly() {
        let dir = tempfile::tempdir().expect("dir");
        let big_len = (3 * CHUNK_BYTES + 17) as usize;
        let content: Vec<u8> = (0..big_len).map(|i| (i % 251) as u8).collect();
        let path = dir.path().join("blob");
        std::fs::write(&path, &content).expect("write");
        assert_eq!(body(&path, None).await, content);
        let cases = [
            0..10,
            0..CHUNK_BYTES,
            0..CHUNK_BYTES + 1,
            5..CHUNK_BYTES + 5,
            1..big_len as u64,
            big_len as u64 - 100..big_len as u64 + 1000,
            big_len as u64..big_len as u64 + 10,
        ];
        for range in cases {
            let end = (range.end as usize).min(big_len);
            let start = (range.start as usize).min(end);
            assert_eq!(
                body(&path, Some(range.clone())).await,
                &content[start..end],
                "{range:?}"
            );
        }
        let missing = stream(dir.path().join("none"), "abc", None).await;
        assert!(matches!(missing, Err(BlobError::NotFound(s)) if s == "abc"));
    }

    #[tokio::test]
    async fn a_file_shorter_than_its_range_is_an_error() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("blob");
        let len = (3 * CHUNK_BYTES) as usize;
        std::fs::write(&path, vec![7u8; len]).expect("write");
        let mut chunks = stream(path.clone(), "x", None).await.expect("open");
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
