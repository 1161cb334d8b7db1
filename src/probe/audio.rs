//! Audio probing: WAV (RIFF/WAVE chunks) and MP3 (MPEG audio frames, with or without ID3).
//! Durations come from the data: the WAV data chunk and byte rate, or the MP3 Xing/Info/VBRI
//! frame count, else a walk over every frame header (the audio itself is never decoded).

use std::io::{BufReader, Read, SeekFrom};

use super::{ProbeError, Probed, Source, invalid, read_at};
use crate::domain::{MediaFacts, codes};

fn unreadable(format: &str, detail: impl std::fmt::Display) -> ProbeError {
    invalid(
        &codes::AUDIO_UNREADABLE,
        format!("the {format} file cannot be read: {detail}"),
    )
}

pub fn probe(src: &mut dyn Source, len: u64, format: &str) -> Result<Probed, ProbeError> {
    let facts = match format {
        "wav" => probe_wav(src, len)?,
        "mp3" => probe_mp3(src, len)?,
        // Other audio families are refused by the format rule; no facts needed.
        _ => MediaFacts::default(),
    };
    Ok(Probed {
        format: format.to_owned(),
        facts,
    })
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn probe_wav(src: &mut dyn Source, len: u64) -> Result<MediaFacts, ProbeError> {
    let head = read_at(src, 0, 12)?;
    if head.len() < 12 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Err(unreadable("wav", "no RIFF/WAVE header"));
    }
    let mut pos = 12u64;
    let mut fmt: Option<(u16, u16, u32, u32, u16)> = None;
    let mut data_len: Option<u64> = None;
    for _ in 0..1024 {
        if pos + 8 > len {
            break;
        }
        let chunk = read_at(src, pos, 8)?;
        if chunk.len() < 8 {
            break;
        }
        let size = u64::from(le32(&chunk, 4));
        match &chunk[0..4] {
            b"fmt " => {
                let body = read_at(src, pos + 8, size.min(64))?;
                if body.len() < 16 {
                    return Err(unreadable("wav", "its fmt chunk is too short"));
                }
                fmt = Some((
                    le16(&body, 0),
                    le16(&body, 2),
                    le32(&body, 4),
                    le32(&body, 8),
                    le16(&body, 14),
                ));
            }
            b"data" => {
                // Streams written without a final size say 0 or 0xFFFFFFFF: use what is there.
                let available = len - (pos + 8);
                data_len = Some(if size == 0 || size == 0xFFFF_FFFF {
                    available
                } else {
                    size.min(available)
                });
                if fmt.is_some() {
                    break;
                }
            }
            _ => {}
        }
        pos = pos + 8 + size + (size & 1);
    }
    let (tag, channels, sample_rate, byte_rate, bits) =
        fmt.ok_or_else(|| unreadable("wav", "it has no fmt chunk"))?;
    let data_len = data_len.ok_or_else(|| unreadable("wav", "it has no data chunk"))?;
    if byte_rate == 0 || sample_rate == 0 || channels == 0 {
        return Err(unreadable(
            "wav",
            "its fmt chunk states a zero rate or channel count",
        ));
    }
    let codec = match tag {
        1 => format!("pcm_s{bits}le"),
        3 => format!("pcm_f{bits}le"),
        6 => "pcm_alaw".to_owned(),
        7 => "pcm_mulaw".to_owned(),
        0xFFFE => format!("pcm_{bits}bit"),
        other => format!("wav_0x{other:04x}"),
    };
    Ok(MediaFacts {
        duration_ms: Some(data_len.saturating_mul(1000) / u64::from(byte_rate)),
        audio_codec: Some(codec),
        sample_rate: Some(sample_rate),
        channels: Some(u32::from(channels)),
        ..MediaFacts::default()
    })
}

/// One parsed MPEG audio frame header.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Frame {
    layer: u8,
    mpeg1: bool,
    sample_rate: u32,
    samples: u32,
    length: u32,
    mono: bool,
}

const BITRATES_V1: [[u32; 15]; 3] = [
    [
        0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
];
const BITRATES_V2: [[u32; 15]; 2] = [
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

fn parse_frame(h: [u8; 4]) -> Option<Frame> {
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 0b11; // 0 = 2.5, 2 = 2, 3 = 1
    let layer = match (h[1] >> 1) & 0b11 {
        0b01 => 3,
        0b10 => 2,
        0b11 => 1,
        _ => return None,
    };
    if version == 1 {
        return None;
    }
    let bitrate_index = usize::from(h[2] >> 4);
    let rate_index = usize::from((h[2] >> 2) & 0b11);
    if bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    let padding = u32::from((h[2] >> 1) & 1);
    let mpeg1 = version == 3;
    let base_rate = [44100, 48000, 32000][rate_index];
    let sample_rate = match version {
        3 => base_rate,
        2 => base_rate / 2,
        _ => base_rate / 4,
    };
    let kbps = if mpeg1 {
        BITRATES_V1[usize::from(layer - 1)][bitrate_index]
    } else {
        BITRATES_V2[usize::from(layer != 1)][bitrate_index]
    };
    let bps = kbps * 1000;
    let (samples, length) = match (layer, mpeg1) {
        (1, _) => (384, (12 * bps / sample_rate + padding) * 4),
        (2, _) | (3, true) => (1152, 144 * bps / sample_rate + padding),
        _ => (576, 72 * bps / sample_rate + padding),
    };
    (length >= 24).then_some(Frame {
        layer,
        mpeg1,
        sample_rate,
        samples,
        length,
        mono: (h[3] >> 6) == 0b11,
    })
}

/// Bytes of an ID3v2 tag at the start (0 when there is none).
fn id3v2_len(src: &mut dyn Source) -> Result<u64, ProbeError> {
    let head = read_at(src, 0, 10)?;
    if head.len() < 10 || &head[0..3] != b"ID3" {
        return Ok(0);
    }
    let size = head[6..10]
        .iter()
        .fold(0u64, |acc, b| (acc << 7) | u64::from(b & 0x7F));
    let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
    Ok(10 + size + footer)
}

/// Frame count from a Xing/Info or VBRI header in the first frame, if it has one.
fn header_frame_count(frame: &Frame, bytes: &[u8]) -> Option<u64> {
    let side_info = match (frame.mpeg1, frame.mono) {
        (true, false) => 32,
        (true, true) | (false, false) => 17,
        (false, true) => 9,
    };
    let xing = 4 + side_info;
    if let Some(tag) = bytes.get(xing..xing + 12)
        && (&tag[0..4] == b"Xing" || &tag[0..4] == b"Info")
        && tag[7] & 1 == 1
    {
        let frames = u32::from_be_bytes([tag[8], tag[9], tag[10], tag[11]]);
        return (frames > 0).then_some(u64::from(frames));
    }
    if let Some(tag) = bytes.get(36..36 + 18)
        && &tag[0..4] == b"VBRI"
    {
        let frames = u32::from_be_bytes([tag[14], tag[15], tag[16], tag[17]]);
        return (frames > 0).then_some(u64::from(frames));
    }
    None
}

fn probe_mp3(src: &mut dyn Source, len: u64) -> Result<MediaFacts, ProbeError> {
    let start = id3v2_len(src)?;
    if start >= len {
        return Err(unreadable("mp3", "it holds only a tag, no audio frames"));
    }
    // Find the first frame within 64 KB of the tag, confirmed by the frame after it.
    let window = read_at(src, start, 64 * 1024)?;
    let mut first = None;
    for at in 0..window.len().saturating_sub(4) {
        let Some(f) = parse_frame([window[at], window[at + 1], window[at + 2], window[at + 3]])
        else {
            continue;
        };
        let next = at + f.length as usize;
        let confirmed = match window.get(next..next + 4) {
            Some(h) => parse_frame([h[0], h[1], h[2], h[3]])
                .is_some_and(|n| n.sample_rate == f.sample_rate),
            None => start + next as u64 >= len, // a single-frame file
        };
        if confirmed {
            first = Some((at, f));
            break;
        }
    }
    let (at, frame) = first.ok_or_else(|| unreadable("mp3", "no MPEG audio frames were found"))?;
    if frame.layer != 3 {
        return Err(invalid(
            &codes::AUDIO_FORMAT,
            format!(
                "mp{} is not an accepted audio format; accepted: wav, mp3",
                frame.layer
            ),
        ));
    }
    let facts = |frames: u64| MediaFacts {
        duration_ms: Some(frames * u64::from(frame.samples) * 1000 / u64::from(frame.sample_rate)),
        audio_codec: Some("mp3".to_owned()),
        sample_rate: Some(frame.sample_rate),
        channels: Some(if frame.mono { 1 } else { 2 }),
        ..MediaFacts::default()
    };
    if let Some(frames) = header_frame_count(&frame, &window[at..]) {
        return Ok(facts(frames));
    }
    // No frame count: walk every frame header (4 bytes each, the rest is skipped).
    src.seek(SeekFrom::Start(start + at as u64))?;
    let mut reader = BufReader::with_capacity(64 * 1024, src);
    let mut pos = start + at as u64;
    let mut frames = 0u64;
    let mut header = [0u8; 4];
    while pos + 4 <= len {
        if reader.read_exact(&mut header).is_err() {
            break;
        }
        match parse_frame(header) {
            Some(f) if f.sample_rate == frame.sample_rate => {
                frames += 1;
                pos += u64::from(f.length);
                let skip = i64::from(f.length) - 4;
                reader.seek_relative(skip)?;
            }
            // A trailing ID3v1 tag, junk, or a cut: stop counting.
            _ => break,
        }
    }
    Ok(facts(frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_128k_mpeg1_layer3_header() {
        let f = parse_frame([0xFF, 0xFB, 0x90, 0x64]).expect("frame");
        assert_eq!(
            (f.layer, f.mpeg1, f.sample_rate, f.samples, f.length),
            (3, true, 44100, 1152, 417)
        );
        assert!(
            parse_frame([0xFF, 0xFB, 0xF0, 0x64]).is_none(),
            "bad bitrate"
        );
        assert!(
            parse_frame([0xFF, 0xFB, 0x9C, 0x64]).is_none(),
            "reserved rate"
        );
        assert!(parse_frame([0x00, 0xFB, 0x90, 0x64]).is_none(), "no sync");
    }
}
