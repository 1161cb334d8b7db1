//! The actions of the Volcengine-style face, over the same services as the kyy and v1 faces:
//! groups are the v1 groups, assets the same assets (an asset created here is seen there with
//! its id, and the other way round).

use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::VolcError;
use crate::domain::{Asset, Caller, Group, Status, codes};
use crate::repo::{AssetFilter, AssetOrder, SortKey};
use crate::service::UploadFields;
use crate::state::AppState;

/// The only group type offered; `LivenessFace` (real-person verification) is not.
const GROUP_TYPE: &str = "AIGC";
/// Projects are not kept: every object is in the default one.
const PROJECT: &str = "default";

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn invalid(message: impl Into<String>) -> VolcError {
    VolcError::new(
        StatusCode::BAD_REQUEST,
        codes::volc::INVALID_PARAMETER,
        message,
    )
}

fn input<T: DeserializeOwned>(value: Value) -> Result<T, VolcError> {
    serde_json::from_value(value).map_err(|e| invalid(format!("the request body: {e}")))
}

fn required(field: &str, value: Option<String>) -> Result<String, VolcError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| invalid(format!("{field} is required")))
}

fn group_object(g: &Group) -> Value {
    json!({
        "Id": g.id.as_str(),
        "Name": g.name,
        "Description": g.description.clone().unwrap_or_default(),
        "GroupType": GROUP_TYPE,
        "ProjectName": PROJECT,
        "AssetCount": g.asset_count,
        "CreateTime": iso(g.create_time),
        "UpdateTime": iso(g.update_time),
    })
}

async fn asset_object(state: &AppState, a: &Asset) -> Result<Value, VolcError> {
    // Like upstream's storage URLs: signed, valid for the content URL lifetime (12 h).
    let url = if a.status == Status::Active {
        state.delivery.content_url(a).await?
    } else {
        String::new()
    };
    let mut object = json!({
        "Id": a.id.as_str(),
        "Name": a.name.clone().unwrap_or_default(),
        "URL": url,
        "AssetType": a.asset_type.as_str(),
        "GroupId": a.group_id.clone().unwrap_or_default(),
        "Status": a.status.three_state(),
        "ProjectName": PROJECT,
        "CreateTime": iso(a.create_time),
        "UpdateTime": iso(a.update_time),
    });
    if let Some(f) = &a.failure {
        object["Error"] = json!({"Code": f.code, "Message": f.message});
    }
    Ok(object)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdInput {
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupInput {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    group_type: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct GroupFilter {
    group_type: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListGroupsInput {
    #[serde(default)]
    filter: GroupFilter,
    page_number: Option<u64>,
    page_size: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateAssetInput {
    group_id: Option<String>,
    #[serde(rename = "URL")]
    url: Option<String>,
    asset_type: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct AssetListFilter {
    #[serde(default)]
    group_ids: Vec<String>,
    group_type: Option<String>,
    #[serde(default)]
    statuses: Vec<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListAssetsInput {
    #[serde(default)]
    filter: AssetListFilter,
    page_number: Option<u64>,
    page_size: Option<u32>,
    sort_by: Option<String>,
    sort_order: Option<String>,
}

fn check_group_type(group_type: Option<&str>) -> Result<(), VolcError> {
    match group_type {
        None | Some("") | Some(GROUP_TYPE) => Ok(()),
        Some("LivenessFace") => Err(VolcError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter.GroupType",
            "GroupType LivenessFace (real-person verification) is not offered by this server; use AIGC",
        )),
        Some(other) => Err(invalid(format!(
            "GroupType '{other}' is not known; use AIGC"
        ))),
    }
}

fn page(number: Option<u64>, size: Option<u32>) -> Result<(u64, u32), VolcError> {
    let number = number.unwrap_or(1);
    let size = size.unwrap_or(10);
    if number == 0 {
        return Err(invalid("PageNumber starts at 1"));
    }
    if !(1..=100).contains(&size) {
        return Err(invalid("PageSize must be 1–100"));
    }
    Ok((number, size))
}

/// Runs one action and answers its `Result`.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    action: &str,
    body: Value,
) -> Result<Value, VolcError> {
    match action {
        "CreateAssetGroup" => {
            let i: GroupInput = input(body)?;
            check_group_type(i.group_type.as_deref())?;
            let group = state
                .groups
                .create(caller, i.name.as_deref(), i.description.as_deref())
                .await?;
            Ok(json!({"Id": group.id.as_str()}))
        }
        "GetAssetGroup" => {
            let i: IdInput = input(body)?;
            let group = state.groups.get(caller, &required("Id", i.id)?).await?;
            Ok(group_object(&group))
        }
        "ListAssetGroups" => {
            let i: ListGroupsInput = input(body)?;
            check_group_type(i.filter.group_type.as_deref())?;
            let (number, size) = page(i.page_number, i.page_size)?;
            let found = state
                .groups
                .list(
                    caller,
                    i.filter.name.as_deref(),
                    (number - 1).saturating_mul(u64::from(size)),
                    size,
                )
                .await?;
            Ok(json!({
                "Items": found.items.iter().map(group_object).collect::<Vec<_>>(),
                "TotalCount": found.total,
                "PageNumber": number,
                "PageSize": size,
            }))
        }
        "UpdateAssetGroup" => {
            let i: GroupInput = input(body)?;
            let id = required("Id", i.id)?;
            state
                .groups
                .update(
                    caller,
                    &id,
                    i.name.as_deref(),
                    i.description.as_deref().map(Some),
                )
                .await?;
            Ok(json!({}))
        }
        "DeleteAssetGroup" => {
            let i: IdInput = input(body)?;
            state
                .groups
                .delete(caller, &required("Id", i.id)?, false)
                .await?;
            Ok(json!({}))
        }
        "CreateAsset" => {
            let i: CreateAssetInput = input(body)?;
            let group_id = required("GroupId", i.group_id)?;
            let url = required("URL", i.url)?;
            let asset_type = match i.asset_type.as_deref() {
                None | Some("") => None,
                Some(t @ ("Image" | "Video" | "Audio")) => Some(t.to_owned()),
                Some(other) => {
                    return Err(invalid(format!(
                        "AssetType '{other}' is not valid; use Image, Video or Audio"
                    )));
                }
            };
            let asset_type = asset_type
                .ok_or_else(|| invalid("AssetType is required: Image, Video or Audio"))?;
            let fields = UploadFields {
                asset_type: Some(asset_type),
                name: i.name,
                group_id: Some(group_id),
                dedupe: false,
            };
            let upload = fields.by_url(Some(&url))?;
            let registered = state.ingest.file(caller, upload).await?;
            Ok(json!({"Id": registered.asset.id.as_str()}))
        }
        "GetAsset" => {
            let i: IdInput = input(body)?;
            let asset = state.library.get(caller, &required("Id", i.id)?).await?;
            asset_object(state, &asset).await
        }
        "ListAssets" => {
            let i: ListAssetsInput = input(body)?;
            check_group_type(i.filter.group_type.as_deref())?;
            let (number, size) = page(i.page_number, i.page_size)?;
            let mut statuses = Vec::new();
            for s in &i.filter.statuses {
                match s.as_str() {
                    "Processing" => statuses.extend([Status::Processing, Status::PendingReview]),
                    "Active" => statuses.push(Status::Active),
                    "Failed" => statuses.push(Status::Failed),
                    other => {
                        return Err(invalid(format!(
                            "Status '{other}' is not valid; use Processing, Active or Failed"
                        )));
                    }
                }
            }
            let key = match i.sort_by.as_deref() {
                None | Some("") | Some("CreateTime") => SortKey::CreateTime,
                Some("UpdateTime") => SortKey::UpdateTime,
                Some("GroupId") => SortKey::GroupId,
                Some(other) => {
                    return Err(invalid(format!(
                        "SortBy '{other}' is not valid; use CreateTime, UpdateTime or GroupId"
                    )));
                }
            };
            let ascending = match i.sort_order.as_deref() {
                None | Some("") | Some("Desc") => false,
                Some("Asc") => true,
                Some(other) => {
                    return Err(invalid(format!(
                        "SortOrder '{other}' is not valid; use Asc or Desc"
                    )));
                }
            };
            if i.filter.group_ids.len() > 100 {
                return Err(invalid("Filter.GroupIds names at most 100 groups"));
            }
            let filter = AssetFilter {
                statuses,
                name_contains: i.filter.name.filter(|n| !n.is_empty()),
                group_ids: i.filter.group_ids,
                order: AssetOrder { key, ascending },
                ..AssetFilter::default()
            };
            let found = state
                .library
                .list_page(caller, &filter, number, size)
                .await?;
            let mut items = Vec::with_capacity(found.items.len());
            for asset in &found.items {
                items.push(asset_object(state, asset).await?);
            }
            Ok(json!({
                "Items": items,
                "TotalCount": found.total,
                "PageNumber": number,
                "PageSize": size,
            }))
        }
        "UpdateAsset" => {
            let i: GroupInput = input(body)?;
            let id = required("Id", i.id)?;
            let name = i.name.ok_or_else(|| invalid("Name is required"))?;
            state
                .library
                .update(caller, &id, Some(Some(name.as_str())), None)
                .await?;
            Ok(json!({}))
        }
        "DeleteAsset" => {
            let i: IdInput = input(body)?;
            state
                .library
                .delete(caller, &required("Id", i.id)?, false)
                .await?;
            Ok(json!({}))
        }
        "" => Err(VolcError::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            "the Action query parameter is required",
        )),
        other => Err(VolcError::new(
            StatusCode::NOT_FOUND,
            "InvalidActionOrVersion",
            format!("the action '{other}' is not known"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AssetType;

    #[test]
    fn held_assets_show_as_processing() {
        assert_eq!(Status::PendingReview.three_state(), "Processing");
        assert_eq!(AssetType::Image.as_str(), "Image");
        assert!(check_group_type(Some("LivenessFace")).is_err());
        assert!(check_group_type(None).is_ok());
    }
}
