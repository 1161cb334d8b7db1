//! Test media made in-process, so no system tool is needed: H.264 MP4 clips (OpenH264, the
//! codec library the server decodes with, muxed by `muxide`), an AAC track taken from an ADTS
//! stream, and WAV tones.

mod adts;
mod h264;
mod wav;

pub use adts::AdtsStream;
pub use h264::{Clip, aac_mp4};
pub use wav::{square_wav, tone_wav};
