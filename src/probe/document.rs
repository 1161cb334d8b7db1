//! Document probing: PDF (header and trailer present), Office Open XML (a zip whose
//! `[Content_Types].xml` names the matching main part), UTF-8 text, and JSON (must parse).

use std::io::{BufReader, Read, SeekFrom};

use super::{ProbeError, Probed, Source, invalid, read_at};
use crate::domain::{MediaFacts, codes};

/// `[Content_Types].xml` larger than this is not read (real ones are a few KB).
const MAX_CONTENT_TYPES: u64 = 1024 * 1024;

const OFFICE_MAIN_TYPES: [(&str, &str); 3] = [
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    ),
];

pub fn probe(
    src: &mut dyn Source,
    len: u64,
    format: &str,
    name_hint: &str,
) -> Result<Probed, ProbeError> {
    let format = match format {
        "pdf" => probe_pdf(src, len)?,
        "docx" | "xlsx" | "pptx" | "zip" => probe_office(src)?,
        "text" => probe_text(src, name_hint)?,
        other => other.to_owned(),
    };
    Ok(Probed {
        format,
        facts: MediaFacts::default(),
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn probe_pdf(src: &mut dyn Source, len: u64) -> Result<String, ProbeError> {
    let head = read_at(src, 0, 1024)?;
    if !contains(&head, b"%PDF-") {
        return Err(invalid(
            &codes::DOCUMENT_UNREADABLE,
            "the PDF has no %PDF- header",
        ));
    }
    let tail = read_at(src, len.saturating_sub(2048), 2048)?;
    if !contains(&tail, b"%%EOF") || !(contains(&tail, b"startxref") || contains(&tail, b"trailer"))
    {
        return Err(invalid(
            &codes::DOCUMENT_UNREADABLE,
            "the PDF has no trailer (startxref … %%EOF); the file is truncated",
        ));
    }
    Ok("pdf".to_owned())
}

fn probe_office(src: &mut dyn Source) -> Result<String, ProbeError> {
    src.seek(SeekFrom::Start(0))?;
    let mut archive = zip::ZipArchive::new(&mut *src).map_err(|e| {
        invalid(
            &codes::DOCUMENT_UNREADABLE,
            format!("the zip container cannot be read: {e}"),
        )
    })?;
    let mut types = String::new();
    {
        let entry = archive.by_name("[Content_Types].xml").map_err(|_| {
            invalid(
                &codes::DOCUMENT_FORMAT,
                "a zip archive without [Content_Types].xml is not a Word, Excel or PowerPoint file; accepted: pdf, docx, xlsx, pptx, txt, md, csv, json",
            )
        })?;
        entry
            .take(MAX_CONTENT_TYPES)
            .read_to_string(&mut types)
            .map_err(|e| {
                invalid(
                    &codes::DOCUMENT_UNREADABLE,
                    format!("[Content_Types].xml cannot be read: {e}"),
                )
            })?;
    }
    OFFICE_MAIN_TYPES
        .iter()
        .find(|(_, main)| types.contains(main))
        .map(|(format, _)| (*format).to_owned())
        .ok_or_else(|| {
            invalid(
                &codes::DOCUMENT_FORMAT,
                "the zip archive is not a Word, Excel or PowerPoint document (its [Content_Types].xml names no docx/xlsx/pptx main part)",
            )
        })
}

/// Streams the whole file: it must be valid UTF-8. Text that looks like JSON (or comes from a
/// `.json` URL) must parse as JSON.
fn probe_text(src: &mut dyn Source, name_hint: &str) -> Result<String, ProbeError> {
    src.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(64 * 1024, &mut *src);
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut offset = 0u64;
    let mut first_char = None;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        carry.extend_from_slice(&buf[..n]);
        let valid = match std::str::from_utf8(&carry) {
            Ok(s) => {
                first_char = first_char.or_else(|| s.trim_start().chars().next());
                carry.len()
            }
            Err(e) if e.error_len().is_none() => e.valid_up_to(), // cut mid-character
            Err(e) => {
                return Err(invalid(
                    &codes::DOCUMENT_ENCODING,
                    format!(
                        "the text is not valid UTF-8 (at byte {}); save it as UTF-8",
                        offset + e.valid_up_to() as u64
                    ),
                ));
            }
        };
        if first_char.is_none()
            && let Ok(s) = std::str::from_utf8(&carry[..valid])
        {
            first_char = s.trim_start().chars().next();
        }
        offset += valid as u64;
        carry.drain(..valid);
    }
    if !carry.is_empty() {
        return Err(invalid(
            &codes::DOCUMENT_ENCODING,
            format!("the text is not valid UTF-8 (it ends inside a character at byte {offset})"),
        ));
    }
    let named_json = name_hint.to_ascii_lowercase().ends_with(".json");
    if named_json || matches!(first_char, Some('{' | '[')) {
        src.seek(SeekFrom::Start(0))?;
        let parsed: Result<serde::de::IgnoredAny, _> =
            serde_json::from_reader(BufReader::with_capacity(64 * 1024, &mut *src));
        match parsed {
            Ok(_) => return Ok("json".to_owned()),
            Err(e) if named_json => {
                return Err(invalid(
                    &codes::DOCUMENT_JSON,
                    format!("the JSON does not parse: {e}"),
                ));
            }
            Err(_) => {}
        }
    }
    Ok("text".to_owned())
}
