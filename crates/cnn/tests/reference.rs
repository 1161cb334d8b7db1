//! MTCNN's three nets give what the ONNX project's reference evaluator gives on the same
//! inputs (`tests/reference.txt` and, on crops of real photographs, `tests/photo_reference.txt`,
//! both written by `tests/reference.py`).

use assetlib_cnn::{InputRange, Net, Tensor};

/// The committed nets, compiled in as the server compiles them in (src/moderation/mtcnn.rs).
fn model(net: &str) -> &'static [u8] {
    match net {
        "pnet" => include_bytes!("../../../models/mtcnn_pnet.onnx"),
        "rnet" => include_bytes!("../../../models/mtcnn_rnet.onnx"),
        "onet" => include_bytes!("../../../models/mtcnn_onet.onnx"),
        other => panic!("no net {other}"),
    }
}

/// x[n, i, j, c] = 0.9 sin(0.37 (1000 n + 31 i + 7 j + 3 c)), as tests/reference.py makes it.
fn input(shape: &[usize]) -> Tensor {
    let &[n, h, w, c] = shape else {
        panic!("shape {shape:?}")
    };
    let mut data = Vec::with_capacity(n * h * w * c);
    for a in 0..n {
        for i in 0..h {
            for j in 0..w {
                for k in 0..c {
                    let t = (1000 * a + 31 * i + 7 * j + 3 * k) as f64;
                    data.push((0.9 * (0.37 * t).sin()) as f32);
                }
            }
        }
    }
    Tensor::new(shape, data).expect("input")
}

fn numbers(line: &str) -> Vec<usize> {
    line.split_whitespace()
        .map(|v| v.parse().expect("a dimension"))
        .collect()
}

#[test]
fn the_nets_match_the_reference_evaluator() {
    let text = include_str!("reference.txt");
    let mut lines = text.lines();
    let mut checked = 0;
    while let (Some(head), Some(values)) = (lines.next(), lines.next()) {
        // "pnet 1 16 20 3 -> conv2d_4 1 3 5 4"
        let (left, right) = head.split_once(" -> ").expect("a case line");
        let (net, shape) = left.split_once(' ').expect("net and shape");
        let (name, out_shape) = right.split_once(' ').expect("output and shape");
        let expected: Vec<f32> = values
            .split_whitespace()
            .map(|v| v.parse().expect("a value"))
            .collect();
        checked_output(
            net,
            input(&numbers(shape)),
            name,
            out_shape,
            &expected,
            head,
        );
        checked += 1;
    }
    assert_eq!(checked, 9, "every output of every case");
}

/// Runs `net` on `x` and checks its output `name` has shape `out_shape` and, value by value,
/// the reference's `expected` within 1e-4; that output.
fn checked_output(
    net: &str,
    x: Tensor,
    name: &str,
    out_shape: &str,
    expected: &[f32],
    head: &str,
) -> Tensor {
    let mut outputs = Net::parse(model(net))
        .expect("parses")
        .run(x)
        .expect("runs");
    let at = output_names(net)
        .iter()
        .position(|n| *n == name)
        .unwrap_or_else(|| panic!("{net} has no output {name}"));
    let got = outputs.swap_remove(at);
    assert_eq!(got.shape(), numbers(out_shape), "{head}");
    for (i, (g, e)) in got.data().iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= 1e-4 + 1e-4 * e.abs(),
            "{head}: value {i}: {g} vs {e}"
        );
    }
    got
}

/// A square of `k · side` px of a test photograph from (x0, y0), every k-th pixel, as
/// `[1, x, y, 3]` of (v - 127.5) / 128 — how tests/reference.py reads it.
fn photo_input(photo: &str, [x0, y0, k, side]: [u32; 4]) -> Tensor {
    let path = format!(
        "{}/../../tests/fixtures/photos/{photo}.png",
        env!("CARGO_MANIFEST_DIR")
    );
    let rgb = image::open(&path).expect("the photo decodes").to_rgb8();
    let mut data = Vec::with_capacity((side * side * 3) as usize);
    for i in 0..side {
        for j in 0..side {
            let pixel = rgb.get_pixel(x0 + k * i, y0 + k * j);
            data.extend(pixel.0.iter().map(|&v| (f32::from(v) - 127.5) * 0.0078125));
        }
    }
    Tensor::new(&[1, side as usize, side as usize, 3], data).expect("input")
}

#[test]
fn face_scores_on_real_photographs_match_the_reference_evaluator() {
    let text = include_str!("photo_reference.txt");
    let mut lines = text.lines();
    let mut faces = Vec::new();
    while let (Some(head), Some(values)) = (lines.next(), lines.next()) {
        // "onet astronaut 165 80 2 48 -> softmax_2 1 2"
        let (left, right) = head.split_once(" -> ").expect("a case line");
        let words: Vec<&str> = left.split_whitespace().collect();
        let (net, photo) = (words[0], words[1]);
        let crop: Vec<u32> = words[2..]
            .iter()
            .map(|w| w.parse().expect("a number"))
            .collect();
        let (name, out_shape) = right.split_once(' ').expect("output and shape");
        let expected: Vec<f32> = values
            .split_whitespace()
            .map(|v| v.parse().expect("a value"))
            .collect();
        let x = photo_input(photo, [crop[0], crop[1], crop[2], crop[3]]);
        let got = checked_output(net, x, name, out_shape, &expected, head);
        if name.starts_with("softmax") {
            faces.push((format!("{net} {photo}"), best_face(got.data())));
        }
    }
    // The scores themselves: the astronaut's face is a face to every net, the cat's is not.
    let score = |case: &str| {
        faces
            .iter()
            .find(|(c, _)| c == case)
            .map(|(_, s)| *s)
            .unwrap_or_else(|| panic!("no case {case}"))
    };
    assert!(score("onet astronaut") > 0.999, "{faces:?}");
    assert!(score("rnet astronaut") > 0.99, "{faces:?}");
    assert!(score("pnet astronaut") > 0.99, "{faces:?}");
    assert!(score("onet chelsea") < 0.01, "{faces:?}");
}

/// The best face probability of a net's (not-face, face) pairs: every second value.
fn best_face(probabilities: &[f32]) -> f32 {
    probabilities
        .iter()
        .skip(1)
        .step_by(2)
        .fold(0f32, |a, &b| a.max(b))
}

/// The photo cases of `photo_reference.txt` with a face probability: net, photo, crop, and
/// the reference's best face probability.
fn photo_face_cases() -> Vec<(String, String, [u32; 4], f32)> {
    let mut cases = Vec::new();
    let mut lines = include_str!("photo_reference.txt").lines();
    while let (Some(head), Some(values)) = (lines.next(), lines.next()) {
        let (left, right) = head.split_once(" -> ").expect("a case line");
        if !right.starts_with("softmax") {
            continue;
        }
        let words: Vec<&str> = left.split_whitespace().collect();
        let crop: Vec<u32> = words[2..]
            .iter()
            .map(|w| w.parse().expect("a number"))
            .collect();
        let probabilities: Vec<f32> = values
            .split_whitespace()
            .map(|v| v.parse().expect("a value"))
            .collect();
        let best = best_face(&probabilities);
        let crop = [crop[0], crop[1], crop[2], crop[3]];
        cases.push((words[0].to_owned(), words[1].to_owned(), crop, best));
    }
    cases
}

#[test]
fn eight_bit_nets_keep_the_face_scores_on_real_photographs() {
    let cases = photo_face_cases();
    assert_eq!(cases.len(), 4, "{cases:?}");
    for net_name in ["pnet", "rnet", "onet"] {
        let float = Net::parse(model(net_name)).expect("parses");
        // Ranges recorded over this net's crops, the pixels' range for its first convolution
        // (as the detector sets it); P-Net's two 1×1 heads stay f32, as in the detector.
        let mut ranges = vec![None; float.convolutions()];
        for (_, photo, crop, _) in cases.iter().filter(|c| c.0 == net_name) {
            float
                .run_recording(photo_input(photo, *crop), &mut ranges)
                .expect("runs");
        }
        ranges[0] = Some(InputRange {
            lo: -127.5 / 128.0,
            hi: 127.5 / 128.0,
        });
        if net_name == "pnet" {
            let heads = ranges.len() - 2;
            ranges[heads..].fill(None);
        }
        let int8 = float.with_int8(&ranges).expect("8 bits");
        for (_, photo, crop, reference) in cases.iter().filter(|c| c.0 == net_name) {
            let outputs = int8.run(photo_input(photo, *crop)).expect("runs");
            let probabilities = outputs
                .iter()
                .find(|o| o.shape().last() == Some(&2))
                .expect("a face probability");
            let best = best_face(probabilities.data());
            assert!(
                (best - reference).abs() <= 0.02,
                "{net_name} on {photo}: {best} in 8 bits, {reference} in the reference"
            );
            // The same side of every threshold the detector uses (0.7 for P-Net and R-Net,
            // 0.9 for O-Net) as the reference, by a margin.
            if photo == "astronaut" {
                assert!(best > 0.97, "{net_name} on {photo}: {best}");
            } else {
                assert!(best < 0.03, "{net_name} on {photo}: {best}");
            }
        }
    }
}

/// The graph outputs' names, in order, as `Net::run` returns them.
fn output_names(net: &str) -> &'static [&'static str] {
    match net {
        "pnet" => &["conv2d_4", "softmax"],
        "rnet" => &["dense_2", "softmax_1"],
        "onet" => &["dense_5", "dense_6", "softmax_2"],
        other => panic!("no net {other}"),
    }
}

#[test]
fn a_net_with_an_unknown_operator_or_a_cut_file_is_refused_when_parsed() {
    let pnet = model("pnet");
    let cut = Net::parse(&pnet[..pnet.len() / 2]);
    assert!(cut.is_err());
    // "Softmax" renamed to an operator nobody knows (same length, so the file stays valid).
    let at = pnet
        .windows(7)
        .position(|w| w == b"Softmax")
        .expect("P-Net has a Softmax");
    let mut renamed = pnet.to_vec();
    renamed[at..at + 7].copy_from_slice(b"Softmix");
    let err = Net::parse(&renamed).err().expect("refused").to_string();
    assert!(err.contains("Softmix"), "{err}");
}

#[test]
fn an_input_too_small_for_the_net_is_an_error() {
    let net = Net::parse(model("rnet")).expect("parses");
    assert!(net.run(input(&[1, 5, 5, 3])).is_err());
    assert!(
        net.run(Tensor::new(&[2, 3], vec![0.0; 6]).expect("t"))
            .is_err()
    );
}
