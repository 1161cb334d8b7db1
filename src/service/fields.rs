//! The fields every face sends with an asset, checked one way: its `assetType` and its `name`.

use super::ServiceError;
use crate::domain::codes;
use crate::domain::{AssetName, AssetType};

const TYPES_HINT: &str = "use exactly one of Image, Video, Audio, Document (case-sensitive)";

/// `assetType`, exact.
pub fn parse_type(raw: Option<&str>) -> Result<AssetType, ServiceError> {
    match raw {
        None | Some("") => Err(ServiceError::client(
            &codes::INVALID_ASSET_TYPE,
            format!("assetType is required; {TYPES_HINT}"),
        )),
        Some(raw) => AssetType::parse(raw).ok_or_else(|| {
            ServiceError::client(
                &codes::INVALID_ASSET_TYPE,
                format!("assetType '{raw}' is not valid; {TYPES_HINT}"),
            )
        }),
    }
}

/// `name`: optional; an empty name is no name (`null` on both faces).
pub fn parse_name(raw: Option<&str>) -> Result<Option<String>, ServiceError> {
    match raw {
        None => Ok(None),
        Some(raw) => {
            let name =
                AssetName::parse(raw).map_err(|m| ServiceError::client(&codes::INVALID_NAME, m))?;
            Ok(Some(name.into_string()).filter(|n| !n.is_empty()))
        }
    }
}

/// A `groupId` as sent: trimmed; empty is no group. Whether it is the tenant's is checked
/// where it is used (`groups::owned_group`).
pub fn group_field(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
}
