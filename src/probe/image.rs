//! Image header probing: format and dimensions from the header alone (nothing is decoded).

use imagesize::ImageError;

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
