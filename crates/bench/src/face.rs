//! Scenario 4: the face check of one 1080p JPEG on one core — the server's whole scan (decode,
//! downscale, detect, preview) and the detector alone on the downscaled image.

use std::path::Path;
use std::time::Instant;

use assetlib::moderation::{DETECT_SIDE, FaceDetector, SeetaDetector, scan_image};

use crate::stats::{Row, Samples};

pub fn run(photo: &Path, runs: usize) -> anyhow::Result<Vec<Row>> {
    let detector = SeetaDetector::embedded()?;
    let mut scan = Samples::default();
    let mut faces = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let found = scan_image(photo, &detector).map_err(anyhow::Error::msg)?;
        scan.ok(started.elapsed());
        faces = found.faces.len();
    }
    let work = image::open(photo)?
        .thumbnail(DETECT_SIDE, DETECT_SIDE)
        .to_luma8();
    let mut detect = Samples::default();
    for _ in 0..runs {
        let started = Instant::now();
        detector.detect(&work);
        detect.ok(started.elapsed());
    }
    Ok(vec![
        Row::new("face-check scan 1080p JPEG", "assetlib", &scan, None).with_note(format!(
            "decode + downscale + detect + preview; {faces} faces; one core"
        )),
        Row::new(
            &format!(
                "face-check detector alone at {}×{}",
                work.width(),
                work.height()
            ),
            "assetlib",
            &detect,
            None,
        ),
    ])
}
