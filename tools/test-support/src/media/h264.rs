//! H.264 MP4 clips: frames encoded by OpenH264 (real H.264 with real IDR keyframes, decodable by
//! the server's face check) and muxed into an ISO-BMFF file by `muxide`.

use anyhow::{Context, anyhow, bail};
use muxide::api::{AacProfile, AudioCodec, MuxerBuilder, VideoCodec};
use openh264::OpenH264API;
use openh264::encoder::{
    Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
};
use openh264::formats::{RgbSliceU8, YUVBuffer};

use super::AdtsStream;

/// The shape of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clip {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: u32,
    /// An IDR keyframe every this many frames (the first frame is always one).
    pub keyframe_every: u32,
    /// `moov` before `mdat` ("faststart"); otherwise after it, as most recorders write.
    pub fast_start: bool,
}

/// What every frame shows.
enum Picture<'a> {
    /// Colour bars with a white block moving across them.
    Bars,
    /// The same RGB picture (`width × height × 3` bytes) in every frame.
    Still(&'a [u8]),
}

impl Clip {
    /// `seconds` at `fps`, a keyframe every 250 frames (x264's default), `moov` at the end.
    pub fn new(width: u32, height: u32, fps: u32, seconds: u32) -> Self {
        Self {
            width,
            height,
            fps,
            frames: fps * seconds,
            keyframe_every: 250,
            fast_start: false,
        }
    }

    /// The same clip with `moov` before `mdat`.
    pub fn fast_start(self) -> Self {
        Self {
            fast_start: true,
            ..self
        }
    }

    /// A keyframe every `frames` frames.
    pub fn keyframe_every(self, frames: u32) -> Self {
        Self {
            keyframe_every: frames.max(1),
            ..self
        }
    }

    /// Moving colour bars, video only.
    pub fn bars(&self) -> anyhow::Result<Vec<u8>> {
        self.mp4(Picture::Bars, None)
    }

    /// Moving colour bars with the AAC frames of an ADTS stream as a second track.
    pub fn bars_with_aac(&self, adts: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.mp4(Picture::Bars, Some(&AdtsStream::parse(adts)?))
    }

    /// A still picture: `rgb` holds `width × height` RGB pixels.
    pub fn still(&self, rgb: &[u8]) -> anyhow::Result<Vec<u8>> {
        let want = self.width as usize * self.height as usize * 3;
        if rgb.len() != want {
            bail!(
                "a {}x{} RGB picture has {want} bytes, not {}",
                self.width,
                self.height,
                rgb.len()
            );
        }
        self.mp4(Picture::Still(rgb), None)
    }

    fn mp4(&self, picture: Picture<'_>, audio: Option<&AdtsStream<'_>>) -> anyhow::Result<Vec<u8>> {
        if self.width % 2 == 1 || self.height % 2 == 1 || self.fps == 0 || self.frames == 0 {
            bail!("a clip needs even dimensions, a frame rate and frames: {self:?}");
        }
        let mut builder = MuxerBuilder::new(Vec::new())
            .video(
                VideoCodec::H264,
                self.width,
                self.height,
                f64::from(self.fps),
            )
            .with_fast_start(self.fast_start);
        if let Some(aac) = audio {
            builder = builder.audio(
                AudioCodec::Aac(AacProfile::Lc),
                aac.sample_rate,
                aac.channels,
            );
        }
        let mut muxer = builder.build().map_err(|e| anyhow!("muxide: {e}"))?;
        let mut encoder = self.encoder()?;
        let (w, h) = (self.width as usize, self.height as usize);
        let still = match picture {
            Picture::Still(rgb) => Some(YUVBuffer::from_rgb8_source(RgbSliceU8::new(rgb, (w, h)))),
            Picture::Bars => None,
        };
        let background = bars(w, h);
        for i in 0..self.frames {
            let encoded = match &still {
                Some(yuv) => encoder.encode(yuv),
                None => encoder.encode(&YUVBuffer::from_vec(
                    moving_block(&background, w, h, i as usize),
                    w,
                    h,
                )),
            }
            .context("OpenH264 encoding a frame")?;
            let keyframe = encoded.frame_type() == FrameType::IDR;
            let bytes = encoded.to_vec();
            if bytes.is_empty() {
                bail!("OpenH264 skipped frame {i}");
            }
            let pts = f64::from(i) / f64::from(self.fps);
            muxer
                .write_video(pts, &bytes, keyframe)
                .map_err(|e| anyhow!("muxide: {e}"))?;
        }
        if let Some(aac) = audio {
            write_aac(&mut muxer, aac)?;
        }
        muxer
            .finish_in_place()
            .map_err(|e| anyhow!("muxide: {e}"))?;
        Ok(muxer.into_writer())
    }

    fn encoder(&self) -> anyhow::Result<Encoder> {
        // A fixed quantiser (no rate control): every frame is kept, at a quality the face check
        // reads well; OpenH264's default QP is 26.
        let config = EncoderConfig::new()
            .skip_frames(false)
            .rate_control_mode(RateControlMode::Off)
            .max_frame_rate(FrameRate::from_hz(self.fps as f32))
            .intra_frame_period(IntraFramePeriod::from_num_frames(self.keyframe_every))
            .scene_change_detect(false)
            .num_threads(1);
        Encoder::with_api_config(OpenH264API::from_source(), config)
            .context("starting the OpenH264 encoder")
    }
}

fn write_aac(muxer: &mut muxide::api::Muxer<Vec<u8>>, aac: &AdtsStream<'_>) -> anyhow::Result<()> {
    for (i, frame) in aac.frames.iter().enumerate() {
        // Every AAC-LC frame holds 1024 samples.
        let pts = i as f64 * 1024.0 / f64::from(aac.sample_rate);
        muxer
            .write_audio(pts, frame)
            .map_err(|e| anyhow!("muxide: {e}"))?;
    }
    Ok(())
}

/// An MP4 (`isom` brand) holding only the AAC frames of an ADTS stream.
pub fn aac_mp4(adts: &[u8]) -> anyhow::Result<Vec<u8>> {
    let aac = AdtsStream::parse(adts)?;
    let mut muxer = MuxerBuilder::new(Vec::new())
        .audio(
            AudioCodec::Aac(AacProfile::Lc),
            aac.sample_rate,
            aac.channels,
        )
        .with_fast_start(false)
        .build()
        .map_err(|e| anyhow!("muxide: {e}"))?;
    write_aac(&mut muxer, &aac)?;
    muxer
        .finish_in_place()
        .map_err(|e| anyhow!("muxide: {e}"))?;
    Ok(muxer.into_writer())
}

/// Eight colour bars (BT.601 levels) as I420 planes.
fn bars(w: usize, h: usize) -> Vec<u8> {
    const BARS: [(u8, u8, u8); 8] = [
        (235, 128, 128),
        (210, 16, 146),
        (170, 166, 16),
        (145, 54, 34),
        (106, 202, 222),
        (81, 90, 240),
        (41, 240, 110),
        (16, 128, 128),
    ];
    let mut planes = vec![0u8; w * h * 3 / 2];
    let (luma, chroma) = planes.split_at_mut(w * h);
    let (u, v) = chroma.split_at_mut(w * h / 4);
    let row: Vec<u8> = (0..w).map(|x| BARS[x * 8 / w].0).collect();
    for line in luma.chunks_exact_mut(w) {
        line.copy_from_slice(&row);
    }
    for y in 0..h / 2 {
        for x in 0..w / 2 {
            let (_, cb, cr) = BARS[x * 16 / w];
            u[y * (w / 2) + x] = cb;
            v[y * (w / 2) + x] = cr;
        }
    }
    planes
}

/// `bars` with a white block moved 8 px further right each frame.
fn moving_block(bars: &[u8], w: usize, h: usize, frame: usize) -> Vec<u8> {
    let mut planes = bars.to_vec();
    let side = h / 4;
    let left = (frame * 8) % w;
    let right = (left + side).min(w);
    for y in h / 2 - side / 2..h / 2 + side / 2 {
        planes[y * w + left..y * w + right].fill(255);
    }
    planes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The top-level boxes of an MP4, in order.
    fn boxes(mp4: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 8 <= mp4.len() {
            let size = u32::from_be_bytes([mp4[at], mp4[at + 1], mp4[at + 2], mp4[at + 3]]);
            out.push(String::from_utf8_lossy(&mp4[at + 4..at + 8]).into_owned());
            at += size as usize;
        }
        out
    }

    #[test]
    fn clips_put_moov_where_asked() {
        let clip = Clip::new(64, 48, 24, 1);
        let plain = clip.bars().expect("clip");
        assert_eq!(boxes(&plain), ["ftyp", "mdat", "moov"]);
        let fast = clip.fast_start().bars().expect("clip");
        assert_eq!(boxes(&fast), ["ftyp", "moov", "mdat"]);
        let still = clip.still(&vec![90; 64 * 48 * 3]).expect("still");
        assert_eq!(boxes(&still)[0], "ftyp");
        assert!(clip.still(&[0; 10]).is_err(), "a picture of the wrong size");
        assert!(Clip::new(63, 48, 24, 1).bars().is_err(), "odd width");
    }
}
