use serde::{Deserialize, Serialize};

use crate::domain::{Asset, Status};

/// Body of `POST /kyyVideo2/asset/upload`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadBody {
    pub asset_type: Option<String>,
    pub url: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadData {
    pub asset_id: String,
}

/// The detail object: exactly the documented fields.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetDetail {
    pub name: Option<String>,
    pub asset_id: String,
    pub status: &'static str,
    pub asset_type: &'static str,
    pub url: String,
    pub create_time: String,
}

impl From<&Asset> for AssetDetail {
    fn from(a: &Asset) -> Self {
        Self {
            name: a.name.clone(),
            asset_id: a.id.to_string(),
            status: kyy_status(a.status),
            asset_type: a.asset_type.as_str(),
            url: a.url.clone(),
            create_time: a.create_time.format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

/// This face's clients know three states: a held asset shows as `Processing`.
pub fn kyy_status(status: Status) -> &'static str {
    status.three_state()
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListData {
    pub list: Vec<AssetDetail>,
    pub total: u64,
    pub page_num: u64,
    pub page_size: u32,
}

/// `{code, msg, data}` with a numeric `code`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "KyyEnvelope_{T}")]
pub struct Envelope<T: Serialize> {
    pub code: i64,
    pub msg: Option<String>,
    pub data: T,
}

/// The delete answer's quirk: a *string* code.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DeleteEnvelope {
    #[schemars(extend("const" = "0"))]
    pub code: &'static str,
    #[schemars(extend("const" = "success"))]
    pub msg: &'static str,
    pub data: Option<()>,
}
