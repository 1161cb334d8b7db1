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
