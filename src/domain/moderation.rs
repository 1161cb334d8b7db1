//! Moderation records: what the face check found and what a reviewer decided.

use serde::{Deserialize, Serialize};

/// A detected face, in the coordinates of the original image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FaceBox {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub score: f64,
    /// Of a video: the checked frame the face is in (0 is the first frame, the poster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<u32>,
}

/// What to do with an asset that shows a face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FacePolicy {
    /// Wait for a reviewer (`PendingReview`).
    Hold,
    /// Fail at once (`face-detected`).
    Reject,
    /// No face check.
    Allow,
}

impl std::str::FromStr for FacePolicy {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "hold" => Ok(FacePolicy::Hold),
            "reject" => Ok(FacePolicy::Reject),
            "allow" => Ok(FacePolicy::Allow),
            other => Err(format!(
                "unknown face policy '{other}'; expected hold, reject or allow"
            )),
        }
    }
}

/// Which face detector runs the face check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FaceDetectorKind {
    /// MTCNN (a cascade of three CNNs): the default.
    #[default]
    Mtcnn,
}

impl std::str::FromStr for FaceDetectorKind {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "mtcnn" => Ok(FaceDetectorKind::Mtcnn),
            "seetaface" => {
                Err("the face detector 'seetaface' was removed; use mtcnn (the default)".to_owned())
            }
            other => Err(format!("unknown face detector '{other}'; expected mtcnn")),
        }
    }
}

/// Read by name as on the command line, so a configuration file naming a removed or unknown
/// detector is refused with the same sentence.
impl<'de> Deserialize<'de> for FaceDetectorKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// What the server records about a moderated asset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModerationRecord {
    /// The detector that looked, e.g. `mtcnn` or `seetaface-frontal-1.0`.
    pub detector: String,
    pub faces: Vec<FaceBox>,
    /// Size of the image the boxes refer to.
    pub width: u32,
    pub height: u32,
    /// Why the content could not be scanned, when it could not (e.g. an undecodable format).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Of a video: how many frames were checked (each has a preview: `?frame=N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
    /// Of a video: when each checked frame is, in milliseconds from the start, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame_millis: Vec<u64>,
    /// Set when a reviewer decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Set when a decision was undone (`POST /v1/reviews/{id}/reopen`) and the asset waits again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened: Option<Reopened>,
}

/// A decision undone: who reopened the asset, when, and what had been decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reopened {
    pub by_key: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub undone: ReviewAction,
}

/// What an entry of the review history records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HistoryDecision {
    Approve,
    Reject,
    /// A decision undone: the asset went back to the queue.
    Reopen,
}

impl HistoryDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryDecision::Approve => "approve",
            HistoryDecision::Reject => "reject",
            HistoryDecision::Reopen => "reopen",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Approve, Self::Reject, Self::Reopen]
            .into_iter()
            .find(|d| d.as_str() == raw)
    }
}

impl From<ReviewAction> for HistoryDecision {
    fn from(action: ReviewAction) -> Self {
        match action {
            ReviewAction::Approve => HistoryDecision::Approve,
            ReviewAction::Reject => HistoryDecision::Reject,
        }
    }
}

/// What a reviewer decided about a held asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReviewAction {
    /// The asset becomes `Active`.
    Approve,
    /// The asset becomes `Failed` (`review-rejected`) with the reviewer's reason.
    Reject,
}

impl ReviewAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewAction::Approve => "approve",
            ReviewAction::Reject => "reject",
        }
    }
}

impl std::fmt::Display for ReviewAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reviewer's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub action: ReviewAction,
    pub reviewer_key: String,
    /// The key's name, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer_name: Option<String>,
    pub reviewer_tenant: String,
    pub reason: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}
