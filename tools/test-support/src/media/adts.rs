//! An AAC stream in ADTS framing (what encoders write to `.aac` files), split into its frames.

use anyhow::{Context, bail};

const SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// The frames of an ADTS stream (each with its 7- or 9-byte header, as `muxide` takes them).
#[derive(Debug, Clone)]
pub struct AdtsStream<'a> {
    pub sample_rate: u32,
    pub channels: u16,
    pub frames: Vec<&'a [u8]>,
}

impl<'a> AdtsStream<'a> {
    pub fn parse(stream: &'a [u8]) -> anyhow::Result<Self> {
        let mut frames = Vec::new();
        let mut rest = stream;
        let mut format = None;
        while !rest.is_empty() {
            let Some(h) = rest.get(..7) else {
                bail!(
                    "an ADTS header is cut short at byte {}",
                    stream.len() - rest.len()
                );
            };
            if h[0] != 0xFF || h[1] & 0xF0 != 0xF0 {
                bail!("no ADTS sync word at byte {}", stream.len() - rest.len());
            }
            let rate_index = usize::from((h[2] >> 2) & 0x0F);
            let rate = *SAMPLE_RATES
                .get(rate_index)
                .context("an ADTS sample rate index")?;
            let channels = u16::from(((h[2] & 0x01) << 2) | (h[3] >> 6));
            let len = (usize::from(h[3] & 0x03) << 11)
                | (usize::from(h[4]) << 3)
                | usize::from(h[5] >> 5);
            if len < 7 || len > rest.len() {
                bail!("an ADTS frame of {len} bytes does not fit the stream");
            }
            if *format.get_or_insert((rate, channels)) != (rate, channels) {
                bail!("the ADTS stream changes its sample rate or channels");
            }
            frames.push(&rest[..len]);
            rest = &rest[len..];
        }
        let Some((sample_rate, channels)) = format else {
            bail!("the ADTS stream is empty");
        };
        Ok(Self {
            sample_rate,
            channels,
            frames,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 44.1 kHz mono ADTS header for a frame of `len` bytes.
    fn header(len: usize) -> Vec<u8> {
        vec![
            0xFF,
            0xF1,
            0x50,
            0x40 | ((len >> 11) as u8 & 0x03),
            (len >> 3) as u8,
            ((len as u8 & 0x07) << 5) | 0x1F,
            0xFC,
        ]
    }

    #[test]
    fn frames_are_split_on_their_lengths() {
        let mut stream = header(10);
        stream.extend_from_slice(&[1, 2, 3]);
        stream.extend(header(8));
        stream.push(4);
        let parsed = AdtsStream::parse(&stream).expect("parses");
        assert_eq!((parsed.sample_rate, parsed.channels), (44_100, 1));
        assert_eq!(parsed.frames.len(), 2);
        assert_eq!(parsed.frames[0].len(), 10);
        assert_eq!(parsed.frames[1], &stream[10..]);
        assert!(AdtsStream::parse(&stream[..12]).is_err());
        assert!(AdtsStream::parse(b"not aac at all").is_err());
    }
}
