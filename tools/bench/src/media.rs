//! The bench's media: a ~1 MB 1080p JPEG made with the `image` crate, and a ~46 MB 720p
//! H.264 MP4 made once with ffmpeg (the smoke run's short clip is encoded in-process, so CI
//! needs no ffmpeg); all cached in the work directory and served by an in-memory origin.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use assetlib_test_support::Origin;
use assetlib_test_support::media::Clip;

/// An origin serving these files (name, path, content type) from memory; every import asks for
/// a distinct variant (`Origin::url`), so nothing is deduplicated away.
pub async fn serve(files: &[(&str, &Path, &str)]) -> anyhow::Result<Origin> {
    let origin = Origin::try_start().await.context("starting the origin")?;
    for (name, path, content_type) in files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        origin.put(name, bytes, content_type);
    }
    Ok(origin)
}

/// A 1920×1080 photo-like JPEG of about 1 MB: smooth gradients under fine noise.
pub fn photo_jpeg(work: &Path) -> anyhow::Result<PathBuf> {
    let path = work.join("photo-1080p.jpg");
    if path.exists() {
        return Ok(path);
    }
    let mut seed: u32 = 0x9E37_79B9;
    let img = image::RgbImage::from_fn(1920, 1080, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 24) as i32 - 12;
        let fx = x as f32 / 1920.0;
        let fy = y as f32 / 1080.0;
        let base = [
            120.0 + 100.0 * (fx * 6.0).sin() * (fy * 3.0).cos(),
            110.0 + 90.0 * (fy * 5.0 + fx).sin(),
            100.0 + 80.0 * ((fx + fy) * 4.0).cos(),
        ];
        image::Rgb(base.map(|c| (c as i32 + noise).clamp(0, 255) as u8))
    });
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 88).encode_image(&img)?;
    Ok(path)
}

/// The photographs of time-to-active and face-check, then the synthetic 1080p image as its
/// own group: `dir`'s JPEGs (grouped by size), else the default set of `scripts/face-eval.sh`,
/// else the committed test photos enlarged to 1920×1080 and 4000×3000.
pub fn photo_set(work: &Path, dir: Option<&Path>) -> anyhow::Result<Vec<crate::face::Photo>> {
    let default = std::env::temp_dir().join("assetlib-face-eval/bench");
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| default.is_dir().then_some(default));
    let mut files: Vec<PathBuf> = match &dir {
        Some(dir) => std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("jpg")))
            .collect(),
        None => enlarged_fixtures(work)?,
    };
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no photographs found");
    let mut photos = Vec::new();
    for path in files {
        let (w, h) = image::image_dimensions(&path)?;
        let size = if w.max(h) >= 3000 { "4K+" } else { "1080p" };
        photos.push(crate::face::Photo {
            group: format!("real photos {size}"),
            path,
        });
    }
    photos.push(crate::face::Photo {
        path: photo_jpeg(work)?,
        group: "synthetic 1080p (gradients under noise)".to_owned(),
    });
    Ok(photos)
}

/// The committed test photos (tests/fixtures/photos).
fn fixtures() -> anyhow::Result<Vec<PathBuf>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/photos");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&src).with_context(|| format!("reading {}", src.display()))? {
        out.push(entry?.path());
    }
    out.sort();
    Ok(out)
}

/// The committed test photos on 1920×1080 and 4000×3000 canvases.
fn enlarged_fixtures(work: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in fixtures()? {
        for (w, h) in [(1920u32, 1080u32), (4000, 3000)] {
            out.push(enlarged(work, &path, w, h)?);
        }
    }
    Ok(out)
}

/// `path` centred on a `w`×`h` canvas as a JPEG of quality 90 (cached in `work`).
fn enlarged(work: &Path, path: &Path, w: u32, h: u32) -> anyhow::Result<PathBuf> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let to = work.join(format!("fixture-{stem}-{w}x{h}.jpg"));
    if to.exists() {
        return Ok(to);
    }
    let img = image::open(path)?.to_rgb8();
    let s = f64::from(w) / f64::from(img.width()).max(1.0);
    let s = s.min(f64::from(h) / f64::from(img.height()).max(1.0));
    let (nw, nh) = (
        (f64::from(img.width()) * s) as u32,
        (f64::from(img.height()) * s) as u32,
    );
    let big = image::imageops::resize(&img, nw, nh, image::imageops::FilterType::CatmullRom);
    let mut canvas = image::RgbImage::from_pixel(w, h, image::Rgb([118, 118, 118]));
    image::imageops::overlay(
        &mut canvas,
        &big,
        i64::from((w - nw) / 2),
        i64::from((h - nh) / 2),
    );
    let mut file = std::io::BufWriter::new(std::fs::File::create(&to)?);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, 90).encode_image(&canvas)?;
    Ok(to)
}

/// The content scenario's photo: of the committed photos enlarged to 1920×1080 and to
/// 2560×1440, the JPEG nearest 600 KB.
pub fn content_photo(work: &Path) -> anyhow::Result<PathBuf> {
    let mut best: Option<(u64, PathBuf)> = None;
    for path in fixtures()? {
        for (w, h) in [(1920, 1080), (2560, 1440)] {
            let jpeg = enlarged(work, &path, w, h)?;
            let off = std::fs::metadata(&jpeg)?.len().abs_diff(600_000);
            if best.as_ref().is_none_or(|(b, _)| off < *b) {
                best = Some((off, jpeg));
            }
        }
    }
    best.map(|(_, p)| p)
        .ok_or_else(|| anyhow::anyhow!("no committed test photos"))
}

/// The content scenario's video, about 48 MB: 1280×720 H.264 made in-process (OpenH264, no
/// ffmpeg), every frame a keyframe of a committed photo under film grain, as many frames as reach 48 MB at a
/// frame rate (30–60 fps) that keeps it within the server's 15 s.
pub fn content_video(work: &Path) -> anyhow::Result<PathBuf> {
    const TARGET: u64 = 48_000_000;
    let path = work.join("video-720p-grainy-photo-keyframes-48mb.mp4");
    if path.exists() {
        return Ok(path);
    }
    eprintln!("generating {} (once)…", path.display());
    let photo = image::open(enlarged(work, &fixtures()?[0], 1920, 1080)?)?.to_rgb8();
    // Film grain, so that 48 MB of keyframes fit in the server's 15 s.
    let rgb = grainy_720p(&photo);
    let (w, h) = rgb.dimensions();
    let clip = |frames: u32| {
        let fps = frames.div_ceil(14).clamp(30, 60);
        let mut clip = Clip::new(w, h, fps, 1).fast_start().keyframe_every(1);
        clip.frames = frames;
        clip.still(rgb.as_raw())
    };
    let probe = clip(10)?.len() as u64;
    let frames = u32::try_from(TARGET * 10 / probe.max(1) + 1).unwrap_or(u32::MAX);
    let bytes = clip(frames.max(10))?;
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// 15 s 1280×720 30 fps H.264 MP4s for the face check, a keyframe every 2 s (8 in all), each
/// frame a committed photo under film grain: the astronaut (a face), and the coffee cup (none).
pub fn face_check_videos(work: &Path) -> anyhow::Result<Vec<(PathBuf, &'static str)>> {
    let mut out = Vec::new();
    for (name, what) in [("astronaut.png", "a face"), ("coffee.png", "no face")] {
        let path = work.join(format!(
            "video-720p-15s-{}.mp4",
            name.trim_end_matches(".png")
        ));
        if !path.exists() {
            eprintln!("generating {} (once)…", path.display());
            let photo = fixtures()?
                .into_iter()
                .find(|p| p.file_name().is_some_and(|n| n == name))
                .with_context(|| format!("no {name} among the committed photos"))?;
            let rgb = grainy_720p(&image::open(photo)?.to_rgb8());
            let clip = Clip::new(1280, 720, 30, 15).fast_start().keyframe_every(60);
            std::fs::write(&path, clip.still(rgb.as_raw())?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        out.push((path, what));
    }
    Ok(out)
}

/// `photo` at 1280×720 under film grain (what keeps a still's keyframes as large as a camera's).
fn grainy_720p(photo: &image::RgbImage) -> image::RgbImage {
    let mut rgb = image::imageops::resize(photo, 1280, 720, image::imageops::FilterType::Triangle);
    let mut seed: u32 = 0x9E37_79B9;
    for value in rgb.iter_mut() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        *value = (i32::from(*value) + (seed % 25) as i32 - 12).clamp(0, 255) as u8;
    }
    rgb
}

/// A 15 s 1280×720 30 fps H.264 MP4 of about 46 MB (noise keeps the bitrate up).
pub fn video_mp4(work: &Path) -> anyhow::Result<PathBuf> {
    video_mp4_sized(work, 15, "29M")
}

/// A 3 s 1280×720 30 fps H.264 MP4 (colour bars, encoded in-process) for the smoke run.
pub fn small_video_mp4(work: &Path) -> anyhow::Result<PathBuf> {
    let path = work.join("video-720p-3s-bars.mp4");
    if !path.exists() {
        let bytes = Clip::new(1280, 720, 30, 3).fast_start().bars()?;
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(path)
}

/// A 1280×720 30 fps H.264 MP4 of `seconds` at about `bitrate`.
fn video_mp4_sized(work: &Path, seconds: u32, bitrate: &str) -> anyhow::Result<PathBuf> {
    let path = work.join(format!("video-720p-{seconds}s-{bitrate}.mp4"));
    if path.exists() {
        return Ok(path);
    }
    let found = Command::new("ffmpeg").arg("-version").output();
    if !found.is_ok_and(|o| o.status.success()) {
        bail!(
            "the ingest-bandwidth scenario needs ffmpeg to make its {seconds} s noisy 720p video \
             ({}) once, and no ffmpeg runs here: install it (Debian: apt-get install ffmpeg), or \
             run with --smoke, whose short video needs no ffmpeg",
            path.display()
        );
    }
    eprintln!("generating {} with ffmpeg (once)…", path.display());
    let partial = work.join(format!("video-720p-{seconds}s-{bitrate}.partial.mp4"));
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=1280x720:rate=30")
        .args(["-vf", "noise=alls=60:allf=t+u", "-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-b:v", bitrate])
        .args(["-maxrate", bitrate, "-bufsize", "4M", "-pix_fmt", "yuv420p"])
        .args(["-movflags", "+faststart"])
        .arg(&partial)
        .status()
        .context("running ffmpeg (Debian package ffmpeg)")?;
    if !status.success() {
        bail!("ffmpeg failed to make the bench video");
    }
    std::fs::rename(&partial, &path)?;
    Ok(path)
}
