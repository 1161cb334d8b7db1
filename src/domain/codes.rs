//! Every stable code the server answers with, named once: the v1 kebab-case code, the kyy
//! envelope's number, the Volcengine face's `Error.Code` and the HTTP status of a refused
//! request, and whether the code also names an asset's failure (`failure.code`) or a task
//! reference's violation. A refusal cannot be declared without each face's spelling.
//!
//! docs/API.md's error tables list the same codes; a test below checks them against this registry.

use std::fmt;

/// How a refused request answers on each face: the kyy envelope's `code`, the Volcengine
/// face's `ResponseMetadata.Error.Code` and the HTTP status (every face).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub kyy: i64,
    pub http: u16,
    /// One of [`volc`]'s spellings.
    pub volc: &'static str,
}

/// The Volcengine face's error codes (`ResponseMetadata.Error.Code`). Several stable codes share
/// one; the stable code itself stays in the message.
pub mod volc {
    pub const INVALID_PARAMETER: &str = "InvalidParameter";
    /// The source URL of an upload: unreachable, refused, too large, not of its type.
    pub const INVALID_URL: &str = "InvalidParameter.URL";
    pub const NOT_FOUND_ASSET: &str = "NotFound.Asset";
    pub const NOT_FOUND_GROUP: &str = "NotFound.AssetGroup";
    pub const GROUP_NOT_EMPTY: &str = "OperationDenied.AssetGroupNotEmpty";
    pub const OPERATION_DENIED: &str = "OperationDenied";
    pub const INVALID_AUTHORIZATION: &str = "InvalidAuthorization";
    pub const ACCESS_DENIED: &str = "AccessDenied";
    pub const QUOTA_EXCEEDED: &str = "QuotaExceeded";
    pub const THROTTLING: &str = "Throttling";
    pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";
    pub const INTERNAL_ERROR: &str = "InternalError";
    pub const UPSTREAM: &str = "InternalError.Upstream";

    /// Every spelling.
    pub const ALL: &[&str] = &[
        INVALID_PARAMETER,
        INVALID_URL,
        NOT_FOUND_ASSET,
        NOT_FOUND_GROUP,
        GROUP_NOT_EMPTY,
        OPERATION_DENIED,
        INVALID_AUTHORIZATION,
        ACCESS_DENIED,
        QUOTA_EXCEEDED,
        THROTTLING,
        SERVICE_UNAVAILABLE,
        INTERNAL_ERROR,
        UPSTREAM,
    ];
}

/// One stable code.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    /// The kebab-case code (v1 `error.code`, `failure.code`, a violation's `code`).
    pub name: &'static str,
    /// Set when a request can be refused with this code.
    pub refusal: Option<Refusal>,
    /// Whether an accepted asset can fail with this code.
    pub failure: bool,
    /// Whether a reference of a generation task can be refused with this code.
    pub violation: bool,
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name)
    }
}

const fn refusal(name: &'static str, kyy: i64, http: u16, volc: &'static str) -> Code {
    Code {
        name,
        refusal: Some(Refusal { kyy, http, volc }),
        failure: false,
        violation: false,
    }
}

/// A code that both refuses an upload and fails an accepted asset.
const fn refusal_and_failure(name: &'static str, kyy: i64, http: u16, volc: &'static str) -> Code {
    Code {
        failure: true,
        ..refusal(name, kyy, http, volc)
    }
}

const fn failure(name: &'static str) -> Code {
    Code {
        name,
        refusal: None,
        failure: true,
        violation: false,
    }
}

const fn violation(name: &'static str) -> Code {
    Code {
        name,
        refusal: None,
        failure: false,
        violation: true,
    }
}

// Refused requests (nothing is created).
pub const NOT_FOUND: Code = refusal("not-found", -1, 404, volc::NOT_FOUND_ASSET);
pub const INVALID_REQUEST: Code = refusal("invalid-request", 1000, 400, volc::INVALID_PARAMETER);
pub const SOURCE_UNREACHABLE: Code = refusal("source-unreachable", 1001, 422, volc::INVALID_URL);
pub const SOURCE_HTTP_ERROR: Code = refusal("source-http-error", 1002, 422, volc::INVALID_URL);
pub const URL_NOT_ALLOWED: Code = refusal("url-not-allowed", 1003, 422, volc::INVALID_URL);
pub const TOO_LARGE: Code = refusal_and_failure("too-large", 1004, 413, volc::INVALID_URL);
pub const TYPE_MISMATCH: Code = refusal_and_failure("type-mismatch", 1005, 422, volc::INVALID_URL);
pub const SOURCE_TIMEOUT: Code = refusal("source-timeout", 1006, 422, volc::INVALID_URL);
pub const INVALID_ASSET_TYPE: Code =
    refusal("invalid-asset-type", 1007, 400, volc::INVALID_PARAMETER);
pub const INVALID_URL: Code = refusal("invalid-url", 1008, 400, volc::INVALID_PARAMETER);
pub const INVALID_NAME: Code = refusal("invalid-name", 1009, 400, volc::INVALID_PARAMETER);
pub const TOO_MANY_REDIRECTS: Code = refusal("too-many-redirects", 1010, 422, volc::INVALID_URL);
pub const INVALID_REFERENCES: Code =
    refusal("invalid-references", 1011, 422, volc::INVALID_PARAMETER);
pub const UNAUTHORIZED: Code = refusal("unauthorized", 1401, 401, volc::INVALID_AUTHORIZATION);
pub const FORBIDDEN: Code = refusal("forbidden", 1403, 403, volc::ACCESS_DENIED);
pub const REASON_REQUIRED: Code = refusal("reason-required", 1017, 400, volc::INVALID_PARAMETER);
pub const TOO_MANY_DECISIONS: Code =
    refusal("too-many-decisions", 1018, 400, volc::INVALID_PARAMETER);
pub const REOPEN_FORBIDDEN: Code = refusal("reopen-forbidden", 1417, 403, volc::ACCESS_DENIED);
pub const CONFLICT: Code = refusal("conflict", 1409, 409, volc::OPERATION_DENIED);
pub const ASSET_IN_USE: Code = refusal("asset-in-use", 1410, 409, volc::OPERATION_DENIED);
pub const IDEMPOTENCY_IN_PROGRESS: Code = refusal(
    "idempotency-in-progress",
    1411,
    409,
    volc::INVALID_PARAMETER,
);
pub const IDEMPOTENCY_KEY_REUSED: Code =
    refusal("idempotency-key-reused", 1422, 422, volc::INVALID_PARAMETER);
pub const IDEMPOTENCY_KEY_INVALID: Code = refusal(
    "idempotency-key-invalid",
    1012,
    400,
    volc::INVALID_PARAMETER,
);
pub const UPLOAD_MISMATCH: Code = refusal("upload-mismatch", 1013, 422, volc::INVALID_PARAMETER);
pub const GROUP_NOT_FOUND: Code = refusal("group-not-found", 1014, 404, volc::NOT_FOUND_GROUP);
pub const GROUP_NOT_EMPTY: Code = refusal("group-not-empty", 1015, 409, volc::GROUP_NOT_EMPTY);
pub const METHOD_NOT_ALLOWED: Code =
    refusal("method-not-allowed", 1405, 405, volc::INVALID_PARAMETER);
pub const PRECONDITION_FAILED: Code =
    refusal("precondition-failed", 1412, 412, volc::INVALID_PARAMETER);
pub const UNSUPPORTED_MEDIA_TYPE: Code =
    refusal("unsupported-media-type", 1415, 415, volc::INVALID_PARAMETER);
pub const BODY_TOO_LARGE: Code = refusal("body-too-large", 1413, 413, volc::INVALID_PARAMETER);
pub const URI_TOO_LONG: Code = refusal("uri-too-long", 1414, 414, volc::INVALID_PARAMETER);
pub const RANGE_NOT_SATISFIABLE: Code =
    refusal("range-not-satisfiable", 1416, 416, volc::INVALID_PARAMETER);
pub const HEADERS_TOO_LARGE: Code =
    refusal("headers-too-large", 1431, 431, volc::INVALID_PARAMETER);
pub const REQUEST_TIMEOUT: Code = refusal("request-timeout", 1408, 408, volc::INVALID_PARAMETER);
pub const UPSTREAM_ERROR: Code = refusal("upstream-error", 5002, 502, volc::UPSTREAM);
pub const UNAVAILABLE: Code = refusal("unavailable", 5003, 503, volc::SERVICE_UNAVAILABLE);
pub const INTERNAL: Code = refusal("internal", 5000, 500, volc::INTERNAL_ERROR);
pub const INSUFFICIENT_STORAGE: Code =
    refusal("insufficient-storage", 5007, 507, volc::SERVICE_UNAVAILABLE);
pub const TOO_MANY_UPLOADS: Code = refusal("too-many-uploads", 1429, 429, volc::THROTTLING);
pub const QUEUE_FULL: Code = refusal("queue-full", 1430, 429, volc::THROTTLING);
pub const QUOTA_EXCEEDED: Code = refusal("quota-exceeded", 1432, 429, volc::QUOTA_EXCEEDED);

// Failures of accepted assets (`failure.code`).
/// Also refused at upload: a HEIC/HEIF image, known by its ISO-BMFF brand.
pub const IMAGE_FORMAT: Code = refusal_and_failure("image-format", 1016, 422, volc::INVALID_URL);
pub const VIDEO_FORMAT: Code = failure("video-format");
pub const AUDIO_FORMAT: Code = failure("audio-format");
pub const DOCUMENT_FORMAT: Code = failure("document-format");
pub const IMAGE_DIMENSIONS: Code = failure("image-dimensions");
pub const IMAGE_RATIO: Code = failure("image-ratio");
pub const IMAGE_UNREADABLE: Code = failure("image-unreadable");
pub const VIDEO_DURATION: Code = failure("video-duration");
pub const VIDEO_FPS: Code = failure("video-fps");
pub const VIDEO_RESOLUTION: Code = failure("video-resolution");
pub const VIDEO_DIMENSIONS: Code = failure("video-dimensions");
pub const VIDEO_RATIO: Code = failure("video-ratio");
pub const VIDEO_NO_VIDEO_TRACK: Code = failure("video-no-video-track");
pub const VIDEO_UNREADABLE: Code = failure("video-unreadable");
pub const AUDIO_DURATION: Code = failure("audio-duration");
pub const AUDIO_UNREADABLE: Code = failure("audio-unreadable");
pub const DOCUMENT_UNREADABLE: Code = failure("document-unreadable");
pub const DOCUMENT_ENCODING: Code = failure("document-encoding");
pub const DOCUMENT_JSON: Code = failure("document-json");
pub const FILE_TRUNCATED: Code = failure("file-truncated");
pub const PROBE_TIMEOUT: Code = failure("probe-timeout");
pub const FILE_UNREADABLE: Code = failure("file-unreadable");
pub const FACE_DETECTED: Code = failure("face-detected");
pub const IMAGE_UNSCANNABLE: Code = failure("image-unscannable");
pub const VIDEO_UNSCANNABLE: Code = failure("video-unscannable");
pub const REVIEW_REJECTED: Code = failure("review-rejected");
pub const PROCESSING_FAILED: Code = failure("processing-failed");
pub const CONTENT_MISSING: Code = failure("content-missing");

// Violations of a generation task's references (`violations[].code`).
pub const REFERENCE_MALFORMED: Code = violation("reference-malformed");
pub const ASSET_NOT_FOUND: Code = violation("asset-not-found");
pub const ASSET_NOT_ACTIVE: Code = violation("asset-not-active");
pub const ASSET_TYPE_MISMATCH: Code = violation("asset-type-mismatch");
pub const TOO_MANY_REFERENCES: Code = violation("too-many-references");
pub const FRAMES_WITH_REFERENCES: Code = violation("frames-with-references");
pub const LAST_WITHOUT_FIRST: Code = violation("last-without-first");
pub const FIELD_TYPE: Code = violation("field-type");
pub const REFERENCE_DURATION: Code = violation("reference-duration");
pub const MISSING_FIELD: Code = violation("missing-field");
pub const TASK_TOO_DEEP: Code = violation("task-too-deep");

/// Every code, in the order docs/API.md lists them.
pub const ALL: &[&Code] = &[
    &NOT_FOUND,
    &INVALID_REQUEST,
    &SOURCE_UNREACHABLE,
    &SOURCE_HTTP_ERROR,
    &URL_NOT_ALLOWED,
    &TOO_LARGE,
    &TYPE_MISMATCH,
    &SOURCE_TIMEOUT,
    &INVALID_ASSET_TYPE,
    &INVALID_URL,
    &INVALID_NAME,
    &TOO_MANY_REDIRECTS,
    &INVALID_REFERENCES,
    &UNAUTHORIZED,
    &FORBIDDEN,
    &REASON_REQUIRED,
    &TOO_MANY_DECISIONS,
    &REOPEN_FORBIDDEN,
    &CONFLICT,
    &ASSET_IN_USE,
    &IDEMPOTENCY_IN_PROGRESS,
    &IDEMPOTENCY_KEY_REUSED,
    &IDEMPOTENCY_KEY_INVALID,
    &UPLOAD_MISMATCH,
    &GROUP_NOT_FOUND,
    &GROUP_NOT_EMPTY,
    &METHOD_NOT_ALLOWED,
    &PRECONDITION_FAILED,
    &UNSUPPORTED_MEDIA_TYPE,
    &BODY_TOO_LARGE,
    &URI_TOO_LONG,
    &RANGE_NOT_SATISFIABLE,
    &HEADERS_TOO_LARGE,
    &REQUEST_TIMEOUT,
    &UPSTREAM_ERROR,
    &UNAVAILABLE,
    &INTERNAL,
    &INSUFFICIENT_STORAGE,
    &TOO_MANY_UPLOADS,
    &QUEUE_FULL,
    &QUOTA_EXCEEDED,
    &IMAGE_FORMAT,
    &VIDEO_FORMAT,
    &AUDIO_FORMAT,
    &DOCUMENT_FORMAT,
    &IMAGE_DIMENSIONS,
    &IMAGE_RATIO,
    &IMAGE_UNREADABLE,
    &VIDEO_DURATION,
    &VIDEO_FPS,
    &VIDEO_RESOLUTION,
    &VIDEO_DIMENSIONS,
    &VIDEO_RATIO,
    &VIDEO_NO_VIDEO_TRACK,
    &VIDEO_UNREADABLE,
    &AUDIO_DURATION,
    &AUDIO_UNREADABLE,
    &DOCUMENT_UNREADABLE,
    &DOCUMENT_ENCODING,
    &DOCUMENT_JSON,
    &FILE_TRUNCATED,
    &PROBE_TIMEOUT,
    &FILE_UNREADABLE,
    &FACE_DETECTED,
    &IMAGE_UNSCANNABLE,
    &VIDEO_UNSCANNABLE,
    &REVIEW_REJECTED,
    &PROCESSING_FAILED,
    &CONTENT_MISSING,
    &REFERENCE_MALFORMED,
    &ASSET_NOT_FOUND,
    &ASSET_NOT_ACTIVE,
    &ASSET_TYPE_MISMATCH,
    &TOO_MANY_REFERENCES,
    &FRAMES_WITH_REFERENCES,
    &LAST_WITHOUT_FIRST,
    &FIELD_TYPE,
    &REFERENCE_DURATION,
    &MISSING_FIELD,
    &TASK_TOO_DEEP,
];

/// The registered code of this name.
pub fn find(name: &str) -> Option<&'static Code> {
    ALL.iter().copied().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    const API_DOC: &str = include_str!("../../docs/API.md");

    /// The rows of the docs/API.md table whose header line starts with `header`.
    fn table(header: &str) -> Vec<Vec<String>> {
        let mut lines = API_DOC.lines().skip_while(|l| !l.starts_with(header));
        assert!(
            lines.next().is_some(),
            "docs/API.md has a table headed {header}"
        );
        lines
            .skip(1) // the |---| line
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|cell| cell.trim().to_owned())
                    .collect()
            })
            .collect()
    }

    /// Every `code` spelled in backticks in a table cell.
    fn names(cell: &str) -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn names_are_unique_and_kebab_case() {
        let mut seen = BTreeSet::new();
        for code in ALL {
            assert!(seen.insert(code.name), "{} twice", code.name);
            assert!(
                code.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                code.name
            );
            assert!(
                code.refusal.is_some() || code.failure || code.violation,
                "{} applies nowhere",
                code.name
            );
        }
        let kyy: BTreeSet<i64> = ALL
            .iter()
            .filter_map(|c| c.refusal.map(|r| r.kyy))
            .collect();
        assert_eq!(
            kyy.len(),
            ALL.iter().filter(|c| c.refusal.is_some()).count(),
            "kyy numbers are unique"
        );
    }

    #[test]
    fn readme_error_table_matches_the_registry() {
        let mut documented = BTreeMap::new();
        for row in table("| kyy `code` |") {
            let kyy: i64 = names(&row[0])[0].parse().expect("kyy number");
            let name = names(&row[1])[0].clone();
            let http: u16 = row[2].parse().expect("HTTP status");
            documented.insert(name, (kyy, http));
        }
        let registered: BTreeMap<String, (i64, u16)> = ALL
            .iter()
            .filter_map(|c| c.refusal.map(|r| (c.name.to_owned(), (r.kyy, r.http))))
            .collect();
        assert_eq!(documented, registered);
    }

    #[test]
    fn every_refusal_has_a_volcengine_code_and_every_volcengine_code_is_used() {
        let used: BTreeSet<&str> = ALL
            .iter()
            .filter_map(|c| c.refusal.map(|r| r.volc))
            .collect();
        let spelled: BTreeSet<&str> = volc::ALL.iter().copied().collect();
        assert_eq!(
            spelled.len(),
            volc::ALL.len(),
            "Volcengine codes are unique"
        );
        assert_eq!(used, spelled);
        for code in volc::ALL {
            assert!(
                code.split('.')
                    .all(|part| part.starts_with(|c: char| c.is_ascii_uppercase())
                        && part.chars().all(|c| c.is_ascii_alphanumeric())),
                "{code} is PascalCase, parts joined by dots"
            );
        }
    }

    #[test]
    fn readme_failure_table_matches_the_registry() {
        let documented: BTreeSet<String> = table("| `failure.code` |")
            .iter()
            .flat_map(|row| names(&row[0]))
            .collect();
        let registered: BTreeSet<String> = ALL
            .iter()
            .filter(|c| c.failure)
            .map(|c| c.name.to_owned())
            .collect();
        assert_eq!(documented, registered);
    }

    #[test]
    fn readme_violation_table_matches_the_registry() {
        let documented: BTreeSet<String> = table("| violation `code` |")
            .iter()
            .flat_map(|row| names(&row[0]))
            .collect();
        let registered: BTreeSet<String> = ALL
            .iter()
            .filter(|c| c.violation)
            .map(|c| c.name.to_owned())
            .collect();
        assert_eq!(documented, registered);
    }
}
