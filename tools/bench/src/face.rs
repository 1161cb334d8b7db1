//! Scenario 4: the face check on one core — the server's whole scan (decode, downscale, detect,
//! preview) of each photograph of a set, and the detector alone on the working-size image.

use std::path::PathBuf;
use std::time::Instant;

use assetlib::moderation::{FaceDetector, scan_image};

use crate::stats::{Row, Samples};

/// A labelled photograph of the set.
pub struct Photo {
    pub path: PathBuf,
    /// What kind of photo, for the row name (e.g. "real 1080p", "synthetic 1080p").
    pub group: String,
}

/// Scans every photo `runs` times with `detector`; one row per group of photos (median and p99
/// across every scan of the group) and one for the detector alone.
pub fn run(photos: &[Photo], detector: &dyn FaceDetector, runs: usize) -> anyhow::Result<Vec<Row>> {
    let mut groups: Vec<(String, Samples, usize, usize)> = Vec::new();
    let mut detect = Samples::default();
    for photo in photos {
        let at = match groups.iter().position(|g| g.0 == photo.group) {
            Some(at) => at,
            None => {
                groups.push((photo.group.clone(), Samples::default(), 0, 0));
                groups.len() - 1
            }
        };
        let mut faces = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let found = scan_image(&photo.path, detector).map_err(anyhow::Error::msg)?;
            groups[at].1.ok(started.elapsed());
            faces = found.faces.len();
        }
        groups[at].2 += 1;
        groups[at].3 += usize::from(faces > 0);
        let work = image::open(&photo.path)?
            .thumbnail(detector.working_side(), detector.working_side())
            .to_rgb8();
        for _ in 0..runs {
            let started = Instant::now();
            detector.detect(&work).map_err(anyhow::Error::msg)?;
            detect.ok(started.elapsed());
        }
    }
    let name = detector.name();
    let mut rows: Vec<Row> = groups
        .iter()
        .map(|(group, samples, count, held)| {
            Row::new(&format!("face-check scan, {group}"), "assetlib", samples, None).with_note(
                format!(
                    "{name}; decode + downscale + detect + preview; {count} photos, {held} with faces found; one core"
                ),
            )
        })
        .collect();
    rows.push(
        Row::new(
            &format!(
                "face-check detector alone (≤ {} px)",
                detector.working_side()
            ),
            "assetlib",
            &detect,
            None,
        )
        .with_note(name.to_owned()),
    );
    Ok(rows)
}
