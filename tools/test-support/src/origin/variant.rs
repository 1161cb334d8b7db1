//! Distinct but equally valid variants of a file, so that every import of a run is new content
//! and nothing is deduplicated away: a JPEG comment segment right after SOI, a trailing
//! top-level mp4 `free` box; other files are served unchanged.

use bytes::Bytes;

/// The file's bytes with variant marker `v` spliced in, as pieces that share the file's buffer.
pub(super) fn chunks(b: &Bytes, v: u64) -> Vec<Bytes> {
    let marker = format!("assetlib-bench variant {v:020}");
    if b.starts_with(&[0xFF, 0xD8]) {
        // JPEG: a COM segment right after SOI.
        let len = u16::try_from(marker.len() + 2).unwrap_or(u16::MAX);
        let mut segment = vec![0xFF, 0xFE];
        segment.extend_from_slice(&len.to_be_bytes());
        segment.extend_from_slice(marker.as_bytes());
        return vec![b.slice(0..2), Bytes::from(segment), b.slice(2..)];
    }
    if b.get(4..8) == Some(b"ftyp") {
        // ISO-BMFF: a trailing top-level `free` box.
        let size = u32::try_from(marker.len() + 8).unwrap_or(u32::MAX);
        let mut free = size.to_be_bytes().to_vec();
        free.extend_from_slice(b"free");
        free.extend_from_slice(marker.as_bytes());
        return vec![b.clone(), Bytes::from(free)];
    }
    vec![b.clone()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_differ_and_keep_the_container_valid() {
        let jpeg = Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xD9]);
        let a: Vec<u8> = chunks(&jpeg, 1).concat();
        let b: Vec<u8> = chunks(&jpeg, 2).concat();
        assert_ne!(a, b);
        assert_eq!(&a[..4], &[0xFF, 0xD8, 0xFF, 0xFE]);
        assert_eq!(&a[a.len() - 2..], &[0xFF, 0xD9]);
        let mp4 = Bytes::from_static(b"\0\0\0\x08ftyp");
        let v: Vec<u8> = chunks(&mp4, 7).concat();
        let size = u32::from_be_bytes([v[8], v[9], v[10], v[11]]) as usize;
        assert_eq!(&v[12..16], b"free");
        assert_eq!(v.len(), 8 + size);
        let text = Bytes::from_static(b"plain");
        assert_eq!(chunks(&text, 3).concat(), b"plain");
    }
}
