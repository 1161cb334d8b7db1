use serde::{Deserialize, Serialize};

use crate::domain::{Asset, Group, MediaFacts, ModerationRecord, rfc3339_millis};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    /// Image, Video, Audio or Document; without it, a URL's type is the fetched bytes'.
    pub asset_type: Option<String>,
    pub url: Option<String>,
    pub name: Option<String>,
    /// The group to file the asset in.
    pub group_id: Option<String>,
    /// Answer a live asset with the same bytes and type instead of creating one.
    pub dedupe: Option<bool>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct FailureBody {
    pub code: String,
    pub message: String,
}

/// The native detail object: the kyy fields plus what the server knows.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetBody {
    pub asset_id: String,
    pub name: Option<String>,
    pub asset_type: &'static str,
    pub status: &'static str,
    pub url: String,
    pub sha256: String,
    pub bytes: u64,
    pub format: Option<String>,
    #[serde(flatten)]
    pub facts: MediaFacts,
    pub failure: Option<FailureBody>,
    /// What the face check found and what a reviewer decided (images only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<ModerationRecord>,
    /// The reviewer's decision standing on the asset (absent while it waits or when never
    /// reviewed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewBody>,
    /// The group the asset is filed in (`null`: none).
    pub group_id: Option<String>,
    pub create_time: String,
    pub update_time: String,
    /// When the tenant's expiry policy will delete the asset, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Set on a create answered with an earlier asset of the same content (`dedupe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deduplicated_from: Option<String>,
}

impl From<&Asset> for AssetBody {
    fn from(a: &Asset) -> Self {
        Self {
            asset_id: a.id.to_string(),
            name: a.name.clone(),
            asset_type: a.asset_type.as_str(),
            status: a.status.as_str(),
            url: a.url.clone(),
            sha256: a.sha256.clone(),
            bytes: a.bytes,
            format: a.format.clone(),
            facts: a.facts.clone(),
            failure: a.failure.as_ref().map(|f| FailureBody {
                code: f.code.clone(),
                message: f.message.clone(),
            }),
            moderation: a.moderation.clone(),
            review: a
                .moderation
                .as_ref()
                .and_then(|m| m.decision.as_ref())
                .map(|d| ReviewBody {
                    decision: d.action.as_str(),
                    reason: d.reason.clone(),
                    decided_by: d.reviewer_key.clone(),
                    decided_by_name: d.reviewer_name.clone(),
                    decided_at: rfc3339_millis(d.at),
                }),
            group_id: a.group_id.clone(),
            create_time: rfc3339_millis(a.create_time),
            update_time: rfc3339_millis(a.update_time),
            expires_at: None,
            deduplicated_from: None,
        }
    }
}

/// A reviewer's decision as v1 details show it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewBody {
    /// `approve` or `reject`.
    pub decision: &'static str,
    pub reason: Option<String>,
    /// The reviewer's key id.
    pub decided_by: String,
    /// The reviewer's key name, when it has one.
    pub decided_by_name: Option<String>,
    pub decided_at: String,
}

impl AssetBody {
    /// The asset as v1 shows it to its owner: with when it expires, if it does.
    pub fn of(asset: &Asset, library: &crate::service::LibraryService) -> Self {
        let mut body = Self::from(asset);
        body.expires_at = library.expires_at(asset).map(rfc3339_millis);
        body
    }
}

/// `PATCH /v1/assets/{id}`: `name` and/or `groupId`, each a string or `null` (none).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub group_id: Option<Option<String>>,
}

/// `POST /v1/groups`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct GroupCreateBody {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// `PATCH /v1/groups/{id}`: `name` and/or `description` (`null` clears the description).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct GroupUpdateBody {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
}

/// A group as v1 shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupBody {
    pub group_id: String,
    pub name: String,
    pub description: Option<String>,
    /// Live assets filed in the group.
    pub asset_count: u64,
    pub create_time: String,
    pub update_time: String,
}

impl From<&Group> for GroupBody {
    fn from(g: &Group) -> Self {
        Self {
            group_id: g.id.to_string(),
            name: g.name.clone(),
            description: g.description.clone(),
            asset_count: g.asset_count,
            create_time: rfc3339_millis(g.create_time),
            update_time: rfc3339_millis(g.update_time),
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupListBody {
    pub items: Vec<GroupBody>,
    /// How many groups match, over every page.
    pub total: u64,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The answer to `DELETE /v1/groups/{id}`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupDeletedBody {
    pub group_id: String,
    /// Assets deleted with the group (`cascade`).
    pub deleted_assets: u64,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListBody {
    pub items: Vec<AssetBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}
