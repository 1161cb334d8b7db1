//! Magic-byte sniffing: decides what the bytes are, never trusting names or Content-Type.

use crate::domain::AssetType;

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    /// The asset type whose family this format belongs to, if any.
    pub family: Option<AssetType>,
    /// Short format name: `jpeg`, `png`, `mp4`, `wav`, `pdf`, `text`, `html`, `zip`…
    pub format: String,
    /// A readable description for error messages, e.g. "an HTML page".
    pub description: String,
}

/// Sniffs the head of a file (the first few KB are enough).
pub fn sniff(head: &[u8]) -> Sniffed {
    if head.is_empty() {
        return Sniffed {
            family: None,
            format: "empty".into(),
            description: "an empty file".into(),
        };
    }
    if let Some(kind) = infer::get(head) {
        return from_infer(kind.extension(), kind.mime_type());
    }
    if looks_like_text(head) {
        return Sniffed {
            family: Some(AssetType::Document),
            format: "text".into(),
            description: "UTF-8 text".into(),
        };
    }
    Sniffed {
        family: None,
        format: "unknown".into(),
        description: "binary data of no recognised media format".into(),
    }
}

fn from_infer(ext: &str, mime: &str) -> Sniffed {
    let (family, format) = match ext {
        "jpg" => (Some(AssetType::Image), "jpeg"),
        "tif" => (Some(AssetType::Image), "tiff"),
        // An iTunes-branded ISO-BMFF file is an mp4 container.
        "m4v" => (Some(AssetType::Video), "mp4"),
        "png" | "gif" | "webp" | "bmp" | "heif" | "avif" | "ico" | "jxl" | "jp2" | "jxr"
        | "psd" | "cr2" | "ora" | "djvu" => (Some(AssetType::Image), ext),
        "mp4" | "mov" | "mkv" | "webm" | "avi" | "wmv" | "mpg" | "flv" => {
            (Some(AssetType::Video), ext)
        }
        "mp3" | "wav" | "m4a" | "opus" | "ogg" | "flac" | "amr" | "aac" | "aiff" | "dsf"
        | "ape" | "midi" => (Some(AssetType::Audio), ext),
        "pdf" | "docx" | "xlsx" | "pptx" | "doc" | "xls" | "ppt" | "odt" | "ods" | "odp"
        | "rtf" | "epub" | "zip" => (Some(AssetType::Document), ext),
        "html" | "xml" => (Some(AssetType::Document), ext),
        _ => (None, ext),
    };
    let description = match format {
        "html" => "an HTML page".to_owned(),
        "xml" => "an XML document".to_owned(),
        other => format!("{other} ({mime})"),
    };
    Sniffed {
        family,
        format: format.to_owned(),
        description,
    }
}

/// The ISO-BMFF major brands of HEIF images and image sequences (HEVC-coded `heic`, `heix`,
/// `hevc`, `hevx`, their multi-layer and sequence forms, and the generic `mif1`/`msf1`).
const HEIF_BRANDS: [&[u8; 4]; 10] = [
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
];

/// The HEIF brand of a file whose first box is an `ftyp` naming one as its major brand
/// (`None` for AVIF, whose major brand is `avif`, and for everything else).
pub fn heif_brand(head: &[u8]) -> Option<&'static str> {
    if head.get(4..8)? != b"ftyp" {
        return None;
    }
    let major = head.get(8..12)?;
    HEIF_BRANDS
        .iter()
        .find(|b| b.as_slice() == major)
        .and_then(|b| std::str::from_utf8(b.as_slice()).ok())
}

/// UTF-8 text without NUL bytes; a multi-byte character cut at the end of the head is fine.
fn looks_like_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_families() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png).family, Some(AssetType::Image));
        assert_eq!(sniff(png).format, "png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0").format, "jpeg");
        let html = sniff(b"<!DOCTYPE html><html><body>hi</body></html>");
        assert_eq!(html.format, "html");
        assert_eq!(html.description, "an HTML page");
        assert_eq!(sniff(b"%PDF-1.7\n").format, "pdf");
        assert_eq!(sniff(b"hello, world\n").format, "text");
        assert_eq!(sniff("héllo".as_bytes()).format, "text");
        assert_eq!(sniff(&"é".as_bytes()[..1]).format, "text");
        assert_eq!(sniff(b"\0\x01\x02\x03binary").family, None);
        assert_eq!(sniff(b"").format, "empty");
        let wav = b"RIFF\x24\0\0\0WAVEfmt ";
        assert_eq!(sniff(wav).family, Some(AssetType::Audio));
        assert_eq!(sniff(wav).format, "wav");
        let mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isomiso2";
        assert_eq!(sniff(mp4).family, Some(AssetType::Video));
    }

    #[test]
    fn heif_is_known_by_its_major_brand() {
        for brand in ["heic", "heix", "hevc", "mif1", "msf1"] {
            let head = format!("\0\0\0\x18ftyp{brand}\0\0\0\0mif1heic");
            assert_eq!(heif_brand(head.as_bytes()), Some(brand), "{brand}");
        }
        assert_eq!(heif_brand(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"), None);
        assert_eq!(heif_brand(b"\0\0\0\x18ftypisom\0\0\0\0isomiso2"), None);
        assert_eq!(heif_brand(b"\0\0\0\x18ftyp"), None);
        assert_eq!(heif_brand(b""), None);
    }
}
