//! Scenario 4: the face check on one core — the server's whole scan (decode, downscale, detect,
//! preview) of each photograph of a set, the detector alone on the working-size image, and the
//! keyframe checks of 720p videos (`scan_video`: the first frame and up to four keyframes,
//! decoded and checked; a held video's checked frames also encoded at full size).

use std::path::{Path, PathBuf};
use std::time::Instant;

use assetlib::moderation::{FaceDetector, scan_image, scan_video};

use crate::stats::{Row, Samples};

/// A labelled photograph of the set.
pub struct Photo {
    pub path: PathBuf,
    /// What kind of photo, for the row name (e.g. "real 1080p", "synthetic 1080p").
    pub group: String,
}

/// Scans of one group of photos: the group's name, the times, how many photos, how many with a
/// face found.
type Group = (String, Samples, usize, usize);

/// Scans `photo` `runs` times with `detector` into its group (`suffix` added to the group's
/// name), adding the group when it is new.
fn scan_into(
    groups: &mut Vec<Group>,
    photo: &Photo,
    suffix: &str,
    detector: &dyn FaceDetector,
    runs: usize,
) -> anyhow::Result<()> {
    let name = format!("{}{suffix}", photo.group);
    let at = match groups.iter().position(|g| g.0 == name) {
        Some(at) => at,
        None => {
            groups.push((name, Samples::default(), 0, 0));
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
    Ok(())
}

/// Scans every photo `runs` times with `detector` (on one thread); one row per group of photos
/// (median and p99 across every scan of the group) and one for the detector alone; with
/// `lent`, the server's detector, which splits a lone check over an idle core, as many times
/// again (rows "…, a spare core lent"); then each of `videos` (a file and what it shows) as
/// many times.
pub fn run(
    photos: &[Photo],
    videos: &[(PathBuf, &str)],
    detector: &dyn FaceDetector,
    lent: Option<&dyn FaceDetector>,
    runs: usize,
) -> anyhow::Result<Vec<Row>> {
    let mut groups: Vec<Group> = Vec::new();
    let mut detect = Samples::default();
    for photo in photos {
        scan_into(&mut groups, photo, "", detector, runs)?;
        if let Some(lent) = lent {
            scan_into(&mut groups, photo, ", a spare core lent", lent, runs)?;
        }
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
                    "{name}; decode + downscale + detect + preview; {count} photos, {held} with faces found; {}",
                    if group.ends_with("lent") { "two cores" } else { "one core" }
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
    for (video, what) in videos {
        rows.push(video_row(video, what, detector, runs)?);
    }
    Ok(rows)
}

/// `scan_video` of `video` `runs` times: wall time per scan, and the process's CPU time (every
/// thread, the H.264 decoder's included) per scan.
fn video_row(
    video: &Path,
    what: &str,
    detector: &dyn FaceDetector,
    runs: usize,
) -> anyhow::Result<Row> {
    let len = std::fs::metadata(video)?.len();
    let mut samples = Samples::default();
    let mut frames = 0;
    let mut faces = 0;
    let cpu_before = crate::cpu::seconds(std::process::id());
    for _ in 0..runs {
        let started = Instant::now();
        let scan = scan_video(video, len, Some(detector)).map_err(anyhow::Error::msg)?;
        samples.ok(started.elapsed());
        frames = scan.frames.unwrap_or(0);
        faces = scan.faces.len();
    }
    let cpu = (crate::cpu::seconds(std::process::id()) - cpu_before) / runs.max(1) as f64;
    let name = video.file_name().map(|n| n.to_string_lossy().into_owned());
    Ok(Row::new(
        &format!("face-check scan, 720p video, {what}"),
        "assetlib",
        &samples,
        None,
    )
    .with_note(format!(
        "{}; {frames} frames decoded and checked, {faces} faces found; CPU {:.0} ms per scan (all threads)",
        name.unwrap_or_default(),
        cpu * 1000.0
    )))
}
