//! Scenario 4: the face check of one 1080p image on one core — the decode the server does
//! (JPEG → grey) and the detector itself, timed separately.

use std::path::Path;
use std::time::Instant;

use assetlib::moderation::{FaceDetector, SeetaDetector};

use super::stats::{Row, Samples};

pub fn run(photo: &Path, runs: usize) -> anyhow::Result<Vec<Row>> {
    let bytes = std::fs::read(photo)?;
    let detector = SeetaDetector::embedded()?;
    let mut decode = Samples::default();
    let mut detect = Samples::default();
    let mut faces = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let gray = image::load_from_memory(&bytes)?.to_luma8();
        decode.ok(started.elapsed());
        let started = Instant::now();
        faces = detector.detect(&gray).len();
        detect.ok(started.elapsed());
    }
    Ok(vec![
        Row::new("face-check decode 1080p JPEG", "assetlib", &decode, None),
        Row::new("face-check detect 1080p", "assetlib", &detect, None)
            .with_note(format!("{faces} faces; one core")),
    ])
}
