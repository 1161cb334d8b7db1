//! 16-bit PCM WAV files written directly (a 44-byte header, then the samples).

fn wav(rate: u32, channels: u16, frames: u32, mut sample: impl FnMut(u32) -> i16) -> Vec<u8> {
    let block = u32::from(channels) * 2;
    let data_len = frames * block;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * block).to_le_bytes());
    out.extend_from_slice(&(block as u16).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let s = sample(i).to_le_bytes();
        for _ in 0..channels {
            out.extend_from_slice(&s);
        }
    }
    out
}

/// `millis` of a 440 Hz sine at an eighth of full scale, on every channel.
pub fn tone_wav(millis: u32, rate: u32, channels: u16) -> Vec<u8> {
    let frames = (u64::from(rate) * u64::from(millis) / 1000) as u32;
    let step = 2.0 * std::f64::consts::PI * 440.0 / f64::from(rate);
    wav(rate, channels, frames, |i| {
        ((f64::from(i) * step).sin() * f64::from(i16::MAX) / 8.0) as i16
    })
}

/// A mono WAV of `seconds` of a quiet square wave at `rate` Hz.
pub fn square_wav(seconds: u32, rate: u32) -> Vec<u8> {
    wav(rate, 1, seconds * rate, |i| {
        if (i / 20) % 2 == 0 { 800 } else { -800 }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_rate_channels_and_length() {
        let mono = tone_wav(3000, 44_100, 1);
        assert_eq!(mono.len(), 44 + 3 * 44_100 * 2);
        assert_eq!(&mono[..4], b"RIFF");
        assert_eq!(&mono[8..16], b"WAVEfmt ");
        let stereo = tone_wav(1000, 48_000, 2);
        assert_eq!(stereo.len(), 44 + 48_000 * 4);
        // Byte rate and block alignment of 48 kHz stereo 16-bit.
        assert_eq!(
            u32::from_le_bytes([stereo[28], stereo[29], stereo[30], stereo[31]]),
            192_000
        );
        assert_eq!(u16::from_le_bytes([stereo[32], stereo[33]]), 4);
        assert_eq!(square_wav(3, 8000).len(), 44 + 3 * 8000 * 2);
    }
}
