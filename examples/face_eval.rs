//! Face detector accuracy and speed over a labelled set (see docs/MODERATION.md).
//!
//! `cargo run --release --example face_eval -- DIR [LFW_NPY]`: `DIR/face/*` must be held,
//! `DIR/noface/*` must pass. `LFW_NPY` is scikit-image's `lfw_subset.npy` (100 face crops then
//! 100 background crops, 25×25), each enlarged and centred on a plain canvas.

use std::path::Path;
use std::time::{Duration, Instant};

use assetlib::moderation::{FaceDetector, SeetaDetector};
use image::{GrayImage, Luma};

fn lfw(path: &Path) -> Vec<(String, bool, GrayImage)> {
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
            (format!("lfw_subset[{i}]"), i < 100, canvas)
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: face_eval DIR [LFW_NPY]");
    let mut set: Vec<(String, bool, GrayImage)> = Vec::new();
    for (sub, face) in [("face", true), ("noface", false)] {
        let mut entries: Vec<_> = std::fs::read_dir(Path::new(&dir).join(sub))
            .expect("labelled dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let img = image::open(&path).expect("image decodes").to_luma8();
            set.push((
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into(),
                face,
                img,
            ));
        }
    }
    if let Some(npy) = args.next() {
        set.extend(lfw(Path::new(&npy)));
    }
    let detector = SeetaDetector::embedded().expect("model");
    let (mut tp, mut fn_, mut fp, mut tn) = (0, 0, 0, 0);
    let mut times: Vec<Duration> = Vec::new();
    println!("| image | label | faces found | time |");
    println!("|---|---|---|---|");
    for (name, face, img) in &set {
        let started = Instant::now();
        let faces = detector.detect(img);
        let took = started.elapsed();
        times.push(took);
        let held = !faces.is_empty();
        match (face, held) {
            (true, true) => tp += 1,
            (true, false) => fn_ += 1,
            (false, true) => fp += 1,
            (false, false) => tn += 1,
        }
        if !name.starts_with("lfw") || face != &held {
            println!(
                "| {name} ({}×{}) | {} | {} | {:.1} ms |",
                img.width(),
                img.height(),
                if *face { "face" } else { "no face" },
                faces.len(),
                took.as_secs_f64() * 1000.0
            );
        }
    }
    times.sort();
    println!();
    println!(
        "faces: {} held of {} (recall {:.3})",
        tp,
        tp + fn_,
        tp as f64 / (tp + fn_).max(1) as f64
    );
    println!(
        "non-faces: {} held of {} (false-hold rate {:.3})",
        fp,
        fp + tn,
        fp as f64 / (fp + tn).max(1) as f64
    );
    println!(
        "median detection time {:.1} ms",
        times[times.len() / 2].as_secs_f64() * 1000.0
    );

    // Tuning: the same set at other score thresholds (the shipped default is 1.5).
    println!();
    println!("| score threshold | recall | false-hold rate |");
    println!("|---|---|---|");
    for threshold in [0.5, 1.0, 1.5, 2.0, 3.0, 4.0] {
        let tuned = SeetaDetector::embedded()
            .expect("model")
            .with_threshold(threshold);
        let (mut hit, mut faces, mut false_holds, mut others) = (0, 0, 0, 0);
        for (_, face, img) in &set {
            let held = !tuned.detect(img).is_empty();
            if *face {
                faces += 1;
                hit += usize::from(held);
            } else {
                others += 1;
                false_holds += usize::from(held);
            }
        }
        println!(
            "| {threshold:.1} | {:.3} ({hit}/{faces}) | {:.3} ({false_holds}/{others}) |",
            hit as f64 / faces.max(1) as f64,
            false_holds as f64 / others.max(1) as f64
        );
    }

    // One core, a 1080p frame: the astronaut, 1080 px tall, centred on a 1920×1080 canvas.
    let astro = set
        .iter()
        .find(|(n, _, _)| n == "astronaut.png")
        .map(|(_, _, i)| i.clone());
    if let Some(astro) = astro {
        let tall =
            image::imageops::resize(&astro, 1080, 1080, image::imageops::FilterType::Triangle);
        let mut hd = GrayImage::from_pixel(1920, 1080, Luma([90]));
        image::imageops::overlay(&mut hd, &tall, 420, 0);
        let mut runs: Vec<Duration> = (0..11)
            .map(|_| {
                let s = Instant::now();
                let n = detector.detect(&hd).len();
                assert!(n > 0, "the astronaut has a face");
                s.elapsed()
            })
            .collect();
        runs.sort();
        println!(
            "1080p image: median {:.1} ms",
            runs[5].as_secs_f64() * 1000.0
        );
    }
}
