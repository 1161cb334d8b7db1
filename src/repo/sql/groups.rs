use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, QueryBuilder, Row, Type};

use super::rows::{from_millis, millis};
use super::{Dialect, SqlRepo};
use crate::domain::{Group, GroupId, fold_name};
use crate::repo::{GroupDeletion, GroupPage, GroupRepo, GroupUpdate, RepoError, RepoResult};

/// A group's columns and its count of live assets (the partial index `assets_by_group`).
const GROUP_COLUMNS: &str = "g.id, g.tenant, g.name, g.description, g.created_at, g.updated_at, \
     (SELECT COUNT(*) FROM assets a \
      WHERE a.tenant = g.tenant AND a.group_id = g.id AND a.deleted_at IS NULL) AS asset_count";

fn group_from_row<'r, R>(row: &'r R) -> RepoResult<Group>
where
    R: Row,
    usize: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = row.try_get(0)?;
    let count: i64 = row.try_get(6)?;
    Ok(Group {
        id: GroupId::parse(&id).ok_or_else(|| RepoError::Corrupt(format!("group id {id}")))?,
        tenant: row.try_get(1)?,
        name: row.try_get(2)?,
        description: row.try_get(3)?,
        create_time: from_millis(row.try_get(4)?)?,
        update_time: from_millis(row.try_get(5)?)?,
        asset_count: u64::try_from(count).unwrap_or(0),
    })
}

#[async_trait]
impl<DB> GroupRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn insert_group(&self, group: &Group) -> RepoResult<bool> {
        let done = sqlx::query(
            "INSERT INTO asset_groups \
             (id, tenant, name, name_folded, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(group.id.as_str())
        .bind(group.tenant.as_str())
        .bind(group.name.as_str())
        .bind(fold_name(&group.name))
        .bind(group.description.clone())
        .bind(millis(group.create_time))
        .bind(millis(group.update_time))
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn get_group(&self, tenant: &str, id: &str) -> RepoResult<Option<Group>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {GROUP_COLUMNS} FROM asset_groups g WHERE g.id = $1 AND g.tenant = $2"
        )))
        .bind(id)
        .bind(tenant)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(group_from_row).transpose()
    }

    async fn list_groups(
        &self,
        tenant: &str,
        name_contains: Option<&str>,
        offset: u64,
        limit: u32,
    ) -> RepoResult<GroupPage> {
        let filter = |q: &mut QueryBuilder<DB>| {
            q.push(" WHERE g.tenant = ");
            q.push_bind(tenant.to_owned());
            if let Some(name) = name_contains {
                q.push(format_args!(" AND {}(g.name_folded, ", DB::POSITION_FN));
                q.push_bind(fold_name(name));
                q.push(") > 0");
            }
        };
        let mut count = QueryBuilder::<DB>::new("SELECT COUNT(*) FROM asset_groups g");
        filter(&mut count);
        let total: i64 = count.build().fetch_one(&self.read).await?.try_get(0)?;
        let mut q = QueryBuilder::<DB>::new(format!("SELECT {GROUP_COLUMNS} FROM asset_groups g"));
        filter(&mut q);
        q.push(" ORDER BY g.created_at DESC, g.id DESC LIMIT ");
        q.push_bind(i64::from(limit));
        q.push(" OFFSET ");
        q.push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
        let rows = q.build().fetch_all(&self.read).await?;
        Ok(GroupPage {
            items: rows.iter().map(group_from_row).collect::<RepoResult<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn update_group(
        &self,
        tenant: &str,
        id: &str,
        update: &GroupUpdate,
        at: DateTime<Utc>,
    ) -> RepoResult<bool> {
        let mut q = QueryBuilder::<DB>::new("UPDATE asset_groups SET updated_at = ");
        q.push_bind(millis(at));
        if let Some(name) = &update.name {
            q.push(", name = ");
            q.push_bind(name.clone());
            q.push(", name_folded = ");
            q.push_bind(fold_name(name));
        }
        if let Some(description) = &update.description {
            q.push(", description = ");
            q.push_bind(description.clone());
        }
        q.push(" WHERE id = ");
        q.push_bind(id.to_owned());
        q.push(" AND tenant = ");
        q.push_bind(tenant.to_owned());
        let done = q.build().execute(&self.write).await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn delete_group(
        &self,
        tenant: &str,
        id: &str,
        cascade: bool,
        at: DateTime<Utc>,
    ) -> RepoResult<GroupDeletion> {
        let mut tx = self.write.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM asset_groups WHERE id = $1 AND tenant = $2")
            .bind(id)
            .bind(tenant)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            tx.rollback().await?;
            return Ok(GroupDeletion::Missing);
        }
        let live: i64 = sqlx::query(
            "SELECT COUNT(*) FROM assets \
             WHERE tenant = $1 AND group_id = $2 AND deleted_at IS NULL",
        )
        .bind(tenant)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let live = u64::try_from(live).unwrap_or(0);
        if live > 0 && !cascade {
            tx.rollback().await?;
            return Ok(GroupDeletion::NotEmpty { assets: live });
        }
        let deleted = sqlx::query(
            "UPDATE assets SET deleted_at = $1, updated_at = $2 \
             WHERE tenant = $3 AND group_id = $4 AND deleted_at IS NULL",
        )
        .bind(millis(at))
        .bind(millis(at))
        .bind(tenant)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM asset_groups WHERE id = $1 AND tenant = $2")
            .bind(id)
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(GroupDeletion::Deleted {
            assets: DB::rows_affected(&deleted),
        })
    }
}
