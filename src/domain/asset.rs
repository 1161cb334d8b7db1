use std::fmt;

use chrono::{DateTime, Utc};

use super::{AssetId, MediaFacts};

/// The four asset types of the kyy API, spelled exactly (case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssetType {
    Image,
    Video,
    Audio,
    Document,
}

impl AssetType {
    /// The type a file of this media type (`Content-Type`) is taken for, by its family:
    /// `image/*`, `video/*`, `audio/*`; anything else is a Document.
    pub fn for_media_type(media_type: &str) -> Self {
        let family = media_type.split('/').next().unwrap_or_default().trim();
        match family.to_ascii_lowercase().as_str() {
            "image" => AssetType::Image,
            "video" => AssetType::Video,
            "audio" => AssetType::Audio,
            _ => AssetType::Document,
        }
    }

    pub const ALL: [AssetType; 4] = [
        AssetType::Image,
        AssetType::Video,
        AssetType::Audio,
        AssetType::Document,
    ];

    /// Exact, case-sensitive parse: `"image"` is not an asset type.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::Image => "Image",
            AssetType::Video => "Video",
            AssetType::Audio => "Audio",
            AssetType::Document => "Document",
        }
    }
}

impl fmt::Display for AssetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Life cycle of an asset. A status never goes back: `Processing → Active | Failed`, and with
/// moderation `Processing → PendingReview → Active | Failed`. The one exception is a repair
/// (`Transition::ContentLost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Processing,
    PendingReview,
    Active,
    Failed,
}

impl Status {
    /// The status as clients that know three states see it (the kyy and Volcengine faces): a
    /// held asset is still `Processing`.
    pub fn three_state(self) -> &'static str {
        match self {
            Status::Processing | Status::PendingReview => "Processing",
            Status::Active => "Active",
            Status::Failed => "Failed",
        }
    }

    pub const ALL: [Status; 4] = [
        Status::Processing,
        Status::PendingReview,
        Status::Active,
        Status::Failed,
    ];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Processing => "Processing",
            Status::PendingReview => "PendingReview",
            Status::Active => "Active",
            Status::Failed => "Failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Active | Status::Failed)
    }

    /// Whether `self → next` is allowed for this kind of change.
    pub fn may_become(self, next: Status, transition: Transition) -> bool {
        match transition {
            Transition::Lifecycle => self.can_become(next),
            Transition::ContentLost => next == Status::Failed && self != Status::Failed,
            Transition::Reopen => {
                next == Status::PendingReview && matches!(self, Status::Active | Status::Failed)
            }
        }
    }

    /// Whether `self → next` is a step of the life cycle.
    pub fn can_become(self, next: Status) -> bool {
        matches!(
            (self, next),
            (Status::Processing, Status::PendingReview)
                | (Status::Processing, Status::Active)
                | (Status::Processing, Status::Failed)
                | (Status::PendingReview, Status::Active)
                | (Status::PendingReview, Status::Failed)
        )
    }
}

/// Why a status changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Processing settles or a reviewer decides: only the forward steps of the life cycle.
    Lifecycle,
    /// A repair (`assetlib fsck --repair`) found the stored bytes gone: any status but
    /// `Failed` becomes `Failed` (`content-missing`), `Active` included, because the asset
    /// can no longer be served and its owner must upload it again.
    ContentLost,
    /// A reviewer's decision undone (`POST /v1/reviews/{id}/reopen`): a decided asset, `Active`
    /// or `Failed`, goes back to `PendingReview` and is not resolvable until decided again.
    Reopen,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A display name: at most 64 characters, no control characters. Surrounding whitespace is trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetName(String);

impl AssetName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(format!(
                "name is {chars} characters long; at most {} are allowed",
                Self::MAX_CHARS
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err("name must not contain control characters".to_owned());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The form in which the `name` filter compares names and needles, so that case never matters,
/// whatever the script: composed (NFC, so a decomposed "e\u{301}" is "é"), then case-folded by
/// Unicode — upper then lower case, which agrees with full case folding where it matters
/// ("Straße", "STRASSE" → "strasse"; "ΩMEGA" → "ωmega") — with the final sigma read as a
/// sigma ("ΟΔΟΣ" → "οδοσ", so a needle typed with either form finds it).
pub fn fold_name(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let composed: String = s.nfc().collect();
    composed
        .to_uppercase()
        .to_lowercase()
        .replace('ς', "σ")
        .nfc()
        .collect()
}

/// Why an asset failed: a stable kebab-case code and a sentence a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// One asset as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub id: AssetId,
    pub tenant: String,
    pub name: Option<String>,
    pub asset_type: AssetType,
    pub url: String,
    pub sha256: String,
    pub bytes: u64,
    pub format: Option<String>,
    pub facts: MediaFacts,
    pub status: Status,
    pub failure: Option<Failure>,
    /// What the face check found, and the review decision, when there was one.
    pub moderation: Option<super::ModerationRecord>,
    /// The group the asset is filed in, if any.
    pub group_id: Option<String>,
    /// When a generation task last referenced it (resolved or forwarded), if ever.
    pub last_used_at: Option<DateTime<Utc>>,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    /// Monotonic insertion order; the keyset for "newest first" pagination.
    pub seq: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_types_are_case_sensitive() {
        assert_eq!(AssetType::parse("Image"), Some(AssetType::Image));
        assert_eq!(AssetType::parse("image"), None);
        assert_eq!(AssetType::parse("IMAGE"), None);
        assert_eq!(AssetType::parse("Document"), Some(AssetType::Document));
        assert_eq!(AssetType::parse("Model"), None);
    }

    #[test]
    fn media_types_map_to_asset_types_by_family() {
        assert_eq!(AssetType::for_media_type("image/png"), AssetType::Image);
        assert_eq!(AssetType::for_media_type("Video/MP4"), AssetType::Video);
        assert_eq!(AssetType::for_media_type("audio/mpeg"), AssetType::Audio);
        for other in ["application/pdf", "text/plain", "", "image"] {
            let expected = if other == "image" {
                AssetType::Image
            } else {
                AssetType::Document
            };
            assert_eq!(AssetType::for_media_type(other), expected, "{other}");
        }
    }

    #[test]
    fn statuses_never_go_back() {
        for from in Status::ALL {
            assert!(!from.can_become(Status::Processing), "{from} → Processing");
            assert!(!from.can_become(from), "{from} → itself");
        }
        assert!(!Status::Active.can_become(Status::Failed));
        assert!(!Status::Failed.can_become(Status::Active));
        assert!(Status::PendingReview.can_become(Status::Active));
        assert!(Status::Processing.can_become(Status::Failed));
        for from in Status::ALL {
            for to in Status::ALL {
                assert_eq!(
                    from.may_become(to, Transition::Lifecycle),
                    from.can_become(to)
                );
            }
        }
    }

    #[test]
    fn lost_content_fails_any_live_status() {
        for from in [Status::Processing, Status::PendingReview, Status::Active] {
            assert!(
                from.may_become(Status::Failed, Transition::ContentLost),
                "{from}"
            );
            assert!(!from.may_become(Status::Active, Transition::ContentLost));
        }
        assert!(!Status::Failed.may_become(Status::Failed, Transition::ContentLost));
    }

    #[test]
    fn names_are_bounded() {
        assert_eq!(
            AssetName::parse("  my photo ").map(AssetName::into_string),
            Ok("my photo".into())
        );
        assert!(AssetName::parse(&"x".repeat(64)).is_ok());
        assert!(AssetName::parse(&"x".repeat(65)).is_err());
        assert!(AssetName::parse(&"é".repeat(64)).is_ok());
        assert!(AssetName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn names_fold_by_unicode() {
        for (a, b) in [
            ("École Été", "école été"),
            ("ÉCOLE", "école"),
            ("Ωmega", "ωMEGA"),
            ("ΟΔΟΣ", "οδος"),
            ("ΟΔΟΣ", "οδοσ"),
            ("Straße", "STRASSE"),
            ("e\u{301}clair", "Éclair"),
            ("ǅemal", "ǆEMAL"),
            ("ﬁle", "FILE"),
        ] {
            assert_eq!(fold_name(a), fold_name(b), "{a} ~ {b}");
        }
        assert_eq!(fold_name("École Été"), "école été");
        assert_ne!(fold_name("école"), fold_name("ecole"));
    }
}
