//! Probe benchmark: time and peak extra heap per probe, for large files of each type.
//!
//! `cargo run --release --example probe_bench [-- DIR]` generates (once, with ffmpeg and the
//! `image` crate) a ~50 MB 720p mp4, a ~30 MB JPEG, a ~15 MB WAV and a ~15 MB MP3 without a
//! Xing header, then probes each 21 times and prints a Markdown table (see docs/PERFORMANCE.md).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assetlib::domain::AssetType;
use assetlib::probe::{probe, sniff};

/// Counts live heap bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg (Debian package) is installed");
    assert!(status.success(), "ffmpeg failed for {}", out.display());
}

fn noise_jpeg(path: &Path) {
    let mut state = 0x9e3779b97f4a7c15u64;
    let img = image::RgbImage::from_fn(4400, 3300, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let v = state.to_le_bytes();
        image::Rgb([v[0], v[1], v[2]])
    });
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .encode_image(&img)
        .expect("jpeg");
    std::fs::write(path, out.into_inner()).expect("write jpeg");
}

fn generate(dir: &Path) -> Vec<(&'static str, AssetType, PathBuf)> {
    std::fs::create_dir_all(dir).expect("bench dir");
    let files = vec![
        (
            "50 MB mp4 (720p, 15 s, moov at end)",
            AssetType::Video,
            dir.join("big.mp4"),
        ),
        (
            "30 MB JPEG (4400×3300)",
            AssetType::Image,
            dir.join("big.jpg"),
        ),
        (
            "15 MB WAV (48 kHz stereo, 78 s)",
            AssetType::Audio,
            dir.join("big.wav"),
        ),
        (
            "15 MB MP3 (no Xing header: frame walk)",
            AssetType::Audio,
            dir.join("big.mp3"),
        ),
    ];
    if !files[0].2.exists() {
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=1280x720:rate=30",
                "-vf",
                "noise=alls=60:allf=t+u",
                "-t",
                "15",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-b:v",
                "29M",
                "-maxrate",
                "29M",
                "-bufsize",
                "4M",
                "-pix_fmt",
                "yuv420p",
            ],
            &files[0].2,
        );
    }
    if !files[1].2.exists() {
        noise_jpeg(&files[1].2);
    }
    if !files[2].2.exists() {
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=78",
                "-ar",
                "48000",
                "-ac",
                "2",
                "-c:a",
                "pcm_s16le",
            ],
            &files[2].2,
        );
    }
    if !files[3].2.exists() {
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=400",
                "-c:a",
                "libmp3lame",
                "-b:a",
                "320k",
                "-write_xing",
                "0",
            ],
            &files[3].2,
        );
    }
    files
}

fn probe_once(asset_type: AssetType, path: &Path) -> (Duration, usize) {
    let len = std::fs::metadata(path).expect("meta").len();
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = Instant::now();
    let mut file = std::fs::File::open(path).expect("open");
    let mut head = vec![0u8; 64 * 1024];
    let n = std::io::Read::read(&mut file, &mut head).expect("head");
    let format = sniff(&head[..n]).format;
    drop(head);
    let probed = probe(asset_type, &format, &mut file, len, "bench").expect("probe succeeds");
    let took = started.elapsed();
    let extra = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    std::hint::black_box(probed);
    (took, extra)
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("assetlib-probe-bench"));
    let files = generate(&dir);
    println!("| file | size | probe p50 | probe max | peak extra heap |");
    println!("|---|---|---|---|---|");
    for (label, asset_type, path) in files {
        let size = std::fs::metadata(&path).expect("meta").len();
        let mut times = Vec::new();
        let mut peak = 0;
        for _ in 0..21 {
            let (t, extra) = probe_once(asset_type, &path);
            times.push(t);
            peak = peak.max(extra);
        }
        times.sort();
        println!(
            "| {label} | {:.1} MB | {:.2} ms | {:.2} ms | {:.2} MB |",
            size as f64 / 1048576.0,
            times[times.len() / 2].as_secs_f64() * 1000.0,
            times[times.len() - 1].as_secs_f64() * 1000.0,
            peak as f64 / 1048576.0
        );
    }
}
