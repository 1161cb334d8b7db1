//! Face detector accuracy and speed over a labelled set (see docs/MODERATION.md).
//!
//! `cargo run --release --example face_eval -- DIR [LFW_NPY] [--min-face PX]`: `DIR/face/*` must be held, `DIR/noface/*` must pass. `LFW_NPY` is
//! scikit-image's `lfw_subset.npy` (100 face crops then 100 background crops, 25×25), each
//! enlarged and centred on a plain canvas. Every image goes through the server's own scan
//! (`moderation::scan_image`: decode — a JPEG scaled in the DCT —, working-size downscale,
//! detection, preview), timed on one core; then the same set at other thresholds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assetlib::moderation::{Decoded, FaceDetector, Mtcnn, scan_decoded, scan_image};
use image::{DynamicImage, GrayImage, Luma};

/// One labelled image: a file, or pixels made in memory (the LFW crops).
enum Source {
    File(PathBuf),
    Pixels(DynamicImage),
}

struct Item {
    name: String,
    face: bool,
    source: Source,
}

fn lfw(path: &Path) -> Vec<Item> {
    let bytes = std::fs::read(path).expect("lfw_subset.npy");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let data = &bytes[10 + header_len..];
    (0..200)
        .map(|i| {
            let mut crop = GrayImage::new(25, 25);
            for (p, px) in crop.pixels_mut().enumerate() {
                let at = (i * 625 + p) * 8;
                let mut v = [0u8; 8];
                v.copy_from_slice(&data[at..at + 8]);
                *px = Luma([(f64::from_le_bytes(v) * 255.0).clamp(0.0, 255.0) as u8]);
            }
            let big =
                image::imageops::resize(&crop, 150, 150, image::imageops::FilterType::CatmullRom);
            let mut canvas = GrayImage::from_pixel(400, 400, Luma([128]));
            image::imageops::overlay(&mut canvas, &big, 125, 125);
            Item {
                name: format!("lfw_subset[{i}]"),
                face: i < 100,
                source: Source::Pixels(DynamicImage::ImageLuma8(canvas)),
            }
        })
        .collect()
}

/// Faces found by the server's scan, and how long it took.
fn scan(item: &Item, detector: &dyn FaceDetector) -> (usize, (u32, u32), Duration) {
    let started = Instant::now();
    let found = match &item.source {
        Source::File(path) => scan_image(path, detector).expect("the image decodes"),
        Source::Pixels(pixels) => scan_decoded(
            Decoded {
                pixels: pixels.clone(),
                width: pixels.width(),
                height: pixels.height(),
            },
            Some(detector),
        )
        .expect("the detector runs"),
    };
    (
        found.faces.len(),
        (found.width, found.height),
        started.elapsed(),
    )
}

fn detector(threshold: Option<f32>, min_face: Option<u32>) -> Box<dyn FaceDetector> {
    let mut d = Mtcnn::embedded().expect("model");
    if let Some(t) = threshold {
        d = d.with_threshold(t);
    }
    if let Some(px) = min_face {
        d = d.with_min_face(px);
    }
    Box::new(d)
}

fn main() {
    let mut positional = Vec::new();
    let mut min_face = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--min-face" => {
                min_face = Some(args.next().expect("--min-face PX").parse().expect("PX"));
            }
            _ => positional.push(arg),
        }
    }
    let dir = positional.first().expect("usage: face_eval DIR [LFW_NPY]");
    let mut set: Vec<Item> = Vec::new();
    for (sub, face) in [("face", true), ("noface", false)] {
        let mut entries: Vec<_> = std::fs::read_dir(Path::new(dir).join(sub))
            .expect("labelled dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            set.push(Item {
                name: path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into(),
                face,
                source: Source::File(path),
            });
        }
    }
    if let Some(npy) = positional.get(1) {
        set.extend(lfw(Path::new(npy)));
    }
    let shipped = detector(None, min_face);
    println!("detector: {}", shipped.name());
    let (mut tp, mut fn_, mut fp, mut tn) = (0, 0, 0, 0);
    let mut times: Vec<Duration> = Vec::new();
    println!("| image | label | faces found | scan time |");
    println!("|---|---|---|---|");
    for item in &set {
        let (found, (w, h), took) = scan(item, shipped.as_ref());
        times.push(took);
        let held = found > 0;
        match (item.face, held) {
            (true, true) => tp += 1,
            (true, false) => fn_ += 1,
            (false, true) => fp += 1,
            (false, false) => tn += 1,
        }
        if !item.name.starts_with("lfw") || item.face != held {
            println!(
                "| {} ({w}×{h}) | {} | {found}{} | {:.1} ms |",
                item.name,
                if item.face { "face" } else { "no face" },
                if item.face != held { " **wrong**" } else { "" },
                took.as_secs_f64() * 1000.0
            );
        }
    }
    times.sort();
    println!();
    println!(
        "faces: {tp} held of {} (recall {:.3})",
        tp + fn_,
        tp as f64 / (tp + fn_).max(1) as f64
    );
    println!(
        "non-faces: {fp} held of {} (false-hold rate {:.3})",
        fp + tn,
        fp as f64 / (fp + tn).max(1) as f64
    );
    println!(
        "scan time: median {:.1} ms, p99 {:.1} ms",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[(times.len() * 99 / 100).min(times.len() - 1)].as_secs_f64() * 1000.0
    );

    // Tuning: the same set at other thresholds.
    let thresholds: &[f32] = &[0.7, 0.8, 0.85, 0.9, 0.95, 0.98];
    println!();
    println!("| threshold | recall | false-hold rate | missed faces | false holds |");
    println!("|---|---|---|---|---|");
    for &threshold in thresholds {
        let tuned = detector(Some(threshold), min_face);
        let (mut hit, mut faces, mut false_holds, mut others) = (0, 0, 0, 0);
        let (mut missed, mut wrong) = (Vec::new(), Vec::new());
        for item in &set {
            let held = scan(item, tuned.as_ref()).0 > 0;
            if item.face {
                faces += 1;
                hit += usize::from(held);
                if !held {
                    missed.push(item.name.as_str());
                }
            } else {
                others += 1;
                false_holds += usize::from(held);
                if held {
                    wrong.push(item.name.as_str());
                }
            }
        }
        println!(
            "| {threshold} | {:.3} ({hit}/{faces}) | {:.3} ({false_holds}/{others}) | {} | {} |",
            hit as f64 / faces.max(1) as f64,
            false_holds as f64 / others.max(1) as f64,
            missed.join(", "),
            wrong.join(", ")
        );
    }
}
