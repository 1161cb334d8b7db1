//! Media probing: pure functions from bytes to facts. `sniff` decides the family and format
//! from magic bytes; one module per family reads the real container headers — only what it
//! needs, with bounded memory whatever the file claims.

pub mod audio;
pub mod document;
pub mod image;
pub mod sniff;
pub mod video;

use std::io::{self, Read, Seek};

pub use sniff::{Sniffed, heif_brand, sniff};

use crate::domain::codes::{self, Code};
use crate::domain::rules::Violation;
use crate::domain::{AssetType, MediaFacts};

/// What probing learned: the format (possibly refined, e.g. `text` → `json`) and the facts.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    pub format: String,
    pub facts: MediaFacts,
}

/// Why a probe could not produce facts.
#[derive(Debug)]
pub enum ProbeError {
    /// The file breaks a container rule (truncated, no video track, bad JSON…).
    Invalid(Violation),
    /// Reading the stored file failed.
    Io(io::Error),
}

impl From<io::Error> for ProbeError {
    fn from(e: io::Error) -> Self {
        // A read past the end of a file that announced more is a broken file, not an I/O fault.
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ProbeError::Invalid(Violation {
                code: &codes::FILE_TRUNCATED,
                message: "the file ends in the middle of its headers; it is truncated".to_owned(),
            })
        } else {
            ProbeError::Io(e)
        }
    }
}

pub(crate) fn invalid(code: &'static Code, message: impl Into<String>) -> ProbeError {
    ProbeError::Invalid(Violation {
        code,
        message: message.into(),
    })
}

/// A readable, seekable file.
pub trait Source: Read + Seek {}
impl<T: Read + Seek> Source for T {}

/// Probes a file of `len` bytes that `sniff` called `format`. `name_hint` is the source URL's
/// last path segment: it never decides the type, it only makes a `.json` name demand valid JSON.
pub fn probe(
    asset_type: AssetType,
    format: &str,
    src: &mut dyn Source,
    len: u64,
    name_hint: &str,
) -> Result<Probed, ProbeError> {
    match asset_type {
        AssetType::Image => image::probe(src, len, format),
        AssetType::Video => video::probe(src, len).map(|facts| Probed {
            format: format.to_owned(),
            facts,
        }),
        AssetType::Audio => audio::probe(src, len, format),
        AssetType::Document => document::probe(src, len, format, name_hint),
    }
}

/// Reads at most `max` bytes from `offset`.
pub(crate) fn read_at(src: &mut dyn Source, offset: u64, max: u64) -> io::Result<Vec<u8>> {
    src.seek(io::SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    src.take(max).read_to_end(&mut buf)?;
    Ok(buf)
}
