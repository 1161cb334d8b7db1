//! The media test corpus, built once and kept for later runs: H.264 MP4s encoded in-process
//! (`assetlib_test_support::media`), WAVs written directly, images and documents from the
//! `image`/`zip` crates, the formats no Rust encoder here writes (MPEG-4 Part 2, WebM, Matroska,
//! AVI, MP3, FLAC, Ogg, Opus, M4A) from the small committed files of `tests/fixtures/media`, and
//! the broken variants derived from all of them. No system tool is needed.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assetlib_test_support::media::{Clip, aac_mp4, tone_wav};

/// Expected outcome of one corpus file.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// Goes Active with this format.
    Active(&'static str),
    /// Accepted, then Failed with this code.
    Failed(&'static str),
    /// Refused at request time with this kyy code.
    Refused(i64),
}

/// One corpus entry: file name, declared type, expectation.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: &'static str,
    pub asset_type: &'static str,
    pub expect: Expect,
}

const fn case(file: &'static str, asset_type: &'static str, expect: Expect) -> Case {
    Case {
        file,
        asset_type,
        expect,
    }
}

use Expect::{Active, Failed, Refused};

/// Every accepted format per type and every rule broken once.
pub const CASES: &[Case] = &[
    // Video: accepted
    case("v-720p-h264-aac.mp4", "Video", Active("mp4")),
    case("v-480p-mpeg4.mov", "Video", Active("mov")),
    case("v-720x1280-portrait.mp4", "Video", Active("mp4")),
    case("v-720p-h264.mp4.jpg", "Video", Active("mp4")), // renamed: content decides
    case("v-faststart.mp4", "Video", Active("mp4")),
    // Video: each rule broken once
    case("v-1s.mp4", "Video", Failed("video-duration")),
    case("v-16s.mp4", "Video", Failed("video-duration")),
    case("v-15fps.mp4", "Video", Failed("video-fps")),
    case("v-120fps.mp4", "Video", Failed("video-fps")),
    case("v-1080p.mp4", "Video", Failed("video-resolution")),
    case("v-360p.mp4", "Video", Failed("video-resolution")),
    case("v-ratio-3.mp4", "Video", Failed("video-ratio")),
    case("v-webm.webm", "Video", Failed("video-format")),
    case("v-mkv.mkv", "Video", Failed("video-format")),
    case("v-avi.avi", "Video", Failed("video-format")),
    case("v-audio-only.mp4", "Video", Failed("video-no-video-track")),
    case("v-m4a.m4a", "Video", Refused(1005)),
    case("v-truncated.mp4", "Video", Failed("video-unreadable")),
    case(
        "v-truncated-faststart.mp4",
        "Video",
        Failed("video-unreadable"),
    ),
    case("v-garbage-after.mp4", "Video", Failed("video-unreadable")),
    case("v-png-renamed.mp4", "Video", Refused(1005)),
    // Audio: accepted
    case("a-3s.wav", "Audio", Active("wav")),
    case("a-3s.mp3", "Audio", Active("mp3")),
    case("a-3s-no-xing.mp3", "Audio", Active("mp3")),
    case("a-3s-no-id3.mp3", "Audio", Active("mp3")),
    case("a-3s.wav.txt", "Audio", Active("wav")), // renamed
    // Audio: each rule broken once
    case("a-1s.wav", "Audio", Failed("audio-duration")),
    case("a-16s.mp3", "Audio", Failed("audio-duration")),
    case("a-flac.flac", "Audio", Failed("audio-format")),
    case("a-ogg.ogg", "Audio", Failed("audio-format")),
    case("a-opus.opus", "Audio", Failed("audio-format")),
    case("a-m4a.m4a", "Audio", Failed("audio-format")),
    case("a-video.mp4", "Audio", Refused(1005)),
    case("a-16mb.wav", "Audio", Refused(1004)),
    // Image
    case("i-720p.jpg", "Image", Active("jpeg")),
    case("i-bomb-30000.png", "Image", Failed("image-dimensions")),
    case("i-truncated.jpg", "Image", Failed("image-unreadable")),
    case("i-zero-bytes.png", "Image", Refused(1005)),
    // Document: accepted
    case("d-doc.pdf", "Document", Active("pdf")),
    case("d-doc.docx", "Document", Active("docx")),
    case("d-sheet.xlsx", "Document", Active("xlsx")),
    case("d-slides.pptx", "Document", Active("pptx")),
    case("d-notes.txt", "Document", Active("text")),
    case("d-readme.md", "Document", Active("text")),
    case("d-table.csv", "Document", Active("text")),
    case("d-data.json", "Document", Active("json")),
    case("d-data-json-as.txt", "Document", Active("json")),
    // Document: each rule broken once
    case("d-truncated.pdf", "Document", Failed("document-unreadable")),
    case("d-plain.zip", "Document", Failed("document-format")),
    case("d-broken.json", "Document", Failed("document-json")),
    case("d-latin1-late.txt", "Document", Failed("document-encoding")),
    case("d-binary-named.pdf", "Document", Refused(1005)),
    case("d-html.html", "Document", Failed("document-format")),
];

/// The committed media files (see tests/fixtures/README.md).
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/media");

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(FIXTURES).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn h264(clip: Clip) -> Vec<u8> {
    clip.bars()
        .unwrap_or_else(|e| panic!("an H.264 clip {clip:?}: {e:#}"))
}

fn truncated(bytes: &[u8], keep: f64) -> Vec<u8> {
    bytes[..(bytes.len() as f64 * keep) as usize].to_vec()
}

fn zip_file(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, body) in entries {
            zip.start_file(*name, options).expect("zip entry");
            zip.write_all(body.as_bytes()).expect("zip write");
        }
        zip.finish().expect("zip finish");
    }
    out.into_inner()
}

fn office(main_part: &str, content_type: &str) -> Vec<u8> {
    let types = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/{main_part}" ContentType="{content_type}"/>
</Types>"#
    );
    zip_file(&[
        ("[Content_Types].xml", &types),
        ("_rels/.rels", "<Relationships/>"),
        (main_part, "<document/>"),
    ])
}

/// A PNG whose header claims 30000×30000 but whose data is tiny: must fail on the header.
fn png_bomb() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc_input);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&30000u32.to_be_bytes());
    ihdr.extend_from_slice(&30000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 4 * 1024 * 1024]).expect("deflate");
    let idat = z.finish().expect("deflate");
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

fn build(dir: &Path) {
    let w = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).expect("write corpus file")
    };
    let copy = |name: &str| w(name, &fixture(name));
    // Video
    let tone_aac = fixture("tone-3s.aac");
    let with_audio = Clip::new(1280, 720, 30, 3)
        .bars_with_aac(&tone_aac)
        .expect("an H.264 clip with AAC");
    let faststart = h264(Clip::new(1280, 720, 60, 3).fast_start());
    w("v-720p-h264-aac.mp4", &with_audio);
    copy("v-480p-mpeg4.mov");
    w(
        "v-720x1280-portrait.mp4",
        &h264(Clip::new(720, 1280, 24, 2)),
    );
    w("v-faststart.mp4", &faststart);
    w("v-720p-h264.mp4.jpg", &with_audio);
    w("v-1s.mp4", &h264(Clip::new(1280, 720, 30, 1)));
    w("v-16s.mp4", &h264(Clip::new(854, 480, 24, 16)));
    w("v-15fps.mp4", &h264(Clip::new(1280, 720, 15, 3)));
    w("v-120fps.mp4", &h264(Clip::new(854, 480, 120, 3)));
    w("v-1080p.mp4", &h264(Clip::new(1920, 1080, 30, 2)));
    w("v-360p.mp4", &h264(Clip::new(640, 360, 30, 2)));
    w("v-ratio-3.mp4", &h264(Clip::new(1440, 480, 30, 2)));
    copy("v-webm.webm");
    copy("v-mkv.mkv");
    copy("v-avi.avi");
    w(
        "v-audio-only.mp4",
        &aac_mp4(&tone_aac).expect("an audio-only mp4"),
    );
    w("v-m4a.m4a", &fixture("a-m4a.m4a"));
    w("v-truncated.mp4", &truncated(&with_audio, 0.5));
    w("v-truncated-faststart.mp4", &truncated(&faststart, 0.6));
    let mut garbage = faststart.clone();
    garbage.extend_from_slice(b"\x7f\xff\xff\xffjunkjunk and more junk after the last box");
    w("v-garbage-after.mp4", &garbage);
    w("v-png-renamed.mp4", &jpeg(640, 480));
    // Audio
    let tone = tone_wav(3000, 44_100, 1);
    w("a-3s.wav", &tone);
    copy("a-3s.mp3");
    copy("a-3s-no-xing.mp3");
    copy("a-3s-no-id3.mp3");
    w("a-3s.wav.txt", &tone);
    w("a-1s.wav", &tone_wav(1000, 44_100, 1));
    copy("a-16s.mp3");
    copy("a-flac.flac");
    copy("a-ogg.ogg");
    copy("a-opus.opus");
    copy("a-m4a.m4a");
    w("a-video.mp4", &with_audio);
    w("a-16mb.wav", &tone_wav(100_000, 48_000, 2)); // 19 MB
    // Image
    w("i-720p.jpg", &jpeg(1280, 720));
    w("i-bomb-30000.png", &png_bomb());
    let full = jpeg(1280, 720);
    w("i-truncated.jpg", &full[..full.len() * 3 / 5]);
    w("i-zero-bytes.png", b"");
    // Documents
    w("d-doc.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\nxref\n0 3\ntrailer << /Root 1 0 R /Size 3 >>\nstartxref\n9\n%%EOF\n");
    w("d-truncated.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Co");
    w(
        "d-doc.docx",
        &office(
            "word/document.xml",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        ),
    );
    w(
        "d-sheet.xlsx",
        &office(
            "xl/workbook.xml",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        ),
    );
    w(
        "d-slides.pptx",
        &office(
            "ppt/presentation.xml",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        ),
    );
    w("d-plain.zip", &zip_file(&[("hello.txt", "hello")]));
    w(
        "d-notes.txt",
        "Notes — with UTF-8: é, ü, 漢字.\n".as_bytes(),
    );
    w(
        "d-readme.md",
        b"# Title\n\n[a link](https://example.com) and *emphasis*.\n",
    );
    w("d-table.csv", b"name,value\nalpha,1\nbeta,2\n");
    w(
        "d-data.json",
        br#"{"prompt": "a cat", "tags": ["x", "y"], "n": 3}"#,
    );
    w("d-data-json-as.txt", b"[1, 2, 3]\n");
    w("d-broken.json", br#"{"prompt": "a cat", "tags": ["x", "y""#);
    let mut late = vec![b'a'; 100 * 1024];
    late.extend_from_slice(b"caf\xe9 in latin-1\n");
    w("d-latin1-late.txt", &late);
    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    w("d-binary-named.pdf", &binary);
    w(
        "d-html.html",
        b"<!DOCTYPE html><html><body>hello</body></html>",
    );
}

/// The corpus directory, built on first use and kept in Cargo's test temp dir for later runs
/// (keyed by a hash of this file, the generator's and the committed files, so a changed corpus
/// is rebuilt).
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        include_str!("corpus.rs").hash(&mut hasher);
        include_str!("../../tools/test-support/src/media/h264.rs").hash(&mut hasher);
        include_str!("../../tools/test-support/src/media/wav.rs").hash(&mut hasher);
        let mut names: Vec<_> = std::fs::read_dir(FIXTURES)
            .expect("tests/fixtures/media")
            .map(|e| e.expect("fixture entry").file_name())
            .collect();
        names.sort();
        for name in names {
            name.hash(&mut hasher);
            fixture(&name.to_string_lossy()).hash(&mut hasher);
        }
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("corpus-{:016x}", hasher.finish()));
        if !dir.join("complete").exists() {
            let building = dir.with_extension(format!("building-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&building);
            std::fs::create_dir_all(&building).expect("corpus dir");
            build(&building);
            std::fs::write(building.join("complete"), b"").expect("marker");
            // Another process may have finished first; either copy is complete.
            if std::fs::rename(&building, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&building);
            }
        }
        dir
    })
}

pub fn read(file: &str) -> Vec<u8> {
    std::fs::read(dir().join(file)).unwrap_or_else(|e| panic!("corpus file {file}: {e}"))
}
