//! A local store's files mapped into memory for content answers. An answer's body is a series of
//! windows of the mapped file (`Bytes` that own the mapping); the connection finds such a window
//! by its address ([`region_of`]) and sends it with `sendfile` from the open file, so the bytes
//! go from the page cache into the socket without being copied through the process
//! (`server/send.rs`). Anything else that reads a window (an in-process test, say) reads the
//! mapping: the same bytes.
//!
//! `sendfile` reads the disk on the thread that calls it when the file's pages are not in
//! memory, and that thread serves other connections. So before a window is sent, `mincore`
//! tells whether its pages are in memory; those that are not are read in once on the blocking
//! pool (which also finds a file cut shorter than its mapping, as an error).
//!
//! Blobs are named by their content and written once (to a temporary name, then renamed), so a
//! mapping never goes stale. A node keeps the most recently used mappings with their open files
//! (a sixteenth of the open-file limit, at most 256); a blob not kept is opened and mapped in
//! one blocking trip.

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use hashlink::LinkedHashMap;

use super::BlobError;
use super::local_read::read_error;
use crate::metrics::{ChunkFrom, METRICS};

/// A body is sent in windows of at most this many bytes, each checked for being in memory.
pub(super) const WINDOW_BYTES: u64 = 1024 * 1024;
/// The page size `mincore` counts in.
static PAGE: LazyLock<usize> = LazyLock::new(|| {
    // SAFETY: sysconf only reads its argument.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
});

/// How long a window found in memory is taken to stay there before it is looked at again.
const RESIDENT_TRUST: Duration = Duration::from_secs(1);

/// A stored file, open and mapped.
pub(crate) struct MappedFile {
    file: File,
    map: memmap2::Mmap,
    mapped_at: Instant,
    /// For each window of [`WINDOW_BYTES`] at a multiple of it: until when (milliseconds after
    /// `mapped_at`) its pages are taken to be in memory; 0 for not known.
    resident_until: Box<[AtomicU64]>,
}

type Regions = BTreeMap<usize, (usize, Weak<MappedFile>)>;

/// Every live mapping by the address it starts at: its length and the file.
static REGIONS: LazyLock<RwLock<Regions>> = LazyLock::new(|| RwLock::new(BTreeMap::new()));
/// How many there are: a write with none to look for does not take the lock.
static LIVE: AtomicUsize = AtomicUsize::new(0);

impl MappedFile {
    /// Maps `file` (of `len` bytes, at least one) and records the mapping.
    fn map(file: File, len: u64) -> std::io::Result<Arc<Self>> {
        let len = usize::try_from(len).map_err(std::io::Error::other)?;
        // SAFETY: a stored blob is never written in place (it is written to a temporary name
        // and renamed). The server reads a mapping only through the windows it hands out, and
        // the connection sends those with sendfile, which reads the file, not the mapping; a
        // window's pages are read in from the file first, which finds a cut file as an error.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(&file)? };
        let windows = (len as u64).div_ceil(WINDOW_BYTES) as usize;
        let mapped = Arc::new(Self {
            file,
            map,
            mapped_at: Instant::now(),
            resident_until: (0..windows).map(|_| AtomicU64::new(0)).collect(),
        });
        let start = mapped.map.as_ptr() as usize;
        regions_write().insert(start, (len, Arc::downgrade(&mapped)));
        LIVE.fetch_add(1, Ordering::AcqRel);
        Ok(mapped)
    }

    /// The file's length.
    fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// The open file, for `sendfile`.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Bytes `range` of the file (within it), as a window that keeps the mapping.
    fn window(self: &Arc<Self>, range: Range<u64>) -> Bytes {
        // Within the mapping, so both fit in usize.
        Bytes::from_owner(Window {
            file: Arc::clone(self),
            range: range.start as usize..range.end as usize,
        })
    }

    /// Whether the pages of `part` (within one window) are in memory: its whole window is
    /// looked at, at most once per [`RESIDENT_TRUST`] while it is found there (`mincore` walks
    /// the page cache page by page: ~20 µs for a 600 KB photo, a twentieth of its answer).
    /// Within that time a page the kernel drops is read from disk by `sendfile` itself.
    fn in_memory(&self, part: &Range<u64>) -> bool {
        let index = (part.start / WINDOW_BYTES) as usize;
        let Some(until) = self.resident_until.get(index) else {
            return false;
        };
        let now = u64::try_from(self.mapped_at.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        if now < until.load(Ordering::Relaxed) {
            return true;
        }
        let window =
            index as u64 * WINDOW_BYTES..((index as u64 + 1) * WINDOW_BYTES).min(self.len());
        if self.resident(&window) {
            let trust = u64::try_from(RESIDENT_TRUST.as_millis()).unwrap_or(0);
            until.store(now + 1 + trust, Ordering::Relaxed);
            return true;
        }
        self.resident(part)
    }

    /// Whether every page of `range` (within the file) is in memory. An error of `mincore` is
    /// a no: the pages are read in.
    fn resident(&self, range: &Range<u64>) -> bool {
        // Whole pages from the one holding `range.start` (the mapping starts on a page).
        let page = *PAGE;
        let first = range.start as usize / page * page;
        let len = range.end as usize - first;
        let mut pages = vec![0u8; len.div_ceil(page)];
        // SAFETY: the address is page-aligned and the span lies within this live mapping;
        // `pages` has an entry for each page of it.
        let done = unsafe {
            libc::mincore(
                self.map.as_ptr().add(first).cast_mut().cast(),
                len,
                pages.as_mut_ptr(),
            )
        };
        done == 0 && pages.iter().all(|page| page & 1 == 1)
    }

    /// Reads `range` (within the file) into memory; the file ending before it is an error.
    fn load(&self, range: Range<u64>) -> Result<(), BlobError> {
        let mut scratch = vec![0u8; 256 * 1024];
        let mut at = range.start;
        while at < range.end {
            // At most the scratch's length.
            let n = (range.end - at).min(scratch.len() as u64) as usize;
            self.file
                .read_exact_at(&mut scratch[..n], at)
                .map_err(read_error)?;
            at += n as u64;
        }
        Ok(())
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        regions_write().remove(&(self.map.as_ptr() as usize));
        LIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("len", &self.len())
            .finish()
    }
}

/// A window of a mapped file: what a content answer's body holds.
struct Window {
    file: Arc<MappedFile>,
    range: Range<usize>,
}

impl AsRef<[u8]> for Window {
    fn as_ref(&self) -> &[u8] {
        &self.file.map[self.range.clone()]
    }
}

/// The mapped file that `bytes` lie in, and their offset in it; `None` for any other memory.
/// While `bytes` are alive so is their mapping (the window that holds them holds it).
pub(crate) fn region_of(bytes: &[u8]) -> Option<(Arc<MappedFile>, u64)> {
    if LIVE.load(Ordering::Acquire) == 0 || bytes.is_empty() {
        return None;
    }
    let at = bytes.as_ptr() as usize;
    let regions = REGIONS.read().unwrap_or_else(|e| e.into_inner());
    let (&start, (len, file)) = regions.range(..=at).next_back()?;
    if at + bytes.len() > start + len {
        return None;
    }
    Some((file.upgrade()?, (at - start) as u64))
}

fn regions_write() -> std::sync::RwLockWriteGuard<'static, Regions> {
    REGIONS.write().unwrap_or_else(|e| e.into_inner())
}

/// Bytes `range` of `file` (clamped to its end), as windows that end at multiples of
/// [`WINDOW_BYTES`] (or the range's end), each read into memory on the blocking pool first
/// unless it already is.
pub(super) fn windows(
    file: Arc<MappedFile>,
    range: Range<u64>,
) -> BoxStream<'static, Result<Bytes, BlobError>> {
    let end = range.end.min(file.len());
    let start = range.start.min(end);
    stream::try_unfold((file, start), move |(file, next)| async move {
        if next >= end {
            return Ok(None);
        }
        // To the end of the window that `next` is in.
        let part = next..((next / WINDOW_BYTES + 1) * WINDOW_BYTES).min(end);
        if file.in_memory(&part) {
            METRICS.content_chunk(ChunkFrom::PageCache);
        } else {
            let (file, part) = (Arc::clone(&file), part.clone());
            tokio::task::spawn_blocking(move || file.load(part))
                .await
                .map_err(|e| BlobError::Io(std::io::Error::other(e)))??;
            METRICS.content_chunk(ChunkFrom::Store);
        }
        let window = file.window(part.clone());
        Ok(Some((window, (file, part.end))))
    })
    .boxed()
}

/// The node's most recently used mappings, by blob.
#[derive(Debug)]
pub(crate) struct MappedFiles {
    files: Mutex<LinkedHashMap<[u8; 32], Arc<MappedFile>>>,
    /// How many are kept.
    capacity: usize,
}

impl Default for MappedFiles {
    /// Keeps a sixteenth of the process's open-file limit (between 16 and 256): each mapping
    /// kept holds a descriptor, and the accept loop counts them against its reserve.
    fn default() -> Self {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct passed.
        let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
        let open_files = if known { limit.rlim_cur } else { 1024 };
        Self::with_capacity(
            usize::try_from(open_files / 16)
                .unwrap_or(usize::MAX)
                .clamp(16, super::CONTENT_FILES_KEPT_OPEN_MAX),
        )
    }
}

impl MappedFiles {
    /// Keeps up to `capacity` mappings.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            files: Mutex::new(LinkedHashMap::new()),
            capacity,
        }
    }

    /// The blob `sha256` stored at `path`, mapped (and kept for the next answer); `None` for
    /// an empty file, which has nothing to map.
    pub(super) async fn open(
        &self,
        sha256: &[u8; 32],
        path: &Path,
    ) -> std::io::Result<Option<Arc<MappedFile>>> {
        if let Some(file) = self.lock().to_back(sha256).cloned() {
            return Ok(Some(file));
        }
        let path = path.to_owned();
        let mapped = tokio::task::spawn_blocking(move || {
            let file = File::open(&path)?;
            let len = file.metadata()?.len();
            if len == 0 {
                return Ok(None);
            }
            MappedFile::map(file, len).map(Some)
        })
        .await
        .map_err(std::io::Error::other)??;
        if let Some(file) = &mapped {
            let mut files = self.lock();
            files.insert(*sha256, Arc::clone(file));
            while files.len() > self.capacity {
                files.pop_front();
            }
        }
        Ok(mapped)
    }

    /// Lets go of the blob's mapping (its file was removed): once the answers sending it end,
    /// its space is free.
    pub(super) fn forget(&self, sha256: &[u8; 32]) {
        self.lock().remove(sha256);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LinkedHashMap<[u8; 32], Arc<MappedFile>>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    const SHA: [u8; 32] = [7; 32];

    fn stored(len: usize) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().expect("dir");
        let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let path = dir.path().join("blob");
        std::fs::write(&path, &content).expect("write");
        (dir, path, content)
    }

    /// `path` mapped as the blob `sha256` by `files`.
    async fn mapped(files: &MappedFiles, sha256: &[u8; 32], path: &Path) -> Arc<MappedFile> {
        files
            .open(sha256, path)
            .await
            .expect("open")
            .expect("mapped")
    }

    #[tokio::test]
    async fn every_range_reads_exactly_in_windows() {
        let window = WINDOW_BYTES as usize;
        let (_dir, path, content) = stored(2 * window + 4097);
        let files = MappedFiles::default();
        let file = mapped(&files, &SHA, &path).await;
        let len = content.len() as u64;
        let cases = [
            0..u64::MAX,
            0..10,
            4095..4097,
            5..WINDOW_BYTES + 5,
            WINDOW_BYTES - 1..2 * WINDOW_BYTES + 1,
            len - 100..len + 1000,
            len..len + 10,
            len + 5..len + 10,
        ];
        for range in cases {
            let windows: Vec<Bytes> = windows(Arc::clone(&file), range.clone())
                .try_collect()
                .await
                .expect("read");
            for w in &windows {
                assert!(!w.is_empty());
                // Within one window of the file.
                let (_, offset) = region_of(w).expect("a window of the file");
                let last = offset + w.len() as u64 - 1;
                assert_eq!(offset / WINDOW_BYTES, last / WINDOW_BYTES, "{range:?}");
            }
            let end = range.end.min(len) as usize;
            let start = (range.start as usize).min(end);
            assert_eq!(windows.concat(), &content[start..end], "{range:?}");
        }
    }

    #[tokio::test]
    async fn a_window_is_found_by_its_address_while_it_lives() {
        let (_dir, path, _) = stored(3 * 4096 + 5);
        let files = MappedFiles::default();
        let file = mapped(&files, &SHA, &path).await;
        let window = file.window(100..2 * 4096);
        let (found, offset) = region_of(&window).expect("a mapped window");
        assert!(Arc::ptr_eq(&found, &file));
        assert_eq!(offset, 100);
        let (_, offset) = region_of(&window[10..20]).expect("a part of it");
        assert_eq!(offset, 110);
        // Other memory is not a window.
        let copy = window.to_vec();
        assert!(region_of(&copy).is_none());
        // The same blob again: the mapping kept.
        let again = mapped(&files, &SHA, &path).await;
        assert!(Arc::ptr_eq(&again, &file));
        // Once its last window and the cache let it go, it is no longer recorded (another
        // test's mapping may take its addresses).
        let weak = Arc::downgrade(&file);
        drop((found, again, file, window, files));
        assert!(weak.upgrade().is_none());
        let regions = REGIONS.read().unwrap_or_else(|e| e.into_inner());
        assert!(!regions.values().any(|(_, w)| w.ptr_eq(&weak)));
    }

    #[tokio::test]
    async fn the_least_recently_used_mapping_is_let_go_first() {
        let (dir, path, _) = stored(10);
        let files = MappedFiles::with_capacity(2);
        let first = mapped(&files, &[1; 32], &path).await;
        let second = mapped(&files, &[2; 32], &path).await;
        // The first becomes the most recently used; a third pushes out the second.
        let again = mapped(&files, &[1; 32], &path).await;
        assert!(Arc::ptr_eq(&again, &first));
        let other = dir.path().join("other");
        std::fs::write(&other, b"other").expect("write");
        mapped(&files, &[3; 32], &other).await;
        assert_eq!(files.lock().len(), 2);
        let reopened = mapped(&files, &[2; 32], &path).await;
        assert!(!Arc::ptr_eq(&reopened, &second), "mapped anew");
        // A removed blob's mapping is let go at once.
        files.forget(&[2; 32]);
        let again = mapped(&files, &[2; 32], &path).await;
        assert!(!Arc::ptr_eq(&again, &reopened), "mapped anew after forget");
        assert!(MappedFiles::default().capacity >= 16);
    }

    #[tokio::test]
    async fn an_empty_or_missing_file_maps_nothing() {
        let (dir, path, _) = stored(0);
        let files = MappedFiles::default();
        assert!(files.open(&SHA, &path).await.expect("open").is_none());
        let missing = files.open(&[1; 32], &dir.path().join("none")).await;
        assert!(matches!(missing, Err(e) if e.kind() == std::io::ErrorKind::NotFound));
    }

    #[tokio::test]
    async fn a_file_cut_shorter_than_its_mapping_ends_the_body_with_an_error() {
        let (_dir, path, _) = stored(3 * WINDOW_BYTES as usize);
        let files = MappedFiles::default();
        let file = mapped(&files, &SHA, &path).await;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(10))
            .expect("cut");
        // The cut pages are not in memory: reading them in finds the end, and nothing reads
        // the mapping past it.
        let read: Result<Vec<Bytes>, _> = windows(file, 0..u64::MAX).try_collect().await;
        assert!(read.is_err(), "a cut file ends the body with an error");
    }
}
