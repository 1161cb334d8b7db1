//! The media of the runs: gradient images made with the `image` crate, a WAV tone, text and
//! broken JSON, and short H.264 MP4s encoded in-process — each with the outcome it must reach
//! under the default rules.

use std::io::Cursor;
use std::time::Duration;

use anyhow::Context;
use assetlib_test_support::crash_loop::{self, Media};
use assetlib_test_support::media::Clip;
use image::{ImageFormat, Rgb, RgbImage};

/// The uploads' HTTP client (TLS provider installed, no proxy: the server is on loopback).
pub fn client() -> anyhow::Result<reqwest::Client> {
    assetlib::fetch::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")
}

/// A PNG gradient of this size.
pub fn png(width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    gradient(ImageFormat::Png, width, height)
}

fn gradient(format: ImageFormat, width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .context("encoding an image")?;
    Ok(out.into_inner())
}

/// Images (Active, Active with new content each time, Failed: too small), audio and
/// documents, and videos (Active, Failed: too short).
pub fn crash_loop_mix() -> anyhow::Result<Vec<Media>> {
    let mut mix = vec![
        Media::new(
            "good.png",
            gradient(ImageFormat::Png, 500, 400)?,
            "image/png",
            "Image",
            "Active",
        ),
        Media::new(
            "photo.jpg",
            gradient(ImageFormat::Jpeg, 640, 480)?,
            "image/jpeg",
            "Image",
            "Active",
        )
        .with_variants(),
        Media::new(
            "tiny.png",
            gradient(ImageFormat::Png, 50, 40)?,
            "image/png",
            "Image",
            "Failed",
        ),
    ];
    mix.extend(crash_loop::audio_and_documents());
    // 1280×720 at 30 fps: 3 s passes the duration rule, 1 s does not.
    let good = Clip::new(1280, 720, 30, 3).bars()?;
    let short = Clip::new(1280, 720, 30, 1).bars()?;
    mix.push(Media::new("clip.mp4", good, "video/mp4", "Video", "Active").with_variants());
    mix.push(Media::new(
        "short.mp4",
        short,
        "video/mp4",
        "Video",
        "Failed",
    ));
    Ok(mix)
}
