use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Row, Type};

use super::rows::{from_millis, millis};
use super::{Dialect, SqlRepo};
use crate::domain::{AssetType, OverQuota, check_new_upload};
use crate::repo::{NewUpload, QuotaCheck, RepoError, RepoResult, UploadRecord, UploadRepo};

const UPLOAD_COLUMNS: &str =
    "id, tenant, asset_type, name, length, upload_offset, parts, asset_id, expires_at";

fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn upload_from_row<'r, R>(row: &'r R) -> RepoResult<UploadRecord>
where
    R: Row,
    usize: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = row.try_get(0)?;
    let asset_type: String = row.try_get(2)?;
    let length: i64 = row.try_get(4)?;
    let offset: i64 = row.try_get(5)?;
    let parts: String = row.try_get(6)?;
    let size =
        |v: i64| u64::try_from(v).map_err(|_| RepoError::Corrupt(format!("upload {id}: size {v}")));
    Ok(UploadRecord {
        tenant: row.try_get(1)?,
        asset_type: AssetType::parse(&asset_type)
            .ok_or_else(|| RepoError::Corrupt(format!("upload {id}: type {asset_type}")))?,
        name: row.try_get(3)?,
        length: size(length)?,
        offset: size(offset)?,
        parts: parts
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        asset_id: row.try_get(7)?,
        expires_at: from_millis(row.try_get(8)?)?,
        id,
    })
}

#[async_trait]
impl<DB> UploadRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn create_upload(&self, upload: &NewUpload) -> RepoResult<()> {
        // No quota and no cap on open uploads: never refused.
        let created = self.create_upload_checked(upload, None, u64::MAX).await?;
        created.map_err(|over| RepoError::Corrupt(over.message))
    }

    async fn create_upload_checked(
        &self,
        upload: &NewUpload,
        quota: Option<QuotaCheck>,
        max_open: u64,
    ) -> RepoResult<Result<(), OverQuota>> {
        let mut tx = self.write.begin().await?;
        DB::lock_tenant(&mut tx, &upload.tenant).await?;
        let since = quota.map_or(upload.created_at, |q| q.since);
        let usage = super::quotas::usage_on::<DB>(&mut tx, &upload.tenant, since).await?;
        let limits = quota.map(|q| q.quota).unwrap_or_default();
        if let Err(over) =
            check_new_upload(&upload.tenant, &limits, &usage, upload.length, max_open)
        {
            tx.rollback().await?;
            return Ok(Err(over));
        }
        sqlx::query(
            "INSERT INTO uploads (id, tenant, asset_type, name, length, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(upload.id.as_str())
        .bind(upload.tenant.as_str())
        .bind(upload.asset_type.as_str())
        .bind(upload.name.clone())
        .bind(count(upload.length))
        .bind(millis(upload.created_at))
        .bind(millis(upload.expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn get_upload(&self, tenant: &str, id: &str) -> RepoResult<Option<UploadRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1 AND tenant = $2"
        )))
        .bind(id)
        .bind(tenant)
        .fetch_optional(&self.write)
        .await?;
        row.as_ref().map(upload_from_row).transpose()
    }

    async fn get_upload_any_tenant(&self, id: &str) -> RepoResult<Option<UploadRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.write)
        .await?;
        row.as_ref().map(upload_from_row).transpose()
    }

    async fn append_upload_part(
        &self,
        id: &str,
        from: u64,
        to: u64,
        part: &str,
        expires_at: DateTime<Utc>,
    ) -> RepoResult<bool> {
        let done = sqlx::query(
            "UPDATE uploads SET upload_offset = $3, expires_at = $5, \
             parts = CASE WHEN parts = '' THEN $4 ELSE parts || ',' || $4 END \
             WHERE id = $1 AND upload_offset = $2 AND asset_id IS NULL",
        )
        .bind(id)
        .bind(count(from))
        .bind(count(to))
        .bind(part)
        .bind(millis(expires_at))
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn finish_upload(&self, id: &str, asset_id: &str) -> RepoResult<bool> {
        let done =
            sqlx::query("UPDATE uploads SET asset_id = $2 WHERE id = $1 AND asset_id IS NULL")
                .bind(id)
                .bind(asset_id)
                .execute(&self.write)
                .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn delete_upload(&self, id: &str) -> RepoResult<bool> {
        let done = sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn expired_uploads(&self, now: DateTime<Utc>, limit: u32) -> RepoResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT id FROM uploads WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(millis(now))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(RepoError::from))
            .collect()
    }
}
