//! ISO-BMFF (mp4, mov) probing. The top-level boxes are walked by seeking over their headers
//! (the media data is never read); only `ftyp` and `moov` are loaded, and `moov` is parsed by
//! the `mp4parse` crate. Frame rate comes from the sample table, not from a guess.

use std::io::{Cursor, SeekFrom};

use mp4parse::{CodecType, SampleEntry, Track, TrackType};

use super::{ProbeError, Source, invalid, read_at};
use crate::domain::{MediaFacts, codes};

/// A `moov` larger than this is refused rather than loaded (real ones are a few hundred KB
/// for 15 s of video).
const MAX_MOOV: u64 = 16 * 1024 * 1024;
/// At most this many top-level boxes are walked.
const MAX_TOP_BOXES: usize = 4096;

fn unreadable(message: impl Into<String>) -> ProbeError {
    invalid(&codes::VIDEO_UNREADABLE, message)
}

/// Loads `ftyp` + `moov` (in that order) from the top-level boxes.
pub(crate) fn load_header_boxes(src: &mut dyn Source, len: u64) -> Result<Vec<u8>, ProbeError> {
    let mut pos = 0u64;
    let mut ftyp = Vec::new();
    let mut moov = None;
    for _ in 0..MAX_TOP_BOXES {
        if pos + 8 > len {
            break;
        }
        let head = read_at(src, pos, 16)?;
        if head.len() < 8 {
            break;
        }
        let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let kind = [head[4], head[5], head[6], head[7]];
        let (header_len, size) = match size32 {
            0 => (8, len - pos),
            1 if head.len() >= 16 => {
                let mut large = [0u8; 8];
                large.copy_from_slice(&head[8..16]);
                (16, u64::from_be_bytes(large))
            }
            1 => return Err(unreadable("the mp4 file is truncated inside a box header")),
            n => (8, u64::from(n)),
        };
        let name = if kind.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            String::from_utf8_lossy(&kind).to_string()
        } else {
            format!("0x{:08x}", u32::from_be_bytes(kind))
        };
        if size < header_len {
            return Err(unreadable(format!(
                "the mp4 box '{name}' has an impossible size {size}"
            )));
        }
        let end = pos.saturating_add(size);
        if end > len {
            return Err(unreadable(format!(
                "the mp4 file is truncated: its '{name}' box needs {size} bytes but only {} remain",
                len - pos
            )));
        }
        match &kind {
            b"moov" if moov.is_some() => {
                return Err(unreadable(
                    "the mp4 file has two movie headers (moov boxes)",
                ));
            }
            b"moov" => {
                if size > MAX_MOOV {
                    return Err(unreadable(format!(
                        "the mp4 movie header is {size} bytes; at most {MAX_MOOV} are read"
                    )));
                }
                moov = Some(read_at(src, pos, size)?);
            }
            b"ftyp" if size <= 4096 && ftyp.is_empty() => ftyp = read_at(src, pos, size)?,
            _ => {}
        }
        // Every box is walked (headers only) so a cut anywhere in the file is noticed.
        pos = end;
        src.seek(SeekFrom::Start(pos))?;
    }
    let Some(moov) = moov else {
        return Err(unreadable(
            "the mp4 file has no movie header (moov box); it is truncated or not a finished recording",
        ));
    };
    let mut out = ftyp;
    out.extend_from_slice(&moov);
    Ok(out)
}

fn codec_name(codec: CodecType) -> &'static str {
    match codec {
        CodecType::H264 => "h264",
        CodecType::MP4V => "mpeg4",
        CodecType::AV1 => "av1",
        CodecType::VP9 => "vp9",
        CodecType::VP8 => "vp8",
        CodecType::H263 => "h263",
        CodecType::AAC => "aac",
        CodecType::MP3 => "mp3",
        CodecType::FLAC => "flac",
        CodecType::Opus => "opus",
        CodecType::LPCM => "pcm",
        CodecType::ALAC => "alac",
        CodecType::EncryptedVideo | CodecType::EncryptedAudio => "encrypted",
        _ => "unknown",
    }
}

/// Sample-entry four-character codes in `stsd` order (for codecs `mp4parse` does not name,
/// such as HEVC).
fn stsd_fourccs(moov: &[u8]) -> Vec<[u8; 4]> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(found) = moov[i..].windows(4).position(|w| w == b"stsd") {
        let at = i + found;
        // 'stsd' · version/flags(4) · entry_count(4) · entry size(4) · entry fourcc(4)
        if let Some(code) = moov.get(at + 16..at + 20) {
            out.push([code[0], code[1], code[2], code[3]]);
        }
        i = at + 4;
    }
    out
}

fn track_codec(track: &Track, index: usize, fourccs: &[[u8; 4]]) -> String {
    let entry = track.stsd.as_ref().and_then(|s| s.descriptions.first());
    let known = match entry {
        Some(SampleEntry::Video(v)) => codec_name(v.codec_type),
        Some(SampleEntry::Audio(a)) => codec_name(a.codec_type),
        _ => "unknown",
    };
    if known != "unknown" {
        return known.to_owned();
    }
    match fourccs.get(index) {
        Some(b"hvc1" | b"hev1") => "hevc".to_owned(),
        Some(code) if code.iter().all(u8::is_ascii_alphanumeric) => {
            String::from_utf8_lossy(code).to_string()
        }
        _ => "unknown".to_owned(),
    }
}

/// Facts of an mp4/mov file: size, duration, frame rate, codecs.
pub fn probe(src: &mut dyn Source, len: u64) -> Result<MediaFacts, ProbeError> {
    let header = load_header_boxes(src, len)?;
    let fourccs = stsd_fourccs(&header);
    let context = mp4parse::read_mp4(&mut Cursor::new(&header))
        .map_err(|e| unreadable(format!("the mp4 movie header does not parse ({e:?})")))?;
    let tracks = &context.tracks;
    let Some((video_index, video)) = tracks
        .iter()
        .enumerate()
        .find(|(_, t)| t.track_type == TrackType::Video)
    else {
        return Err(invalid(
            &codes::VIDEO_NO_VIDEO_TRACK,
            "the file has no video track (an audio-only mp4?); a Video needs one",
        ));
    };
    let timescale = video
        .timescale
        .map(|t| t.0)
        .filter(|t| *t > 0)
        .ok_or_else(|| unreadable("the video track has no timescale"))?;
    let duration = video
        .duration
        .map(|d| d.0)
        .filter(|d| *d > 0)
        .ok_or_else(|| unreadable("the video track has no duration"))?;
    let frames: u64 = video
        .stts
        .as_ref()
        .map(|stts| stts.samples.iter().map(|s| u64::from(s.sample_count)).sum())
        .unwrap_or(0);
    if frames == 0 {
        return Err(unreadable(
            "the video track has no frames in its sample table",
        ));
    }
    let (width, height) = match video.stsd.as_ref().and_then(|s| s.descriptions.first()) {
        Some(SampleEntry::Video(v)) => (u32::from(v.width), u32::from(v.height)),
        _ => video
            .tkhd
            .as_ref()
            .map(|t| (t.width >> 16, t.height >> 16))
            .unwrap_or((0, 0)),
    };
    if width == 0 || height == 0 {
        return Err(unreadable(
            "the video track does not state its width and height",
        ));
    }
    let audio = tracks
        .iter()
        .enumerate()
        .find(|(_, t)| t.track_type == TrackType::Audio);
    let fps = frames as f64 * timescale as f64 / duration as f64;
    Ok(MediaFacts {
        width: Some(width),
        height: Some(height),
        duration_ms: Some(duration.saturating_mul(1000) / timescale),
        fps: Some((fps * 1000.0).round() / 1000.0),
        video_codec: Some(track_codec(video, video_index, &fourccs)),
        audio_codec: audio.map(|(i, t)| track_codec(t, i, &fourccs)),
        ..MediaFacts::default()
    })
}
