//! The folded copy of each name that the `name` filter searches (`domain::fold_name`), filled
//! at start-up for rows written before the column existed.

use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, Row, Type};

use super::Dialect;
use crate::domain::fold_name;
use crate::repo::RepoResult;

/// Rows folded per transaction.
const BATCH: i64 = 500;

/// Fills `name_folded` for every named row that lacks it; the partial index
/// `assets_name_unfolded` finds them, so once done this costs one empty index probe. Safe to
/// run from several nodes at once: each writes the same value, and only where still empty.
/// Returns how many rows were filled.
pub(super) async fn backfill_folded_names<DB>(pool: &Pool<DB>) -> RepoResult<u64>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
{
    let mut filled = 0;
    let mut after = 0_i64;
    loop {
        let rows = sqlx::query(
            "SELECT seq, name FROM assets \
             WHERE name IS NOT NULL AND name_folded IS NULL AND seq > $1 \
             ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        let mut tx = pool.begin().await?;
        for row in &rows {
            let seq: i64 = row.try_get(0)?;
            let name: String = row.try_get(1)?;
            let done = sqlx::query(
                "UPDATE assets SET name_folded = $1 WHERE seq = $2 AND name_folded IS NULL",
            )
            .bind(fold_name(&name))
            .bind(seq)
            .execute(&mut *tx)
            .await?;
            filled += DB::rows_affected(&done);
            after = seq;
        }
        tx.commit().await?;
    }
    if filled > 0 {
        tracing::info!(
            rows = filled,
            "folded names of existing assets for the name filter"
        );
    }
    Ok(filled)
}
