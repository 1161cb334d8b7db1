//! Image header probing: format and dimensions from the header alone. Nothing is decoded,
//! so a 30000×30000 "decompression bomb" costs no more than any other header.

use imagesize::ImageError;

use super::{ProbeError, Probed, Source, invalid, read_at};
use crate::domain::{MediaFacts, codes};

/// Dimensions read from an image header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    pub width: u32,
    pub height: u32,
}

/// Why a header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageProbeError {
    /// More bytes are needed (the header runs past the given slice).
    #[error("the image header is incomplete")]
    NeedMoreData,
    #[error("the image header is corrupt or unsupported")]
    Corrupt,
}

/// Reads the dimensions from the header bytes (`head` may be a prefix of the file).
pub fn read_header(head: &[u8]) -> Result<ImageHeader, ImageProbeError> {
    match imagesize::blob_size(head) {
        Ok(size) => {
            let width = u32::try_from(size.width).map_err(|_| ImageProbeError::Corrupt)?;
            let height = u32::try_from(size.height).map_err(|_| ImageProbeError::Corrupt)?;
            if width == 0 || height == 0 {
                return Err(ImageProbeError::Corrupt);
            }
            Ok(ImageHeader { width, height })
        }
        Err(ImageError::IoError(_)) => Err(ImageProbeError::NeedMoreData),
        Err(_) => Err(ImageProbeError::Corrupt),
    }
}

/// Header windows tried in turn: most headers sit in the first 256 KB; a JPEG with a large
/// EXIF block may need a few MB. Never more than 8 MB is read.
const WINDOWS: [u64; 3] = [256 * 1024, 2 * 1024 * 1024, 8 * 1024 * 1024];

/// The end marker a complete file of `format` carries near its end, if it has one.
fn end_marker(format: &str) -> Option<&'static [u8]> {
    match format {
        "jpeg" => Some(b"\xff\xd9"),
        "png" => Some(b"IEND"),
        _ => None,
    }
}

pub fn probe(src: &mut dyn Source, len: u64, format: &str) -> Result<Probed, ProbeError> {
    if let Some(marker) = end_marker(format) {
        // Some writers append padding after the end marker: look at the last 4 KB.
        let tail = read_at(src, len.saturating_sub(4096), 4096)?;
        if !tail.windows(marker.len()).any(|w| w == marker) {
            return Err(invalid(
                &codes::IMAGE_UNREADABLE,
                format!("the {format} file is truncated: it has no end marker"),
            ));
        }
    }
    for window in WINDOWS {
        let head = read_at(src, 0, window)?;
        match read_header(&head) {
            Ok(h) => {
                return Ok(Probed {
                    format: format.to_owned(),
                    facts: MediaFacts {
                        width: Some(h.width),
                        height: Some(h.height),
                        ..MediaFacts::default()
                    },
                });
            }
            Err(ImageProbeError::NeedMoreData) if window < len => continue,
            Err(_) => break,
        }
    }
    Err(invalid(
        &codes::IMAGE_UNREADABLE,
        format!("the {format} header could not be read; the file is truncated or corrupt"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_png_header_and_refuses_garbage() {
        // 640x480 PNG IHDR.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            read_header(&png),
            Ok(ImageHeader {
                width: 640,
                height: 480
            })
        );
        assert!(read_header(b"not an image at all").is_err());
        assert!(read_header(&png[..10]).is_err());
    }
}
