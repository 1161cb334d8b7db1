//! The rows of every table, from the embedded SQLite database into PostgreSQL: copied in pages
//! with `ON CONFLICT DO NOTHING` (a resumed copy skips the rows already there), the target's
//! own triggers held off while the copy writes (the counts and webhook deliveries they would
//! write are copied as rows of their own), the sequences moved past the copied ids, and each
//! table verified afterwards: the same number of rows, and the same digest of their values.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, PgPool, Row, SqlitePool, TypeInfo, ValueRef};

use super::MigrateError;

/// Every table, in an order that copies a row after the rows it references.
pub const TABLES: &[&str] = &[
    "api_keys",
    "asset_groups",
    "assets",
    "review_history",
    "jobs",
    "tasks",
    "task_assets",
    "asset_counts",
    "idempotency_keys",
    "uploads",
    "tenant_quotas",
    "webhooks",
    "webhook_deliveries",
    "revoked_sessions",
];

/// Tables not copied: the holds of uploads and removals in flight, which a stopped server has
/// none of that matter (a hold outlives its node only until the sweep reaps it).
pub const NOT_COPIED: &[&str] = &["blob_holds"];

/// Rows per insert.
const PAGE: i64 = 250;

/// One SQLite value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A table's columns as both databases have them.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    /// The SQLite columns (every one exists in PostgreSQL), with their PostgreSQL types.
    columns: Vec<(String, String)>,
}

/// The source's tables, checked against [`TABLES`]: a table this release does not know of
/// stops the migration before anything is written.
pub async fn check_source_tables(source: &SqlitePool) -> Result<(), MigrateError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(source)
    .await?;
    let unknown: Vec<String> = names
        .into_iter()
        .filter(|n| !TABLES.contains(&n.as_str()) && !NOT_COPIED.contains(&n.as_str()))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(MigrateError::Schema(format!(
            "the source has tables this release does not copy: {}",
            unknown.join(", ")
        )))
    }
}

pub async fn describe(
    source: &SqlitePool,
    target: &PgPool,
    name: &'static str,
) -> Result<Table, MigrateError> {
    let sqlite: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT name FROM pragma_table_info('{name}')"
    )))
    .fetch_all(source)
    .await?;
    let pg: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind(name)
    .fetch_all(target)
    .await?;
    let mut columns = Vec::new();
    for column in sqlite {
        let Some((_, pg_type)) = pg.iter().find(|(c, _)| *c == column) else {
            return Err(MigrateError::Schema(format!(
                "{name}.{column} has no column in the target database"
            )));
        };
        columns.push((column, pg_type.clone()));
    }
    Ok(Table { name, columns })
}

pub async fn count_pg(target: &PgPool, table: &str) -> Result<i64, MigrateError> {
    Ok(
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(target)
            .await?,
    )
}

pub async fn count_sqlite(source: &SqlitePool, table: &str) -> Result<i64, MigrateError> {
    Ok(
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(source)
            .await?,
    )
}

fn value(row: &SqliteRow, i: usize) -> Result<Value, MigrateError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().name().to_ascii_uppercase();
    Ok(match kind.as_str() {
        "INTEGER" | "BOOLEAN" | "INT8" => Value::Int(row.try_get(i)?),
        "REAL" => Value::Real(row.try_get(i)?),
        "BLOB" => Value::Blob(row.try_get(i)?),
        _ => Value::Text(row.try_get(i)?),
    })
}

/// Copies the table's rows (those already there are skipped); `progress` is told the rows
/// read so far.
pub async fn copy(
    source: &SqlitePool,
    target: &PgPool,
    table: &Table,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), MigrateError> {
    let names: Vec<&str> = table.columns.iter().map(|(c, _)| c.as_str()).collect();
    let select = format!(
        "SELECT rowid, {} FROM {} WHERE rowid > $1 ORDER BY rowid LIMIT {PAGE}",
        names.join(", "),
        table.name
    );
    let mut last = i64::MIN;
    let mut read = 0u64;
    loop {
        let rows = sqlx::query(AssertSqlSafe(select.clone()))
            .bind(last)
            .fetch_all(source)
            .await?;
        let Some(tail) = rows.last() else { break };
        last = tail.try_get(0)?;
        let mut values = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut one = Vec::with_capacity(names.len());
            for i in 0..names.len() {
                one.push(value(row, i + 1)?);
            }
            values.push(one);
        }
        insert(target, table, &values).await?;
        read += rows.len() as u64;
        progress(read);
    }
    Ok(())
}

/// One page in one transaction, the table's own triggers off meanwhile (the migrating role
/// owns the tables it created; the change is undone at commit or rollback).
async fn insert(target: &PgPool, table: &Table, rows: &[Vec<Value>]) -> Result<(), MigrateError> {
    let width = table.columns.len();
    let tuples: Vec<String> = (0..rows.len())
        .map(|r| {
            let cells: Vec<String> = table
                .columns
                .iter()
                .enumerate()
                .map(|(c, (_, pg_type))| format!("${}::{pg_type}", r * width + c + 1))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let names: Vec<&str> = table.columns.iter().map(|(c, _)| c.as_str()).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {} ON CONFLICT DO NOTHING",
        table.name,
        names.join(", "),
        tuples.join(", ")
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for row in rows {
        for value in row {
            query = match value {
                Value::Null => query.bind(None::<String>),
                Value::Int(n) => query.bind(*n),
                Value::Real(x) => query.bind(*x),
                Value::Text(s) => query.bind(s.clone()),
                Value::Blob(b) => query.bind(b.clone()),
            };
        }
    }
    let mut tx = target.begin().await?;
    let toggle = |on: &str| AssertSqlSafe(format!("ALTER TABLE {} {on} TRIGGER USER", table.name));
    sqlx::query(toggle("DISABLE")).execute(&mut *tx).await?;
    query.execute(&mut *tx).await?;
    sqlx::query(toggle("ENABLE")).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves each sequence of the table past the largest id copied, so new rows get new ids.
pub async fn advance_sequences(target: &PgPool, table: &str) -> Result<(), MigrateError> {
    let serial: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 \
         AND column_default LIKE 'nextval(%'",
    )
    .bind(table)
    .fetch_all(target)
    .await?;
    for column in serial {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
             (SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}), false)"
        )))
        .execute(target)
        .await?;
    }
    Ok(())
}

/// A row's values as one string, the same from either database: integers in decimal, text as
/// it is, bytes in `\x` hex (PostgreSQL's text form of `bytea`), each length-prefixed.
fn canonical(values: impl Iterator<Item = Option<String>>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for v in values {
        match v {
            None => hasher.update(b"N;"),
            Some(s) => {
                hasher.update(format!("{}:", s.len()).as_bytes());
                hasher.update(s.as_bytes());
            }
        }
    }
    hasher.finalize().into()
}

fn as_text(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Int(n) => Some(n.to_string()),
        Value::Real(x) => Some(x.to_string()),
        Value::Text(s) => Some(s),
        Value::Blob(b) => Some(format!("\\x{}", crate::fetch::hex(&b))),
    }
}

/// Whether both databases hold the same rows of the table (as a multiset of the source's
/// columns): row counts first, then the sorted digests of every row.
pub async fn verify(
    source: &SqlitePool,
    target: &PgPool,
    table: &Table,
) -> Result<(), MigrateError> {
    let (from, to) = (
        count_sqlite(source, table.name).await?,
        count_pg(target, table.name).await?,
    );
    if from != to {
        return Err(MigrateError::Mismatch(format!(
            "{}: {from} rows in the source, {to} in the target",
            table.name
        )));
    }
    let names: Vec<&str> = table.columns.iter().map(|(c, _)| c.as_str()).collect();
    let mut expected = BTreeSet::new();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {} FROM {}",
        names.join(", "),
        table.name
    )))
    .fetch_all(source)
    .await?;
    let mut source_digests = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut values = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            values.push(as_text(value(row, i)?));
        }
        source_digests.push(canonical(values.into_iter()));
    }
    source_digests.sort_unstable();
    expected.extend(source_digests.iter().copied());
    let as_text_sql: Vec<String> = names.iter().map(|c| format!("{c}::text")).collect();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {} FROM {}",
        as_text_sql.join(", "),
        table.name
    )))
    .fetch_all(target)
    .await?;
    let mut target_digests = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut values = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            values.push(row.try_get::<Option<String>, _>(i)?);
        }
        target_digests.push(canonical(values.into_iter()));
    }
    target_digests.sort_unstable();
    if source_digests != target_digests {
        let differ = target_digests
            .iter()
            .filter(|d| !expected.contains(*d))
            .count();
        return Err(MigrateError::Mismatch(format!(
            "{}: {differ} rows of the target differ from the source's",
            table.name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table of the embedded schema is copied or named as left out: a migration that
    /// adds a table must say which.
    #[tokio::test]
    async fn every_table_of_the_schema_is_copied_or_left_out_on_purpose() {
        let dir = tempfile::tempdir().expect("dir");
        let repo = crate::repo::sqlite::SqliteRepo::open(&dir.path().join("a.db"))
            .await
            .expect("a database");
        drop(repo);
        let pool = SqlitePool::connect(&format!("sqlite://{}", dir.path().join("a.db").display()))
            .await
            .expect("open");
        check_source_tables(&pool).await.expect("every table known");
        for table in TABLES.iter().chain(NOT_COPIED) {
            count_sqlite(&pool, table)
                .await
                .expect("a table of the schema");
        }
    }

    #[test]
    fn both_sides_read_the_same_row_the_same_way() {
        let sqlite = [
            Value::Int(-5),
            Value::Null,
            Value::Text("é".into()),
            Value::Blob(vec![0, 255]),
        ]
        .into_iter()
        .map(as_text);
        let pg = [
            Some("-5".to_owned()),
            None,
            Some("é".into()),
            Some("\\x00ff".into()),
        ];
        assert_eq!(canonical(sqlite), canonical(pg.into_iter()));
    }
}
