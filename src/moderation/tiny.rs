//! face-api's tiny face detector (a single-shot detector of 190 kB, run by `assetlib-cnn`'s
//! `tiny_face`), and a cascade: the tiny detector screens every image at a permissive
//! threshold, and MTCNN confirms — and places the boxes of — only the images it flags. Both are
//! candidates measured by `examples/face_eval.rs`, not the server's detector: on the labelled
//! set the screen loses faces (small, masked, blurred) long before it lets MTCNN skip most
//! faceless photos (docs/MODERATION.md), so the server runs MTCNN alone.

use image::RgbImage;
use image::imageops::FilterType;

use assetlib_cnn::tiny_face::{self, CELL, TinyFaceNet};

use super::{FaceBox, FaceDetector, Mtcnn};

/// The weights of the npm package `@vladmandic/face-api` 1.7.15 (MIT; see `models/README.md`).
static MANIFEST: &str = include_str!("../../models/tiny_face_detector_model-weights_manifest.json");
static WEIGHTS: &[u8] = include_bytes!("../../models/tiny_face_detector_model.bin");

/// Longer side of the tiny detector's input, in pixels (a multiple of its 32 px cell): the
/// package's own default.
const INPUT_SIDE: u32 = 416;
/// The package's own default threshold, for boxes of the tiny detector alone.
const THRESHOLD: f32 = 0.5;
/// The cascade's screen: images whose best tiny-detector score is below this pass unchecked
/// by MTCNN (the highest recall measured on the labelled set, see docs/MODERATION.md).
const SCREEN_THRESHOLD: f32 = 0.02;
/// Overlap above which the weaker of two boxes is dropped.
const IOU_LIMIT: f32 = 0.4;

/// The tiny face detector: the image resized to `side` px on its longer side, padded with
/// black to whole cells on the right and at the bottom.
pub struct TinyFace {
    net: TinyFaceNet,
    side: u32,
    threshold: f32,
}

impl TinyFace {
    pub fn embedded() -> anyhow::Result<Self> {
        Ok(Self {
            net: TinyFaceNet::from_tfjs(MANIFEST, WEIGHTS)?,
            side: INPUT_SIDE,
            threshold: THRESHOLD,
        })
    }

    /// Overrides the longer side of the input (rounded up to whole cells).
    pub fn with_side(mut self, side: u32) -> Self {
        self.side = side.max(CELL as u32).div_ceil(CELL as u32) * CELL as u32;
        self
    }

    /// Overrides the lowest score of a box.
    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// The net's output on `image` and the factor from input pixels back to the image's.
    fn run(&self, image: &RgbImage) -> Result<(assetlib_cnn::Tensor, f32), String> {
        let (w, h) = image.dimensions();
        if w == 0 || h == 0 {
            return Err("an empty image".to_owned());
        }
        let scale = self.side as f32 / w.max(h) as f32;
        let fit = |v: u32| ((v as f32 * scale).round() as u32).clamp(1, self.side);
        let (sw, sh) = (fit(w), fit(h));
        let resized;
        let input_image = if (sw, sh) == (w, h) {
            image
        } else {
            resized = image::imageops::resize(image, sw, sh, FilterType::Triangle);
            &resized
        };
        let align = |v: u32| v.div_ceil(CELL as u32) * CELL as u32;
        let (pw, ph) = (align(sw) as usize, align(sh) as usize);
        let black = tiny_face::normalize(&[0, 0, 0]);
        let mut input = Vec::with_capacity(pw * ph * 3);
        let normalized = tiny_face::normalize(input_image.as_raw());
        for row in normalized.chunks_exact(sw as usize * 3) {
            input.extend_from_slice(row);
            for _ in sw as usize..pw {
                input.extend_from_slice(&black);
            }
        }
        for _ in sh as usize * pw..ph * pw {
            input.extend_from_slice(&black);
        }
        let out = self
            .net
            .run(&input, ph, pw)
            .map_err(|e| format!("the tiny face detector did not run: {e}"))?;
        Ok((out, 1.0 / scale))
    }

    /// The best face score anywhere in `image` (0–1).
    pub fn best_score(&self, image: &RgbImage) -> Result<f32, String> {
        Ok(tiny_face::best_score(&self.run(image)?.0))
    }
}

impl FaceDetector for TinyFace {
    fn detect(&self, image: &RgbImage) -> Result<Vec<FaceBox>, String> {
        let (out, back) = self.run(image)?;
        let mut found = tiny_face::boxes(&out, self.threshold);
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut kept: Vec<tiny_face::Detection> = Vec::new();
        for d in found {
            let clash = kept.iter().any(|k| {
                let iw = (k.x + k.width).min(d.x + d.width) - k.x.max(d.x);
                let ih = (k.y + k.height).min(d.y + d.height) - k.y.max(d.y);
                let inter = iw.max(0.0) * ih.max(0.0);
                inter / (k.width * k.height + d.width * d.height - inter) > IOU_LIMIT
            });
            if !clash {
                kept.push(d);
            }
        }
        let (w, h) = (image.width() as f32, image.height() as f32);
        Ok(kept
            .into_iter()
            .map(|d| {
                let x1 = (d.x * back).clamp(0.0, w);
                let y1 = (d.y * back).clamp(0.0, h);
                let x2 = ((d.x + d.width) * back).clamp(0.0, w);
                let y2 = ((d.y + d.height) * back).clamp(0.0, h);
                FaceBox {
                    x: x1.round() as u32,
                    y: y1.round() as u32,
                    width: (x2 - x1).round() as u32,
                    height: (y2 - y1).round() as u32,
                    score: (f64::from(d.score) * 100.0).round() / 100.0,
                    frame: None,
                }
            })
            .collect())
    }

    fn name(&self) -> &'static str {
        "tinyface"
    }
}

/// The tiny detector screens, MTCNN confirms and places the boxes.
pub struct Cascade {
    screen: TinyFace,
    confirm: Mtcnn,
    screen_threshold: f32,
}

impl Cascade {
    pub fn embedded() -> anyhow::Result<Self> {
        Ok(Self {
            screen: TinyFace::embedded()?,
            confirm: Mtcnn::embedded()?,
            screen_threshold: SCREEN_THRESHOLD,
        })
    }

    /// Overrides the screen's threshold (lower = more images confirmed by MTCNN).
    pub fn with_screen_threshold(mut self, threshold: f32) -> Self {
        self.screen_threshold = threshold;
        self
    }

    /// Overrides the screen's input side.
    pub fn with_screen_side(mut self, side: u32) -> Self {
        self.screen = self.screen.with_side(side);
        self
    }

    /// Overrides MTCNN's final threshold.
    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.confirm = self.confirm.with_threshold(threshold);
        self
    }
}

impl FaceDetector for Cascade {
    fn detect(&self, image: &RgbImage) -> Result<Vec<FaceBox>, String> {
        if self.screen.best_score(image)? < self.screen_threshold {
            return Ok(Vec::new());
        }
        self.confirm.detect(image)
    }

    fn name(&self) -> &'static str {
        "tinyface+mtcnn"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(name: &str) -> RgbImage {
        let path = format!(
            "{}/tests/fixtures/photos/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        image::open(path).expect("the photo decodes").to_rgb8()
    }

    #[test]
    fn the_tiny_detector_finds_the_astronauts_face_where_it_is() {
        let tiny = TinyFace::embedded().expect("the weights load");
        let faces = tiny.detect(&photo("astronaut.png")).expect("runs");
        assert_eq!(faces.len(), 1, "{faces:?}");
        let f = &faces[0];
        // The face-api package itself, at 416 px: score 0.975, box (163, 76) 116×111.
        assert!(f.score >= 0.95, "{f:?}");
        let centre = (f.x + f.width / 2, f.y + f.height / 2);
        assert!(
            (200..250).contains(&centre.0) && (100..160).contains(&centre.1),
            "{f:?}"
        );
        assert!(tiny.best_score(&photo("coffee.png")).expect("runs") < 0.1);
    }

    #[test]
    fn the_cascade_gives_mtcnns_boxes_for_what_the_screen_flags() {
        let cascade = Cascade::embedded().expect("the weights load");
        let mtcnn = Mtcnn::embedded().expect("the weights load");
        let astronaut = photo("astronaut.png");
        let held = cascade.detect(&astronaut).expect("runs");
        assert!(!held.is_empty());
        assert_eq!(held, mtcnn.detect(&astronaut).expect("runs"));
        assert_eq!(cascade.name(), "tinyface+mtcnn");
        // A screen no image passes: nothing reaches MTCNN, nothing is held.
        let strict = Cascade::embedded()
            .expect("loads")
            .with_screen_threshold(1.1);
        assert!(strict.detect(&astronaut).expect("runs").is_empty());
        assert!(
            cascade
                .detect(&photo("coffee.png"))
                .expect("runs")
                .is_empty()
        );
    }
}
