//! The previous detector, still selectable: SeetaFace's frontal funnel cascade (through `rustface`), with the
//! model compiled into the binary.

use image::RgbImage;
use image::imageops::FilterType;

use super::{FaceBox, FaceDetector};

static MODEL: &[u8] = include_bytes!("../../models/seeta_fd_frontal_v1.0.bin");

/// SeetaFace frontal detector. Images are scanned at most `work_side` px on their longer side.
pub struct SeetaDetector {
    model: rustface::Model,
    work_side: u32,
    min_face: u32,
    threshold: f64,
}

impl SeetaDetector {
    /// The embedded model with the tuned defaults (see docs/MODERATION.md).
    pub fn embedded() -> std::io::Result<Self> {
        Ok(Self {
            model: rustface::read_model(MODEL)?,
            work_side: 800,
            min_face: 40,
            threshold: 1.5,
        })
    }

    /// Overrides the score threshold (higher = fewer, surer faces).
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }
}

impl FaceDetector for SeetaDetector {
    fn detect(&self, image: &RgbImage) -> Result<Vec<FaceBox>, String> {
        let gray = image::DynamicImage::ImageRgb8(image.clone()).into_luma8();
        let image = &gray;
        let (w, h) = image.dimensions();
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let scale = (self.work_side as f64 / w.max(h) as f64).min(1.0);
        let scaled;
        let work = if scale < 1.0 {
            let sw = ((w as f64 * scale).round() as u32).max(1);
            let sh = ((h as f64 * scale).round() as u32).max(1);
            scaled = image::imageops::resize(image, sw, sh, FilterType::Triangle);
            &scaled
        } else {
            image
        };
        let (ww, wh) = work.dimensions();
        if ww < self.min_face || wh < self.min_face {
            return Ok(Vec::new());
        }
        // A detector holds scratch state; one per call keeps this `Sync` (the model clone is cheap
        // next to a scan).
        let mut detector = rustface::create_detector_with_model(self.model.clone());
        detector.set_min_face_size(self.min_face);
        detector.set_score_thresh(self.threshold);
        detector.set_pyramid_scale_factor(0.8);
        detector.set_slide_window_step(4, 4);
        let faces = detector.detect(&rustface::ImageData::new(work.as_raw(), ww, wh));
        Ok(faces
            .into_iter()
            .map(|f| {
                let b = f.bbox();
                let unscale = |v: f64| (v / scale).max(0.0).round() as u32;
                FaceBox {
                    x: unscale(f64::from(b.x())),
                    y: unscale(f64::from(b.y())),
                    width: unscale(f64::from(b.width())),
                    height: unscale(f64::from(b.height())),
                    score: (f.score() * 100.0).round() / 100.0,
                    frame: None,
                }
            })
            .collect())
    }

    fn name(&self) -> &'static str {
        "seetaface-frontal-1.0"
    }

    /// The cascade looks for faces of at least 40 px (20 px is its model's window); at the
    /// default 480 px it misses the small faces of group photos (docs/MODERATION.md).
    fn working_side(&self) -> u32 {
        640
    }
}
