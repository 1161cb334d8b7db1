//! Times MTCNN's three nets on the shapes the face check gives them: P-Net on the pyramid of a
//! 480×270 working image (faces down to 18 px), R-Net on 64 crops and O-Net on 16, in batches
//! of 16 as the detector runs them — wall time on one thread, best and median of repeated runs. The nets' arithmetic does not depend on the
//! pixels, so the input is a fixed pattern.
//!
//! With `MTCNN_SPEED_INT8=1`, the nets' convolutions run in 8 bits (`Net::with_int8`) as the
//! detector runs them (P-Net's two 1×1 heads stay `f32`), over ranges recorded on the inputs.
//!
//! cargo run --release -p assetlib-cnn --example mtcnn_speed [-- RUNS [pnet|rnet|onet]]

use std::time::{Duration, Instant};

use assetlib_cnn::{InputRange, Net, Tensor};

fn load(name: &str) -> Net {
    let path = format!("{}/../../models/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Net::parse(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A `[n, w, h, 3]` input of values in [-1, 1].
fn input(n: usize, w: usize, h: usize) -> Tensor {
    let data = (0..n * w * h * 3)
        .map(|i| ((i * 7919) % 255) as f32 / 127.5 - 1.0)
        .collect();
    Tensor::new(&[n, w, h, 3], data).expect("shape")
}

fn time(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut all: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    all.sort();
    (all[0], all[all.len() / 2])
}

fn main() {
    let runs = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(20usize);
    let only = std::env::args().nth(2);
    let wanted = |net: &str| only.as_deref().is_none_or(|o| o == net);
    let (mut pnet, mut rnet, mut onet) = (
        load("mtcnn_pnet.onnx"),
        load("mtcnn_rnet.onnx"),
        load("mtcnn_onet.onnx"),
    );
    // The pyramid of a 480×270 image from 18 px faces, step 0.6, levels padded to 8 px.
    let mut levels = Vec::new();
    let mut scale = 12.0f32 / 18.0;
    while 270.0 * scale >= 12.0 {
        let size = |v: f32| ((v * scale).ceil() as usize).div_ceil(8) * 8;
        levels.push(input(1, size(480.0), size(270.0)));
        scale *= 0.6;
    }
    let report = |name: &str, (best, median): (Duration, Duration)| {
        println!(
            "{name:<28} best {:>7.2} ms   median {:>7.2} ms",
            best.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3
        );
    };
    let first = levels[0].clone();
    if std::env::var_os("MTCNN_SPEED_INT8").is_some() {
        // Ranges recorded on the inputs below; P-Net's last two (its 1×1 heads) left out.
        let int8 = |net: Net, input: &Tensor, float_last: usize| {
            let mut ranges: Vec<Option<InputRange>> = vec![None; net.convolutions()];
            net.run_recording(input.clone(), &mut ranges)
                .expect("recording");
            let keep = ranges.len() - float_last;
            ranges[keep..].fill(None);
            net.with_int8(&ranges).expect("int8")
        };
        pnet = int8(pnet, &first, 2);
        rnet = int8(rnet, &input(16, 24, 24), 0);
        onet = int8(onet, &input(16, 48, 48), 0);
        println!("convolutions in 8 bits");
    }
    if wanted("pnet") {
        report(
            &format!("P-Net, first level {:?}", &first.shape()[1..3]),
            time(runs, || {
                pnet.run(first.clone()).expect("P-Net");
            }),
        );
        report(
            &format!("P-Net, {} levels", levels.len()),
            time(runs, || {
                for level in &levels {
                    pnet.run(level.clone()).expect("P-Net");
                }
            }),
        );
    }
    let crops = input(16, 24, 24);
    if wanted("rnet") {
        report(
            "R-Net, 64 crops",
            time(runs, || {
                for _ in 0..4 {
                    rnet.run(crops.clone()).expect("R-Net");
                }
            }),
        );
    }
    let crops = input(16, 48, 48);
    if wanted("onet") {
        report(
            "O-Net, 16 crops",
            time(runs, || {
                onet.run(crops.clone()).expect("O-Net");
            }),
        );
    }
}
