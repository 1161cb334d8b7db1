//! Frames of a video for the face check: the first frame and evenly spaced keyframes of an
//! H.264 track in mp4/mov, located through the sample tables and decoded in-process by
//! OpenH264. Other codecs are not decoded (the `unscannable` policy applies).

use std::io::Cursor;

use image::RgbImage;
use mp4parse::{SampleEntry, TrackType, VideoCodecSpecific};
use openh264::decoder::Decoder;
use openh264::formats::YUVSource;

use crate::probe::video::load_header_boxes;
use crate::probe::{ProbeError, Source, read_at};

/// A keyframe larger than this is not read.
const MAX_SAMPLE_BYTES: u64 = 8 * 1024 * 1024;

/// Decoded frames in colour, the first one first (it becomes the poster).
pub struct Frames {
    pub rgb: Vec<RgbImage>,
    /// When each frame is decoded in the video, in milliseconds from its start (its decode
    /// time from the sample table), in the same order; empty when the track has no timescale.
    pub millis: Vec<u64>,
}

/// The decode time of sample `index` (0-based), in milliseconds, from the track's `stts`.
fn sample_millis(track: &mp4parse::Track, index: usize) -> Option<u64> {
    let scale = track.timescale.as_ref()?.0;
    if scale == 0 {
        return None;
    }
    let mut left = index as u64;
    let mut ticks: u64 = 0;
    for entry in track.stts.as_ref()?.samples.iter() {
        let count = u64::from(entry.sample_count);
        let n = left.min(count);
        ticks = ticks.saturating_add(n.saturating_mul(u64::from(entry.sample_delta)));
        left -= n;
        if left == 0 {
            break;
        }
    }
    Some(ticks.saturating_mul(1000) / scale)
}

/// Why frames could not be had.
fn unscannable(why: impl Into<String>) -> String {
    why.into()
}

/// Parameter sets and NAL length size from an `avcC` box body.
fn parse_avcc(avcc: &[u8]) -> Option<(Vec<u8>, usize)> {
    let length_size = usize::from(avcc.get(4)? & 0b11) + 1;
    let mut annexb = Vec::new();
    let mut at = 5;
    let sps_count = usize::from(avcc.get(at)? & 0x1F);
    at += 1;
    for _ in 0..sps_count {
        let len = usize::from(u16::from_be_bytes([*avcc.get(at)?, *avcc.get(at + 1)?]));
        annexb.extend_from_slice(&[0, 0, 0, 1]);
        annexb.extend_from_slice(avcc.get(at + 2..at + 2 + len)?);
        at += 2 + len;
    }
    let pps_count = usize::from(*avcc.get(at)?);
    at += 1;
    for _ in 0..pps_count {
        let len = usize::from(u16::from_be_bytes([*avcc.get(at)?, *avcc.get(at + 1)?]));
        annexb.extend_from_slice(&[0, 0, 0, 1]);
        annexb.extend_from_slice(avcc.get(at + 2..at + 2 + len)?);
        at += 2 + len;
    }
    Some((annexb, length_size))
}

/// Length-prefixed NAL units → Annex B (start codes).
fn to_annexb(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> Option<()> {
    let mut at = 0;
    while at < sample.len() {
        let len_bytes = sample.get(at..at + length_size)?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        at += length_size;
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(sample.get(at..at + len)?);
        at += len;
    }
    Some(())
}

/// (offset, size) of every sample of a track, from its chunk tables.
fn sample_locations(track: &mp4parse::Track) -> Option<Vec<(u64, u32)>> {
    let stsz = track.stsz.as_ref()?;
    let stsc = track.stsc.as_ref()?;
    let stco = track.stco.as_ref()?;
    let count = if stsz.sample_size == 0 {
        stsz.sample_sizes.len()
    } else {
        usize::MAX
    };
    let size_of = |i: usize| -> Option<u32> {
        if stsz.sample_size != 0 {
            Some(stsz.sample_size)
        } else {
            stsz.sample_sizes.get(i).copied()
        }
    };
    let mut out = Vec::new();
    let mut sample = 0usize;
    let runs = &stsc.samples;
    for (chunk_index, chunk_offset) in stco.offsets.iter().enumerate() {
        let chunk_no = chunk_index as u32 + 1;
        let per_chunk = runs
            .iter()
            .filter(|r| r.first_chunk <= chunk_no)
            .last()
            .map(|r| r.samples_per_chunk)?;
        let mut offset = *chunk_offset;
        for _ in 0..per_chunk {
            if sample >= count || out.len() > 100_000 {
                return Some(out);
            }
            let size = size_of(sample)?;
            out.push((offset, size));
            offset += u64::from(size);
            sample += 1;
        }
    }
    Some(out)
}

/// Up to `max` frames: the first, then keyframes spread evenly over the video.
pub fn frames(src: &mut dyn Source, len: u64, max: usize) -> Result<Frames, String> {
    let header = load_header_boxes(src, len).map_err(|e| match e {
        ProbeError::Invalid(v) => v.message,
        ProbeError::Io(e) => e.to_string(),
    })?;
    let context = mp4parse::read_mp4(&mut Cursor::new(&header))
        .map_err(|e| unscannable(format!("the movie header does not parse ({e:?})")))?;
    let track = context
        .tracks
        .iter()
        .find(|t| t.track_type == TrackType::Video)
        .ok_or_else(|| unscannable("no video track"))?;
    let avcc = match track.stsd.as_ref().and_then(|s| s.descriptions.first()) {
        Some(SampleEntry::Video(v)) => match &v.codec_specific {
            VideoCodecSpecific::AVCConfig(avcc) => avcc.to_vec(),
            _ => {
                return Err(unscannable(
                    "its codec is not H.264; only H.264 video is decoded here",
                ));
            }
        },
        _ => {
            return Err(unscannable(
                "its codec is not H.264; only H.264 video is decoded here",
            ));
        }
    };
    let (parameter_sets, length_size) =
        parse_avcc(&avcc).ok_or_else(|| unscannable("its H.264 configuration is malformed"))?;
    let locations =
        sample_locations(track).ok_or_else(|| unscannable("its sample tables are incomplete"))?;
    if locations.is_empty() {
        return Err(unscannable("it has no frames"));
    }
    // Sync samples are 1-based; without an stss box every sample is a sync sample.
    let sync: Vec<usize> = match &track.stss {
        Some(stss) => stss
            .samples
            .iter()
            .map(|s| (*s as usize).saturating_sub(1))
            .collect(),
        None => (0..locations.len()).collect(),
    };
    let mut picks: Vec<usize> = vec![0];
    if sync.len() > 1 && max > 1 {
        let step = (sync.len() as f64 / (max - 1) as f64).max(1.0);
        let mut k = step;
        while (k as usize) < sync.len() && picks.len() < max {
            picks.push(sync[k as usize]);
            k += step;
        }
    }
    picks.sort_unstable();
    picks.dedup();

    let mut rgb = Vec::new();
    let mut millis = Vec::new();
    for index in picks {
        let Some(&(offset, size)) = locations.get(index) else {
            continue;
        };
        if u64::from(size) > MAX_SAMPLE_BYTES || offset + u64::from(size) > len {
            continue;
        }
        let sample = read_at(src, offset, u64::from(size)).map_err(|e| e.to_string())?;
        let mut packet = parameter_sets.clone();
        if to_annexb(&sample, length_size, &mut packet).is_none() {
            continue;
        }
        let mut decoder =
            Decoder::new().map_err(|e| format!("the H.264 decoder failed to start: {e}"))?;
        let frame = match decoder.decode(&packet) {
            Ok(Some(frame)) => frame_rgb(&frame),
            Ok(None) | Err(_) => decoder
                .flush_remaining()
                .ok()
                .and_then(|mut frames| frames.pop().and_then(|f| frame_rgb(&f))),
        };
        if let Some(frame) = frame {
            rgb.push(frame);
            millis.extend(sample_millis(track, index));
        }
    }
    if rgb.is_empty() {
        return Err(unscannable("none of its keyframes could be decoded"));
    }
    if millis.len() != rgb.len() {
        millis.clear();
    }
    Ok(Frames { rgb, millis })
}

fn frame_rgb(frame: &impl YUVSource) -> Option<RgbImage> {
    let (w, h) = frame.dimensions();
    let mut buf = vec![0u8; w * h * 3];
    write_rgb(frame, &mut buf);
    RgbImage::from_raw(w as u32, h as u32, buf)
}

/// I420 → RGB (BT.601). A row whose planes hold all of it is converted from slices taken once
/// (no bounds check per pixel); a short plane (a malformed frame) leaves its missing samples at
/// black luma and neutral chroma.
fn write_rgb(frame: &impl YUVSource, out: &mut [u8]) {
    let (w, h) = frame.dimensions();
    let (sy, su, sv) = frame.strides();
    let (y, u, v) = (frame.y(), frame.u(), frame.v());
    if w == 0 {
        return;
    }
    let half = w.div_ceil(2);
    for (row, out) in out.chunks_exact_mut(w * 3).take(h).enumerate() {
        let planes = (
            y.get(row * sy..row * sy + w),
            u.get((row / 2) * su..(row / 2) * su + half),
            v.get((row / 2) * sv..(row / 2) * sv + half),
        );
        if let (Some(y), Some(u), Some(v)) = planes {
            for (col, (px, &yy)) in out.chunks_exact_mut(3).zip(y).enumerate() {
                rgb_pixel(px, yy, u[col / 2], v[col / 2]);
            }
        } else {
            for (col, px) in out.chunks_exact_mut(3).enumerate() {
                let yy = y.get(row * sy + col).copied().unwrap_or(0);
                let uu = u.get((row / 2) * su + col / 2).copied().unwrap_or(128);
                let vv = v.get((row / 2) * sv + col / 2).copied().unwrap_or(128);
                rgb_pixel(px, yy, uu, vv);
            }
        }
    }
}

/// One pixel's RGB from its luma and chroma samples.
#[inline(always)]
fn rgb_pixel(px: &mut [u8], y: u8, u: u8, v: u8) {
    let yy = f32::from(y);
    let uu = f32::from(u) - 128.0;
    let vv = f32::from(v) - 128.0;
    px[0] = (yy + 1.402 * vv).clamp(0.0, 255.0) as u8;
    px[1] = (yy - 0.344 * uu - 0.714 * vv).clamp(0.0, 255.0) as u8;
    px[2] = (yy + 1.772 * uu).clamp(0.0, 255.0) as u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Planes of any length, with their strides.
    struct Planes {
        size: (usize, usize),
        strides: (usize, usize, usize),
        y: Vec<u8>,
        u: Vec<u8>,
        v: Vec<u8>,
    }

    impl YUVSource for Planes {
        fn dimensions(&self) -> (usize, usize) {
            self.size
        }
        fn strides(&self) -> (usize, usize, usize) {
            self.strides
        }
        fn y(&self) -> &[u8] {
            &self.y
        }
        fn u(&self) -> &[u8] {
            &self.u
        }
        fn v(&self) -> &[u8] {
            &self.v
        }
    }

    /// The conversion pixel by pixel, every sample looked up on its own (black luma and neutral
    /// chroma where a plane is short).
    fn reference(p: &Planes) -> Vec<u8> {
        let (w, h) = p.size;
        let (sy, su, sv) = p.strides;
        let mut out = vec![0u8; w * h * 3];
        for row in 0..h {
            for col in 0..w {
                let yy = f32::from(p.y.get(row * sy + col).copied().unwrap_or(0));
                let uu =
                    f32::from(p.u.get((row / 2) * su + col / 2).copied().unwrap_or(128)) - 128.0;
                let vv =
                    f32::from(p.v.get((row / 2) * sv + col / 2).copied().unwrap_or(128)) - 128.0;
                let at = (row * w + col) * 3;
                out[at] = (yy + 1.402 * vv).clamp(0.0, 255.0) as u8;
                out[at + 1] = (yy - 0.344 * uu - 0.714 * vv).clamp(0.0, 255.0) as u8;
                out[at + 2] = (yy + 1.772 * uu).clamp(0.0, 255.0) as u8;
            }
        }
        out
    }

    fn planes(w: usize, h: usize, cut: usize) -> Planes {
        let (sy, sc) = (w + 3, w.div_ceil(2) + 5);
        let fill = |n: usize, k: usize| (0..n).map(|i| ((i * k + i / 7) % 256) as u8).collect();
        let mut y: Vec<u8> = fill(sy * h, 31);
        y.truncate(y.len().saturating_sub(cut));
        Planes {
            size: (w, h),
            strides: (sy, sc, sc),
            y,
            u: fill(sc * h.div_ceil(2), 17),
            v: fill(sc * h.div_ceil(2), 53),
        }
    }

    #[test]
    fn rows_convert_as_pixel_by_pixel_even_with_short_planes() {
        for (w, h, cut) in [
            (16, 8, 0),
            (17, 9, 0),
            (1, 1, 0),
            (33, 5, 40),
            (16, 8, 1000),
        ] {
            let p = planes(w, h, cut);
            let mut out = vec![1u8; w * h * 3];
            write_rgb(&p, &mut out);
            assert_eq!(out, reference(&p), "{w}×{h}, luma {cut} bytes short");
        }
    }
}
