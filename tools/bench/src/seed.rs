//! The reads scenario's library: assets inserted straight into the SQLite file of a data dir
//! (not through the API), with ids a request can name without a lookup.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use sqlx::{QueryBuilder, Sqlite};

/// Rows per INSERT statement (12 parameters each, under SQLite's 32766).
const ROWS_PER_STATEMENT: u64 = 2000;
/// Rows per transaction.
const ROWS_PER_TX: u64 = 100_000;

/// The id of seeded asset `i`: one creation second per thousand assets, unique suffixes.
pub fn seeded_id(i: u64) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let at = chrono::Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + chrono::Duration::seconds(i64::try_from(i / 1000).unwrap_or(0));
    let mut n = i % 1000;
    let mut suffix = [b'0'; 5];
    for slot in suffix.iter_mut().rev() {
        *slot = ALPHABET[(n % 36) as usize];
        n /= 36;
    }
    format!(
        "asset-{}-{}",
        at.format("%Y%m%d%H%M%S"),
        String::from_utf8_lossy(&suffix)
    )
}

/// Creates the embedded database in `data_dir` (migrations included) and inserts `count`
/// Active image assets of tenant `admin` (the first start's admin key reads them).
pub async fn seed(data_dir: &Path, count: u64) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let url = format!("sqlite://{}", data_dir.join("assetlib.db").display());
    drop(assetlib::repo::connect(&url).await?);
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(data_dir.join("assetlib.db"))
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Off);
    let pool = sqlx::SqlitePool::connect_with(options).await?;
    let created = 1_767_225_600_000_i64; // 2026-01-01T00:00:00Z in ms
    let mut i = 0;
    while i < count {
        let mut tx = pool.begin().await?;
        let tx_end = (i + ROWS_PER_TX).min(count);
        while i < tx_end {
            let end = (i + ROWS_PER_STATEMENT).min(tx_end);
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO assets (id, tenant, name, name_folded, asset_type, url, sha256, \
                 bytes, format, facts, status, created_at, updated_at) ",
            );
            insert.push_values(i..end, |mut row, n| {
                let at = created + i64::try_from(n).unwrap_or(0);
                let name = format!("seeded photo {n}");
                let folded = assetlib::domain::fold_name(&name);
                row.push_bind(seeded_id(n))
                    .push_bind("admin")
                    .push_bind(name)
                    .push_bind(folded)
                    .push_bind("Image")
                    .push_bind(format!("https://example.com/photos/{n}.jpg"))
                    .push_bind(format!("{n:064x}"))
                    .push_bind(1_048_576_i64)
                    .push_bind("jpeg")
                    .push_bind(r#"{"width":1920,"height":1080}"#)
                    .push_bind("Active")
                    .push_bind(at)
                    .push_bind(at);
            });
            insert.build().execute(&mut *tx).await?;
            i = end;
        }
        tx.commit().await?;
    }
    sqlx::query("ANALYZE").execute(&pool).await?;
    pool.close().await;
    Ok(start.elapsed())
}

/// A pseudo-random index in `0..count` for request `n` (spreads reads over the library).
pub fn spread(n: u64, count: u64) -> u64 {
    let mut x = n
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(0x2545_F491);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    x % count.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_valid_and_unique() {
        let ids: std::collections::HashSet<String> =
            [0, 1, 35, 36, 999, 1000, 999_999].map(seeded_id).into();
        assert_eq!(ids.len(), 7);
        for id in &ids {
            assert!(assetlib::domain::AssetId::parse(id).is_some(), "{id}");
        }
        assert!((0..1000).all(|n| spread(n, 10) < 10));
    }
}
