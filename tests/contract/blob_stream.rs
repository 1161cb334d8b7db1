//! The blob store contract of `stream`, the reads that answer content requests: a whole blob
//! and byte ranges of it, across the sizes where a store reads in one go or in chunks.

use std::ops::Range;
use std::sync::Arc;

use assetlib::blob::BlobStore;
use futures_util::TryStreamExt;

use crate::backends::per_backend;

async fn streamed(store: &Arc<dyn BlobStore>, sha: &str, range: Option<Range<u64>>) -> Vec<u8> {
    let chunks: Vec<_> = store
        .stream(sha, range.clone())
        .await
        .unwrap_or_else(|e| panic!("stream {range:?}: {e}"))
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("read {range:?}: {e}"));
    chunks.concat()
}

/// Stores `len` bytes of a pattern; their hash and the bytes.
async fn stored(
    store: &Arc<dyn BlobStore>,
    dir: &std::path::Path,
    len: usize,
) -> (String, Vec<u8>) {
    let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let file = dir.join(format!("{len}.bin"));
    std::fs::write(&file, &content).expect("write");
    let sha = {
        use sha2::Digest;
        assetlib::fetch::hex(&sha2::Sha256::digest(&content))
    };
    store.put_file(&sha, &file, "video/mp4").await.expect("put");
    (sha, content)
}

async fn blobs_stream_whole_and_in_ranges(store: Arc<dyn BlobStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    // A small blob, and one of a few MiB (read in chunks by a local store).
    for len in [100_000usize, 3 * 1024 * 1024 + 17] {
        let (sha, content) = stored(&store, dir.path(), len).await;
        assert_eq!(streamed(&store, &sha, None).await, content, "{len} whole");
        let n = len as u64;
        for range in [0..10, 1..n, 500..600_000.min(n), n - 100..n, 12_345..n - 7] {
            let (start, end) = (range.start as usize, range.end as usize);
            assert_eq!(
                streamed(&store, &sha, Some(range.clone())).await,
                &content[start..end],
                "{len} {range:?}"
            );
        }
        // A range past the end is clamped to it.
        assert_eq!(
            streamed(&store, &sha, Some(n - 10..n + 1000)).await,
            &content[len - 10..],
            "{len} clamped"
        );
        store.delete(&sha).await.expect("delete");
    }
    let missing = "0".repeat(64);
    let err = match store.stream(&missing, None).await {
        Ok(stream) => stream.try_collect::<Vec<_>>().await.expect_err("missing"),
        Err(e) => e,
    };
    assert!(err.is_not_found(), "{err}");
}

per_backend!(local: crate::backends::local, s3: crate::backends::s3 => {
    #[tokio::test]
    [blobs_stream_whole_and_in_ranges]
});
