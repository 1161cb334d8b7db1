//! Probe tests over the real corpus: facts of valid files, reasons for broken ones, and a
//! fuzz-style sweep of truncations and bit flips of every valid file through every probe.

#[path = "../support/corpus.rs"]
mod corpus;

use std::io::Cursor;
use std::time::{Duration, Instant};

use assetlib::domain::AssetType;
use assetlib::probe::{ProbeError, Probed, probe, sniff};

fn run(asset_type: AssetType, bytes: &[u8], name: &str) -> Result<Probed, ProbeError> {
    // As the server does: sniff the first 64 KB.
    let format = sniff(&bytes[..bytes.len().min(64 * 1024)]).format;
    probe(
        asset_type,
        &format,
        &mut Cursor::new(bytes),
        bytes.len() as u64,
        name,
    )
}

fn facts(asset_type: AssetType, file: &str) -> Probed {
    match run(asset_type, &corpus::read(file), file) {
        Ok(p) => p,
        Err(e) => panic!("{file}: {e:?}"),
    }
}

fn code(asset_type: AssetType, file: &str) -> &'static str {
    match run(asset_type, &corpus::read(file), file) {
        Err(ProbeError::Invalid(v)) => v.code.name,
        other => panic!("{file}: expected a violation, got {other:?}"),
    }
}

#[test]
fn video_facts_come_from_the_container() {
    let p = facts(AssetType::Video, "v-720p-h264-aac.mp4");
    assert_eq!(p.format, "mp4");
    let f = p.facts;
    assert_eq!((f.width, f.height), (Some(1280), Some(720)));
    assert_eq!(f.fps, Some(30.0));
    assert_eq!(f.duration_ms, Some(3000));
    assert_eq!(f.video_codec.as_deref(), Some("h264"));
    assert_eq!(f.audio_codec.as_deref(), Some("aac"));

    let f = facts(AssetType::Video, "v-480p-mpeg4.mov").facts;
    assert_eq!(
        (f.width, f.height, f.fps),
        (Some(854), Some(480), Some(25.0))
    );
    assert_eq!(f.video_codec.as_deref(), Some("mpeg4"));
    assert_eq!(f.audio_codec, None);

    assert_eq!(facts(AssetType::Video, "v-15fps.mp4").facts.fps, Some(15.0));
    assert_eq!(
        facts(AssetType::Video, "v-120fps.mp4").facts.fps,
        Some(120.0)
    );
    assert_eq!(
        facts(AssetType::Video, "v-16s.mp4").facts.duration_ms,
        Some(16000)
    );
    assert_eq!(
        facts(AssetType::Video, "v-faststart.mp4").facts.fps,
        Some(60.0)
    );

    assert_eq!(
        code(AssetType::Video, "v-audio-only.mp4"),
        "video-no-video-track"
    );
    assert_eq!(
        code(AssetType::Video, "v-truncated.mp4"),
        "video-unreadable"
    );
    assert_eq!(
        code(AssetType::Video, "v-truncated-faststart.mp4"),
        "video-unreadable"
    );
    assert_eq!(
        code(AssetType::Video, "v-garbage-after.mp4"),
        "video-unreadable"
    );
}

#[test]
fn audio_durations_come_from_the_data() {
    let p = facts(AssetType::Audio, "a-3s.wav");
    assert_eq!(p.format, "wav");
    assert_eq!(p.facts.duration_ms, Some(3000));
    assert_eq!(p.facts.sample_rate, Some(44100));
    assert_eq!(p.facts.channels, Some(1));
    assert_eq!(p.facts.audio_codec.as_deref(), Some("pcm_s16le"));
    for file in ["a-3s.mp3", "a-3s-no-xing.mp3", "a-3s-no-id3.mp3"] {
        let f = facts(AssetType::Audio, file).facts;
        let ms = f.duration_ms.expect("duration");
        // MP3 frames are 26 ms; the encoder pads the start and end.
        assert!((2950..=3150).contains(&ms), "{file}: {ms} ms");
        assert_eq!(f.audio_codec.as_deref(), Some("mp3"), "{file}");
        assert_eq!(f.sample_rate, Some(44100), "{file}");
    }
    let long = facts(AssetType::Audio, "a-16s.mp3")
        .facts
        .duration_ms
        .expect("duration");
    assert!((15950..=16150).contains(&long), "{long}");
    assert_eq!(
        facts(AssetType::Audio, "a-1s.wav").facts.duration_ms,
        Some(1000)
    );
}

#[test]
fn documents_are_checked_for_what_they_claim() {
    assert_eq!(facts(AssetType::Document, "d-doc.pdf").format, "pdf");
    assert_eq!(facts(AssetType::Document, "d-doc.docx").format, "docx");
    assert_eq!(facts(AssetType::Document, "d-sheet.xlsx").format, "xlsx");
    assert_eq!(facts(AssetType::Document, "d-slides.pptx").format, "pptx");
    assert_eq!(code(AssetType::Document, "d-plain.zip"), "document-format");
    assert_eq!(facts(AssetType::Document, "d-notes.txt").format, "text");
    assert_eq!(facts(AssetType::Document, "d-data.json").format, "json");
    assert_eq!(
        facts(AssetType::Document, "d-data-json-as.txt").format,
        "json"
    );
    assert_eq!(
        code(AssetType::Document, "d-truncated.pdf"),
        "document-unreadable"
    );
    assert_eq!(code(AssetType::Document, "d-broken.json"), "document-json");
    assert_eq!(
        code(AssetType::Document, "d-latin1-late.txt"),
        "document-encoding"
    );
}

#[test]
fn images_are_judged_by_their_header_alone() {
    let p = facts(AssetType::Image, "i-bomb-30000.png");
    assert_eq!((p.facts.width, p.facts.height), (Some(30000), Some(30000)));
    assert_eq!(
        code(AssetType::Image, "i-truncated.jpg"),
        "image-unreadable"
    );
    let p = facts(AssetType::Image, "i-720p.jpg");
    assert_eq!((p.format.as_str(), p.facts.width), ("jpeg", Some(1280)));
}

/// A tiny deterministic generator (no dependency needed for a sweep).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn truncations_and_bit_flips_never_panic_or_hang() {
    let valid: Vec<(&str, AssetType)> = corpus::CASES
        .iter()
        .filter(|c| matches!(c.expect, corpus::Expect::Active(_)))
        .map(|c| {
            let t = AssetType::parse(c.asset_type).expect("type");
            (c.file, t)
        })
        .collect();
    let mut rng = Lcg(0x5eed);
    let mut runs = 0;
    let started = Instant::now();
    for (file, asset_type) in valid {
        let bytes = corpus::read(file);
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for step in 0..24 {
            let cut = (bytes.len() as u64 * step / 24) as usize;
            variants.push(bytes[..cut].to_vec());
        }
        for _ in 0..40 {
            let mut flipped = bytes.clone();
            // Flip bits in the first 4 KB (where headers live) and anywhere.
            for _ in 0..4 {
                let window = if rng.next().is_multiple_of(2) {
                    flipped.len().min(4096)
                } else {
                    flipped.len()
                };
                if window > 0 {
                    let at = (rng.next() as usize) % window;
                    flipped[at] ^= 1 << (rng.next() % 8);
                }
            }
            variants.push(flipped);
        }
        for variant in variants {
            for t in AssetType::ALL {
                let one = Instant::now();
                let _ = run(t, &variant, file);
                runs += 1;
                assert!(
                    one.elapsed() < Duration::from_secs(5),
                    "{file} as {t}: a probe ran {:?}",
                    one.elapsed()
                );
            }
            let _ = asset_type;
        }
    }
    assert!(runs > 1000, "{runs} probe runs in {:?}", started.elapsed());
}

#[test]
fn video_frames_decode_and_survive_corruption() {
    for file in [
        "v-720p-h264-aac.mp4",
        "v-faststart.mp4",
        "v-720x1280-portrait.mp4",
    ] {
        let bytes = corpus::read(file);
        let frames =
            assetlib::moderation::video::frames(&mut Cursor::new(&bytes), bytes.len() as u64, 5)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!frames.rgb.is_empty(), "{file}");
        let (w, h) = frames.rgb[0].dimensions();
        assert!(w >= 720 && h >= 720, "{file}: {w}x{h}");
    }
    let err = assetlib::moderation::video::frames(
        &mut Cursor::new(corpus::read("v-480p-mpeg4.mov")),
        corpus::read("v-480p-mpeg4.mov").len() as u64,
        5,
    )
    .err()
    .expect("mpeg4 is not decoded");
    assert!(err.contains("not H.264"), "{err}");

    // Flipped bits in the media data and the headers: an error or frames, never a crash.
    let bytes = corpus::read("v-faststart.mp4");
    let mut rng = Lcg(0xf00d);
    for _ in 0..60 {
        let mut flipped = bytes.clone();
        for _ in 0..8 {
            let at = (rng.next() as usize) % flipped.len();
            flipped[at] ^= 1 << (rng.next() % 8);
        }
        let _ = assetlib::moderation::video::frames(
            &mut Cursor::new(&flipped),
            flipped.len() as u64,
            5,
        );
    }
}
