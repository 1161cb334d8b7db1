//! Face detector accuracy and speed over a labelled set (see docs/MODERATION.md).
//!
//! `cargo run --release --example face_eval -- DIR [LFW_NPY] [--bench PHOTOS]`: `DIR/face/*` must
//! be held, `DIR/noface/*` must pass. `LFW_NPY` is
//! scikit-image's `lfw_subset.npy` (100 face crops then 100 background crops, 25×25), each
//! enlarged and centred on a plain canvas. Every image goes through the server's own scan
//! (`moderation::scan_image`: decode — a JPEG scaled in the DCT —, working-size downscale,
//! detection, preview), timed in CPU time of one core, with each candidate: MTCNN alone, the tiny face
//! detector alone (its best score at several input sizes), and the cascade (the tiny
//! detector screens, MTCNN confirms); then the tiny screen and the cascade at other thresholds.
//! `--bench PHOTOS` also times each candidate over the bench photographs (`people-*.jpg`,
//! `none-*.jpg` at 1920×1080 and 4000×3000), 5 scans each.
//!
//! MTCNN runs twice on every image: as the server runs it (its convolutions in 8 bits) and in
//! `f32` (the ONNX files' own arithmetic, `Mtcnn::embedded_f32`); the images where the two
//! disagree — held or not, or the faces' places — are listed. With
//! `FACE_EVAL_CALIBRATE=1` the `f32` run records the input range of
//! every convolution of the three nets and prints them at the end (`PNET_INT8` and the other
//! tables of `src/moderation/mtcnn.rs`); `FACE_EVAL_INT8=pnet,rnet` runs only the nets named in
//! 8 bits. `FACE_EVAL_TINY_SIDES=` (empty) leaves the tiny face detector out.
//! `FACE_EVAL_STAGES=P,R` sets P-Net's and R-Net's thresholds of both MTCNN runs (to weigh
//! fewer windows against the faces kept). The windows R-Net and O-Net score per image are
//! reported by kind of image.

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Mutex;

use assetlib::moderation::{
    Cascade, Decoded, FaceBox, FaceDetector, Mtcnn, TinyFace, WindowCounts, scan_decoded,
    scan_image,
};
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
fn scan(item: &Item, detector: &dyn FaceDetector) -> (Vec<FaceBox>, (u32, u32), Duration) {
    let started = cpu_now();
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
        found.faces,
        (found.width, found.height),
        cpu_now().saturating_sub(started),
    )
}

/// Whether `a` and `b` are the same faces, each box's corners within a tenth of its size (at
/// least 2 px) of the other's.
fn same_places(a: &[FaceBox], b: &[FaceBox]) -> bool {
    let sorted = |boxes: &[FaceBox]| {
        let mut boxes = boxes.to_vec();
        boxes.sort_by_key(|f| (f.x, f.y));
        boxes
    };
    let (a, b) = (sorted(a), sorted(b));
    let near = |p: u32, q: u32, size: u32| p.abs_diff(q) <= (size / 10).max(2);
    a.len() == b.len()
        && a.iter().zip(&b).all(|(f, g)| {
            near(f.x, g.x, g.width)
                && near(f.y, g.y, g.height)
                && near(f.x + f.width, g.x + g.width, g.width)
                && near(f.y + f.height, g.y + g.height, g.height)
        })
}

/// The tiny detector's best score on each image it is given (it reports no face, so the scan
/// is the screen's whole cost).
struct Probe {
    tiny: TinyFace,
    best: Mutex<f32>,
}

impl FaceDetector for Probe {
    fn detect(&self, image: &image::RgbImage) -> Result<Vec<FaceBox>, String> {
        let best = self.tiny.best_score(image)?;
        if let Ok(mut b) = self.best.lock() {
            *b = best;
        }
        Ok(Vec::new())
    }
    fn name(&self) -> &'static str {
        "tinyface-probe"
    }
}

/// CPU time of this process so far (`getrusage`, user + system): one core's work whatever
/// else the machine runs, the JPEG decoder's worker threads included.
fn cpu_now() -> Duration {
    // SAFETY: `getrusage` writes one `rusage` into the zeroed value it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median_p99(mut times: Vec<Duration>) -> String {
    if times.is_empty() {
        return "—".to_owned();
    }
    times.sort();
    format!(
        "{:.1} / {:.1} ms",
        ms(times[times.len() / 2]),
        ms(times[(times.len() * 99 / 100).min(times.len() - 1)])
    )
}

/// `hits/total (rate)`.
fn rate(hits: usize, total: usize) -> String {
    format!("{:.3} ({hits}/{total})", hits as f64 / total.max(1) as f64)
}

fn env_list(name: &str, default: &str) -> Vec<f32> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

/// What each candidate made of one image.
struct Outcome {
    mtcnn: bool,
    mtcnn_time: Duration,
    /// MTCNN in `f32`: whether it held the image, in how long, and whether the 8-bit detector
    /// found the same faces in the same places (`same_places`).
    float: bool,
    float_time: Duration,
    same_boxes: bool,
    /// The windows R-Net and O-Net scored in the 8-bit detector's scan.
    windows: (u64, u64),
    cascade: bool,
    cascade_time: Duration,
    /// Per tiny input side: best score and scan time.
    tiny: Vec<(f32, Duration)>,
}

fn main() {
    let mut positional = Vec::new();
    let mut bench = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => bench = Some(args.next().expect("--bench PHOTOS")),
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
    let sides: Vec<u32> = env_list("FACE_EVAL_TINY_SIDES", "320,416,480")
        .into_iter()
        .map(|v| v as u32)
        .collect();
    let screens = env_list(
        "FACE_EVAL_SCREENS",
        "0.02,0.05,0.08,0.1,0.15,0.2,0.3,0.4,0.5,0.6,0.7",
    );
    // FACE_EVAL_INT8="pnet,rnet" runs only those nets in 8 bits (all three by default).
    let int8 = std::env::var("FACE_EVAL_INT8").unwrap_or_else(|_| "pnet,rnet,onet".to_owned());
    let int8 = ["pnet", "rnet", "onet"].map(|net| int8.split(',').any(|n| n.trim() == net));
    // FACE_EVAL_STAGES="P,R": P-Net's and R-Net's thresholds.
    let stages = env_list("FACE_EVAL_STAGES", "");
    let staged = |mut m: Mtcnn| {
        for (stage, &t) in stages.iter().enumerate().take(2) {
            m = m.with_stage_threshold(stage, t);
        }
        m.on_one_thread()
    };
    if !stages.is_empty() {
        println!("P-Net, R-Net thresholds: {stages:?}");
    }
    let mtcnn = staged(Mtcnn::embedded_int8(int8).expect("model"));
    let calibrate = std::env::var_os("FACE_EVAL_CALIBRATE").is_some();
    let float = staged(
        if calibrate {
            Mtcnn::recording()
        } else {
            Mtcnn::embedded_f32()
        }
        .expect("model"),
    );
    // FACE_EVAL_CASCADE="SIDE,THRESHOLD" tries other screen settings in the timed scans.
    let mut cascade = Cascade::embedded().expect("model");
    if let [side, threshold] = env_list("FACE_EVAL_CASCADE", "")[..] {
        cascade = cascade
            .with_screen_side(side as u32)
            .with_screen_threshold(threshold);
        println!("cascade screen: {side} px, threshold {threshold}");
    }
    let probes: Vec<Probe> = sides
        .iter()
        .map(|&side| Probe {
            tiny: TinyFace::embedded().expect("model").with_side(side),
            best: Mutex::new(0.0),
        })
        .collect();
    println!("cascade: {}", cascade.name());
    println!(
        "| image | label | MTCNN faces | cascade faces | tiny best score per side {sides:?} |"
    );
    println!("|---|---|---|---|---|");
    let mut outcomes = Vec::new();
    for item in &set {
        let before = mtcnn.windows();
        let (found, (w, h), mtcnn_time) = scan(item, &mtcnn);
        let windows = scored_since(&mtcnn, before);
        let (found_float, _, float_time) = scan(item, &float);
        let m = found.len();
        let (c, _, cascade_time) = scan(item, &cascade);
        let c = c.len();
        let tiny: Vec<(f32, Duration)> = probes
            .iter()
            .map(|p| {
                let (_, _, t) = scan(item, p);
                (*p.best.lock().expect("probe"), t)
            })
            .collect();
        let same_boxes = same_places(&found, &found_float);
        let o = Outcome {
            mtcnn: m > 0,
            mtcnn_time,
            float: !found_float.is_empty(),
            float_time,
            same_boxes,
            windows,
            cascade: c > 0,
            cascade_time,
            tiny,
        };
        if !item.name.starts_with("lfw") || item.face != o.mtcnn || item.face != o.cascade {
            let scores: Vec<String> = o.tiny.iter().map(|(s, _)| format!("{s:.3}")).collect();
            // The best face's score and size, in the scanned image's pixels.
            let best = found
                .iter()
                .max_by(|a, b| a.score.total_cmp(&b.score))
                .map(|f| format!(" (best {:.2}, {}×{} px)", f.score, f.width, f.height))
                .unwrap_or_default();
            println!(
                "| {} ({w}×{h}) | {} | {m}{best}{} | {c}{} | {} |",
                item.name,
                if item.face { "face" } else { "no face" },
                if item.face != o.mtcnn {
                    " **wrong**"
                } else {
                    ""
                },
                if item.face != o.cascade {
                    " **wrong**"
                } else {
                    ""
                },
                scores.join(" ")
            );
        }
        outcomes.push(o);
    }
    let faces = set.iter().filter(|i| i.face).count();
    let others = set.len() - faces;
    let count = |f: &dyn Fn(&Item, &Outcome) -> bool| -> (usize, usize) {
        let mut hit = 0;
        let mut wrong = 0;
        for (item, o) in set.iter().zip(&outcomes) {
            if f(item, o) {
                if item.face {
                    hit += 1;
                } else {
                    wrong += 1;
                }
            }
        }
        (hit, wrong)
    };
    let names = |f: &dyn Fn(&Item, &Outcome) -> bool, face: bool| -> String {
        set.iter()
            .zip(&outcomes)
            .filter(|(i, o)| i.face == face && f(i, o) != face)
            .map(|(i, _)| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!();
    println!(
        "| detector | recall | false-hold rate | median / p99 scan | faces missed | false holds |"
    );
    println!("|---|---|---|---|---|---|");
    // One row per whole detector: whether it held each image, and how long it took.
    let detector_row = |label: &str, held: fn(&Outcome) -> bool, time: fn(&Outcome) -> Duration| {
        let (hit, wrong) = count(&|_, o| held(o));
        println!(
            "| {label} | {} | {} | {} | {} | {} |",
            rate(hit, faces),
            rate(wrong, others),
            median_p99(outcomes.iter().map(time).collect()),
            names(&|_, o| held(o), true),
            names(&|_, o| held(o), false)
        );
    };
    detector_row(
        "MTCNN (the detector: 8 bits, or FACE_EVAL_INT8), threshold 0.9",
        |o| o.mtcnn,
        |o| o.mtcnn_time,
    );
    detector_row("MTCNN in f32, threshold 0.9", |o| o.float, |o| o.float_time);
    for face in [true, false] {
        let scored: Vec<(u64, u64)> = set
            .iter()
            .zip(&outcomes)
            .filter(|(i, _)| i.face == face)
            .map(|(_, o)| o.windows)
            .collect();
        println!(
            "| MTCNN's windows on the {} images | {} |",
            if face { "face" } else { "no-face" },
            windows_per_image(&scored)
        );
    }
    let differ = |f: &dyn Fn(&Outcome) -> bool| -> Vec<&str> {
        set.iter()
            .zip(&outcomes)
            .filter(|(_, o)| f(o))
            .map(|(i, _)| i.name.as_str())
            .collect()
    };
    let held = differ(&|o| o.mtcnn != o.float);
    let boxes = differ(&|o| !o.same_boxes);
    println!(
        "| 8 bits against f32 | held differently: {} {:?} | faces elsewhere: {} {:?} |",
        held.len(),
        held,
        boxes.len(),
        boxes
    );
    detector_row(
        "cascade (Cascade::embedded or FACE_EVAL_CASCADE)",
        |o| o.cascade,
        |o| o.cascade_time,
    );
    for (k, side) in sides.iter().enumerate() {
        // The package's own threshold.
        let t = 0.5f32;
        let f = move |_: &Item, o: &Outcome| o.tiny[k].0 >= t;
        let (hit, wrong) = count(&f);
        println!(
            "| tiny alone, {side} px, {t} | {} | {} | {} | {} | {} |",
            rate(hit, faces),
            rate(wrong, others),
            median_p99(outcomes.iter().map(|o| o.tiny[k].1).collect()),
            names(&f, true),
            names(&f, false)
        );
    }
    println!();
    println!(
        "| tiny side | screen threshold | tiny alone: recall | tiny alone: false holds | cascade: recall | cascade: false holds | no-face images confirmed by MTCNN | cascade faces missed |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (k, side) in sides.iter().enumerate() {
        for &t in &screens {
            let alone = move |_: &Item, o: &Outcome| o.tiny[k].0 >= t;
            let both = move |_: &Item, o: &Outcome| o.tiny[k].0 >= t && o.mtcnn;
            let (ah, aw) = count(&alone);
            let (ch, cw) = count(&both);
            println!(
                "| {side} | {t} | {} | {} | {} | {} | {} | {} |",
                rate(ah, faces),
                rate(aw, others),
                rate(ch, faces),
                rate(cw, others),
                rate(aw, others),
                names(&both, true)
            );
        }
    }
    if let Some(bench) = bench {
        bench_photos(Path::new(&bench), &mtcnn, &float, &cascade, &probes, &sides);
    }
    if let Some(recorded) = float.recorded() {
        println!();
        for (net, ranges) in ["P-Net", "R-Net", "O-Net"].iter().zip(recorded) {
            let ranges: Vec<String> = ranges
                .iter()
                .map(|r| match r {
                    Some(r) => format!("{:.4}..{:.4}", r.lo, r.hi),
                    None => "—".to_owned(),
                })
                .collect();
            println!("{net} convolutions' input ranges: {}", ranges.join(", "));
        }
    }
}

/// Whole-scan times of each candidate over the bench photographs, 5 scans each.
fn bench_photos(
    dir: &Path,
    mtcnn: &Mtcnn,
    float: &Mtcnn,
    cascade: &Cascade,
    probes: &[Probe],
    sides: &[u32],
) {
    let mut photos: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("bench dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    photos.sort();
    let mut candidates: Vec<(String, &dyn FaceDetector)> = vec![
        ("MTCNN".to_owned(), mtcnn as &dyn FaceDetector),
        ("MTCNN in f32".to_owned(), float as &dyn FaceDetector),
        ("cascade".to_owned(), cascade as &dyn FaceDetector),
    ];
    for (p, side) in probes.iter().zip(sides) {
        candidates.push((
            format!("tiny screen alone, {side} px"),
            p as &dyn FaceDetector,
        ));
    }
    println!();
    println!("| candidate | group | photos | faces found in | median / p99 whole scan (5 each) |");
    println!("|---|---|---|---|---|");
    let mut windows: Vec<(String, Vec<(u64, u64)>)> = Vec::new();
    for (name, detector) in candidates {
        let counted = name == "MTCNN";
        let mut groups: Vec<(String, Vec<Duration>, usize, usize)> = Vec::new();
        for path in &photos {
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            let people = file.starts_with("people");
            let size = imagesize(path);
            let group = format!(
                "{} at {}",
                if people { "people" } else { "no face" },
                if size.0 >= 4000 {
                    "4000×3000"
                } else {
                    "1920×1080"
                }
            );
            let mut found = false;
            let mut times = Vec::new();
            let before = mtcnn.windows();
            for _ in 0..5 {
                let started = cpu_now();
                let scan = scan_image(path, detector).expect("decodes");
                times.push(cpu_now().saturating_sub(started));
                found = !scan.faces.is_empty();
            }
            if counted {
                let (r, o) = scored_since(mtcnn, before);
                let per_scan = (r / 5, o / 5);
                match windows.iter_mut().find(|w| w.0 == group) {
                    Some(w) => w.1.push(per_scan),
                    None => windows.push((group.clone(), vec![per_scan])),
                }
            }
            match groups.iter_mut().find(|g| g.0 == group) {
                Some(g) => {
                    g.1.extend(times);
                    g.2 += 1;
                    g.3 += usize::from(found);
                }
                None => groups.push((group, times, 1, usize::from(found))),
            }
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (group, times, n, found) in groups {
            println!(
                "| {name} | {group} | {n} | {found} | {} |",
                median_p99(times)
            );
        }
    }
    windows.sort_by(|a, b| a.0.cmp(&b.0));
    println!();
    println!("| MTCNN's windows per scan | |");
    println!("|---|---|");
    for (group, scored) in windows {
        println!("| {group} | {} |", windows_per_image(&scored));
    }
}

/// The windows R-Net and O-Net of `mtcnn` have scored since it counted `before`.
fn scored_since(mtcnn: &Mtcnn, before: WindowCounts) -> (u64, u64) {
    let now = mtcnn.windows();
    (now.rnet - before.rnet, now.onet - before.onet)
}

/// Mean and largest count of R-Net's and O-Net's windows over images.
fn windows_per_image(scored: &[(u64, u64)]) -> String {
    let n = scored.len().max(1) as f64;
    let mean = |f: fn(&(u64, u64)) -> u64| scored.iter().map(f).sum::<u64>() as f64 / n;
    let most = |f: fn(&(u64, u64)) -> u64| scored.iter().map(f).max().unwrap_or(0);
    format!(
        "R-Net {:.1} a scan (at most {}), O-Net {:.1} (at most {}), {} images",
        mean(|w| w.0),
        most(|w| w.0),
        mean(|w| w.1),
        most(|w| w.1),
        scored.len()
    )
}

fn imagesize(path: &Path) -> (u32, u32) {
    image::image_dimensions(path).unwrap_or((0, 0))
}
