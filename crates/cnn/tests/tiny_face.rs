//! The tiny face detector gives what face-api's own TensorFlow.js inference gives on real
//! photographs (`tests/tiny_face_reference.txt`, written by `tests/tiny_face_reference.cjs`):
//! every raw output, and the face scores and boxes themselves.

use assetlib_cnn::tiny_face::{self, TinyFaceNet};

static MANIFEST: &str =
    include_str!("../../../models/tiny_face_detector_model-weights_manifest.json");
static WEIGHTS: &[u8] = include_bytes!("../../../models/tiny_face_detector_model.bin");

/// face-api's input: the image padded to a square with zeros on the right or at the bottom,
/// then a bilinear resize to `size`² (TensorFlow's, corners not aligned, no half-pixel
/// centres), then `(v − mean) / 255`.
fn package_input(rgb: &image::RgbImage, size: usize) -> Vec<f32> {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let side = w.max(h);
    let px = |x: usize, y: usize, c: usize| -> f32 {
        if x < w && y < h {
            f32::from(rgb.get_pixel(x as u32, y as u32)[c])
        } else {
            0.0
        }
    };
    let scale = side as f32 / size as f32;
    let mut out = Vec::with_capacity(size * size * 3);
    for oy in 0..size {
        let sy = oy as f32 * scale;
        let (y0, y1) = (sy.floor() as usize, (sy.ceil() as usize).min(side - 1));
        let fy = sy - y0 as f32;
        for ox in 0..size {
            let sx = ox as f32 * scale;
            let (x0, x1) = (sx.floor() as usize, (sx.ceil() as usize).min(side - 1));
            let fx = sx - x0 as f32;
            for c in 0..3 {
                let top = px(x0, y0, c) + (px(x1, y0, c) - px(x0, y0, c)) * fx;
                let bottom = px(x0, y1, c) + (px(x1, y1, c) - px(x0, y1, c)) * fx;
                let v = top + (bottom - top) * fy;
                out.push((v - tiny_face::MEAN_RGB[c]) / 255.0);
            }
        }
    }
    out
}

fn floats(line: &str) -> Vec<f32> {
    line.split_whitespace()
        .map(|v| v.parse().expect("a number"))
        .collect()
}

#[test]
fn faces_match_the_package_on_real_photographs() {
    let net = TinyFaceNet::from_tfjs(MANIFEST, WEIGHTS).expect("the weights load");
    let text = include_str!("tiny_face_reference.txt");
    let mut lines = text.lines();
    let mut checked = 0;
    while let (Some(head), Some(values), Some(faces)) = (lines.next(), lines.next(), lines.next()) {
        // "astronaut 512 512 416 -> 1 13 13 25"
        let words: Vec<&str> = head.split_whitespace().collect();
        let (name, size): (&str, usize) = (words[0], words[3].parse().expect("a size"));
        let file = match name {
            "astronaut" => "astronaut.png",
            "camera" => "camera.png",
            "chelsea" => "chelsea.png",
            other => panic!("no photo {other}"),
        };
        let path = format!(
            "{}/../../tests/fixtures/photos/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let rgb = image::open(&path).expect("the photo decodes").to_rgb8();
        let out = net
            .run(&package_input(&rgb, size), size, size)
            .expect("the net runs");
        assert_eq!(out.shape(), &[13, 13, 25], "{name}");

        // PNGs: the same pixels here as in the reference (a JPEG's may differ by a level
        // between decoders, and the outputs with them).
        let tolerance = 2e-3;
        let expected = floats(values);
        assert_eq!(expected.len(), out.data().len());
        let worst = expected
            .iter()
            .zip(out.data())
            .map(|(e, g)| (e - g).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= tolerance,
            "{name}: raw outputs differ by up to {worst}"
        );

        // The faces: "faces SCORE X Y W H ..." (boxes in the photo's pixels).
        let expected = floats(faces.strip_prefix("faces").expect("a faces line"));
        let side = rgb.width().max(rgb.height()) as f32 / size as f32;
        let mut found = tiny_face::boxes(&out, 0.5);
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        checked += 1;
        if expected.is_empty() {
            assert!(
                found.is_empty(),
                "{name}: no face in the reference, {found:?} here"
            );
            assert!(tiny_face::best_score(&out) < 0.5);
            continue;
        }
        let best = found.first().expect("a face is found");
        let (score, x, y, w, h) = (
            expected[0],
            expected[1],
            expected[2],
            expected[3],
            expected[4],
        );
        assert!(score > 0.6, "{name}: a face ({score})");
        assert!(
            (best.score - score).abs() <= 1e-3,
            "{name}: face score {} where the package gives {score}",
            best.score
        );
        for (got, want) in [
            (best.x * side, x),
            (best.y * side, y),
            (best.width * side, w),
            (best.height * side, h),
        ] {
            assert!(
                (got - want).abs() <= 2.0,
                "{name}: box {best:?} against {expected:?}"
            );
        }
        assert_eq!(
            tiny_face::best_score(&out),
            best.score,
            "{name}: the best score is the best face's"
        );
    }
    assert_eq!(checked, 3);
}

#[test]
fn weights_that_do_not_match_the_manifest_are_refused() {
    assert!(TinyFaceNet::from_tfjs(MANIFEST, &WEIGHTS[1..]).is_err());
    assert!(TinyFaceNet::from_tfjs("{", WEIGHTS).is_err());
    let net = TinyFaceNet::from_tfjs(MANIFEST, WEIGHTS).expect("the weights load");
    assert!(net.run(&[0.0; 10], 2, 5).is_err());
}
