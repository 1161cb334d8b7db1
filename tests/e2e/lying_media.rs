//! Media whose headers lie, and images too large for a careless decoder: the decoded pixels
//! decide, under every face policy.

use std::sync::Arc;

use assetlib::domain::FacePolicy;
use assetlib::fetch::SystemLookup;

use crate::common::{Origin, TestApp, spawn_app, spawn_app_with};
use crate::corpus;

async fn allowing_faces() -> TestApp {
    spawn_app_with(
        |c| c.moderation.faces = FacePolicy::Allow,
        Arc::new(SystemLookup),
    )
    .await
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Rewrites the size an mp4 declares (the `avc1` sample entry and every visual `tkhd`), leaving
/// the H.264 stream as it is.
fn claim_size(mp4: &mut [u8], width: u16, height: u16) {
    // The `avc1` entry of each `stsd` (tag, version/flags, entry count, entry size, `avc1`);
    // "avc1" also stands among the file type's brands.
    let entries: Vec<usize> = find_all(mp4, b"stsd")
        .into_iter()
        .map(|at| at + 16)
        .filter(|at| mp4.get(*at..*at + 4) == Some(b"avc1".as_slice()))
        .collect();
    for at in entries {
        let entry = at - 4;
        // Box header (8), SampleEntry (8), VisualSampleEntry pre-defined/reserved (16).
        let size = entry + 32;
        mp4[size..size + 2].copy_from_slice(&width.to_be_bytes());
        mp4[size + 2..size + 4].copy_from_slice(&height.to_be_bytes());
    }
    for at in find_all(mp4, b"tkhd") {
        let tkhd = at - 4;
        let size = if mp4[tkhd + 8] == 1 {
            tkhd + 96
        } else {
            tkhd + 84
        };
        if mp4[size..size + 8] == [0; 8] {
            continue; // not a visual track
        }
        mp4[size..size + 4].copy_from_slice(&(u32::from(width) << 16).to_be_bytes());
        mp4[size + 4..size + 8].copy_from_slice(&(u32::from(height) << 16).to_be_bytes());
    }
}

/// A PNG chunk with its CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

/// A PNG whose header says `side`×`side` RGB and ends properly, with 10 bytes of image data.
fn hollow_png(side: u32) -> Vec<u8> {
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1, 0]));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_that_understates_its_size_is_judged_by_its_frames() {
    let mut mp4 = tokio::task::spawn_blocking(|| corpus::read("v-1080p.mp4"))
        .await
        .expect("corpus");
    claim_size(&mut mp4, 1280, 720);
    for app in [spawn_app().await, allowing_faces().await] {
        let origin = Origin::start().await;
        let key = app.create_key("t").await;
        let url = origin.put("claims-720p.mp4", mp4.clone(), "video/mp4");
        let id = app.upload_ok(&key, "Video", &url).await;
        let body = app.wait_settled(&key, &id).await;
        assert_eq!(body["status"], "Failed", "{body}");
        assert_eq!(body["failure"]["code"], "video-resolution", "{body}");
        assert!(
            body["failure"]["message"]
                .as_str()
                .expect("message")
                .contains("1920x1080"),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_without_its_pixels_fails_under_every_policy() {
    for app in [spawn_app().await, allowing_faces().await] {
        let origin = Origin::start().await;
        let key = app.create_key("t").await;
        let url = origin.put("hollow.png", hollow_png(4000), "image/png");
        let id = app.upload_ok(&key, "Image", &url).await;
        let body = app.wait_settled(&key, &id).await;
        assert_eq!(body["status"], "Failed", "{body}");
        assert_eq!(body["failure"]["code"], "image-unreadable", "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_16_bit_image_is_decoded_within_the_budget() {
    // ~30 s of decoding in a debug build.
    if !assetlib_test_support::opt_in::slow("the 6000×6000 16-bit PNG") {
        return;
    }
    // 6000×6000 RGBA at 16 bits per channel: 288 MB of pixels as stored, 144 MB decoded at
    // 8 bits. A flat picture, so the file stays small.
    let png = tokio::task::spawn_blocking(|| {
        let image = image::ImageBuffer::<image::Rgba<u16>, Vec<u16>>::from_pixel(
            6000,
            6000,
            image::Rgba([20_000, 40_000, 60_000, 65_535]),
        );
        let mut out = std::io::Cursor::new(Vec::new());
        image
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("encode");
        out.into_inner()
    })
    .await
    .expect("png");
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("t").await;
    let url = origin.put("big16.png", png, "image/png");
    let id = app.upload_ok(&key, "Image", &url).await;
    let body = app.wait_settled(&key, &id).await;
    assert_eq!(body["status"], "Active", "{body}");
    assert_eq!(body["moderation"]["width"], 6000, "{body}");
    assert!(body["moderation"].get("note").is_none(), "{body}");
}
