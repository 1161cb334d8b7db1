//! Row ↔ domain conversions shared by every SQL backend (times are Unix milliseconds; facts
//! and moderation records are JSON text).

use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::domain::{Asset, AssetId, AssetType, Failure, MediaFacts, Role, Status};
use crate::repo::{ApiKeyRecord, AssetRef, RepoError, RepoResult};

/// The columns of an asset row, in the order `point.rs` reads them by position.
pub const ASSET_COLUMNS: &str = "seq, id, tenant, name, asset_type, url, sha256, bytes, format, \
     facts, status, failure_code, failure_message, moderation, group_id, last_used_at, created_at, updated_at";

/// An asset by its id and tenant, unless deleted: read through the pool on every backend, and
/// in place on SQLite (`point.rs`).
pub static ASSET_BY_ID_AND_TENANT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {ASSET_COLUMNS} FROM assets \
         WHERE id = $1 AND tenant = $2 AND deleted_at IS NULL"
    )
});

/// An asset by its id alone, unless deleted (as [`ASSET_BY_ID_AND_TENANT`]).
pub static ASSET_BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1 AND deleted_at IS NULL")
});

pub fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub fn from_millis(ms: i64) -> RepoResult<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| RepoError::Corrupt(format!("timestamp {ms} out of range")))
}

pub fn asset_from_row<'r, R>(row: &'r R) -> RepoResult<Asset>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    AssetColumns {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        tenant: row.try_get("tenant")?,
        name: row.try_get("name")?,
        asset_type: row.try_get("asset_type")?,
        url: row.try_get("url")?,
        sha256: row.try_get("sha256")?,
        bytes: row.try_get("bytes")?,
        format: row.try_get("format")?,
        facts: row.try_get("facts")?,
        status: row.try_get("status")?,
        failure_code: row.try_get("failure_code")?,
        failure_message: row.try_get("failure_message")?,
        moderation: row.try_get("moderation")?,
        group_id: row.try_get("group_id")?,
        last_used_at: row.try_get("last_used_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    }
    .into_asset()
}

/// The values of an asset row's columns (`ASSET_COLUMNS`, in order), as the database holds
/// them: read from a sqlx row ([`asset_from_row`]) or by the embedded database's one-row
/// reads (`point.rs`), and checked into an [`Asset`] by one function.
pub struct AssetColumns {
    pub seq: i64,
    pub id: String,
    pub tenant: String,
    pub name: Option<String>,
    pub asset_type: String,
    pub url: String,
    pub sha256: String,
    pub bytes: i64,
    pub format: Option<String>,
    pub facts: String,
    pub status: String,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub moderation: Option<String>,
    pub group_id: Option<String>,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl AssetColumns {
    pub fn into_asset(self) -> RepoResult<Asset> {
        let (id, bytes) = (&self.id, self.bytes);
        Ok(Asset {
            id: AssetId::parse(id).ok_or_else(|| RepoError::Corrupt(format!("asset id {id}")))?,
            asset_type: AssetType::parse(&self.asset_type)
                .ok_or_else(|| RepoError::Corrupt(format!("asset type {}", self.asset_type)))?,
            bytes: u64::try_from(bytes).map_err(|_| RepoError::Corrupt(format!("size {bytes}")))?,
            facts: serde_json::from_str::<MediaFacts>(&self.facts)
                .map_err(|e| RepoError::Corrupt(format!("facts of {id}: {e}")))?,
            status: Status::parse(&self.status)
                .ok_or_else(|| RepoError::Corrupt(format!("status {}", self.status)))?,
            moderation: self
                .moderation
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| RepoError::Corrupt(format!("moderation of {id}: {e}")))?,
            last_used_at: self.last_used_at.map(from_millis).transpose()?,
            create_time: from_millis(self.created_at)?,
            update_time: from_millis(self.updated_at)?,
            failure: self.failure_code.map(|code| Failure {
                code,
                message: self.failure_message.unwrap_or_default(),
            }),
            tenant: self.tenant,
            name: self.name,
            url: self.url,
            sha256: self.sha256,
            format: self.format,
            group_id: self.group_id,
            seq: self.seq,
        })
    }
}

pub fn key_from_row<'r, R>(row: &'r R) -> RepoResult<ApiKeyRecord>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let role: String = row.try_get("role")?;
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    Ok(ApiKeyRecord {
        id: row.try_get("id")?,
        tenant: row.try_get("tenant")?,
        role: role.parse::<Role>().map_err(RepoError::Corrupt)?,
        name: row.try_get("name")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        revoked_at: revoked_at.map(from_millis).transpose()?,
    })
}

pub const ASSET_REF_COLUMNS: &str = "seq, id, sha256, status, updated_at";

pub fn asset_ref_from_row<'r, R>(row: &'r R) -> RepoResult<AssetRef>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let status: String = row.try_get("status")?;
    let id: String = row.try_get("id")?;
    Ok(AssetRef {
        seq: row.try_get("seq")?,
        id: AssetId::parse(&id).ok_or_else(|| RepoError::Corrupt(format!("asset id {id}")))?,
        sha256: row.try_get("sha256")?,
        status: Status::parse(&status)
            .ok_or_else(|| RepoError::Corrupt(format!("status {status}")))?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
    })
}
