//! A node's cache of stored bytes for content answers: chunks of [`CHUNK_BYTES`] at aligned
//! offsets, keyed by the blob's sha256 and the chunk's index, the least recently used dropped
//! first once they exceed the budget (`--content-cache-mib`).
//!
//! A blob is named by its content, so a chunk never goes stale: the asset's row is read (and
//! its tenancy or signature checked) on every request as before; only the bytes come from here.
//! An answer sends the cached chunks themselves (`Bytes` are shared, not copied), so a hit
//! costs neither a read into a new buffer nor a trip to the blocking pool, and an answer its
//! client stops reading holds nothing beyond the cache's own chunks.

use std::sync::Mutex;

use bytes::Bytes;
use hashlink::LinkedHashMap;

use crate::metrics::METRICS;

/// Chunks are this large (the last of a blob may be shorter), at multiples of it.
pub(super) const CHUNK_BYTES: u64 = 256 * 1024;

/// A blob's sha256 and a chunk's index in it.
type Key = ([u8; 32], u64);

/// A cached chunk, with the length of the whole blob it came from.
#[derive(Clone)]
pub(super) struct Chunk {
    pub bytes: Bytes,
    pub blob_len: u64,
}

/// Chunks of stored blobs, at most `budget` bytes of them.
#[derive(Debug)]
pub struct ContentCache {
    budget: u64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Least recently used first.
    chunks: LinkedHashMap<Key, Chunk>,
    bytes: u64,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("chunks", &self.chunks.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl ContentCache {
    /// A cache of at most `budget` bytes; `0` keeps nothing.
    pub fn new(budget: u64) -> Self {
        Self {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Bytes held now.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// The chunk `index` of the blob `sha256`, if held (it becomes the most recently used).
    pub(super) fn get(&self, sha256: &[u8; 32], index: u64) -> Option<Chunk> {
        if self.budget == 0 {
            return None;
        }
        self.lock().chunks.to_back(&(*sha256, index)).cloned()
    }

    /// Keeps `chunk` as chunk `index` of `sha256`, dropping the least recently used chunks
    /// until the budget holds. A chunk of a blob larger than a quarter of the budget is not
    /// kept: one long video read from end to end would otherwise push out everything else and
    /// be gone itself before it is read again.
    pub(super) fn put(&self, sha256: &[u8; 32], index: u64, chunk: Chunk) {
        let len = chunk.bytes.len() as u64;
        if chunk.blob_len > self.budget / 4 {
            return;
        }
        let mut inner = self.lock();
        if let Some(old) = inner.chunks.insert((*sha256, index), chunk) {
            inner.bytes -= old.bytes.len() as u64;
        }
        inner.bytes += len;
        while inner.bytes > self.budget {
            let Some((_, dropped)) = inner.chunks.pop_front() else {
                break;
            };
            inner.bytes -= dropped.bytes.len() as u64;
        }
        METRICS
            .content_cache_bytes
            .set(i64::try_from(inner.bytes).unwrap_or(i64::MAX));
    }

    /// The map; a panic elsewhere while it was held left it consistent (every change above
    /// completes before the lock is released), so a poisoned lock is used as it is.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The 32 bytes of a sha256 written in 64 hex digits; `None` for anything else.
pub(super) fn sha256_bytes(hex: &str) -> Option<[u8; 32]> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let nibble = |d: u8| match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(len: usize, fill: u8) -> Chunk {
        Chunk {
            bytes: Bytes::from(vec![fill; len]),
            blob_len: 75,
        }
    }

    #[test]
    fn keeps_the_most_recently_used_within_the_budget() {
        let cache = ContentCache::new(300);
        let (a, b) = ([1u8; 32], [2u8; 32]);
        cache.put(&a, 0, chunk(100, 1));
        cache.put(&a, 1, chunk(100, 2));
        cache.put(&b, 0, chunk(100, 3));
        assert_eq!(cache.bytes(), 300);
        // a/0 used again: a/1 is now the one used longest ago.
        assert!(cache.get(&a, 0).is_some());
        cache.put(&b, 1, chunk(100, 4));
        assert_eq!(cache.bytes(), 300);
        assert!(
            cache.get(&a, 1).is_none(),
            "the least recently used went first"
        );
        assert_eq!(cache.get(&a, 0).map(|c| c.bytes[0]), Some(1));
        assert_eq!(cache.get(&b, 0).map(|c| c.bytes[0]), Some(3));
        assert_eq!(cache.get(&b, 1).map(|c| c.bytes[0]), Some(4));
        // The same chunk again replaces it without counting it twice.
        cache.put(&b, 1, chunk(100, 5));
        assert_eq!(cache.bytes(), 300);
        // Of a blob larger than a quarter of the budget: not kept, nothing dropped.
        let big = Chunk {
            bytes: Bytes::from(vec![6; 10]),
            blob_len: 76,
        };
        cache.put(&b, 2, big);
        assert!(cache.get(&b, 2).is_none());
        assert_eq!(cache.bytes(), 300);
    }

    #[test]
    fn a_budget_of_zero_keeps_nothing() {
        let cache = ContentCache::new(0);
        cache.put(&[0; 32], 0, chunk(1, 0));
        assert!(cache.get(&[0; 32], 0).is_none());
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn reads_a_sha256_in_hex() {
        let hex = "00ff10".to_owned() + &"a".repeat(58);
        let bytes = sha256_bytes(&hex).expect("64 hex digits");
        assert_eq!(&bytes[..3], &[0x00, 0xff, 0x10]);
        assert_eq!(bytes[31], 0xaa);
        assert!(sha256_bytes("abc").is_none());
        assert!(
            sha256_bytes(&"A".repeat(64)).is_none(),
            "stored names are lower case"
        );
        assert!(sha256_bytes(&"g".repeat(64)).is_none());
    }
}
