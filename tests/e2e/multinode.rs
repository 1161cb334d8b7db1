//! Two nodes on one PostgreSQL database and one blob store: an upload to either is processed
//! by whichever node claims it, and both answer for every asset. Runs when `TEST_DATABASE_URL`
//! is set (`.ci/run` sets it).

use std::sync::Arc;

use assetlib::fetch::SystemLookup;
use reqwest::StatusCode;

use crate::common::{KYY, Origin, media, spawn_app_with, wait_settled};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_postgres_and_one_blob_store() {
    let Ok(pg) = std::env::var("TEST_DATABASE_URL") else {
        // Without PostgreSQL there is nothing to share; the SQLite suite covers the rest.
        eprintln!("TEST_DATABASE_URL is not set: the two-node test needs PostgreSQL");
        return;
    };
    let pool = sqlx::PgPool::connect(&pg).await.expect("postgres");
    let schema = format!("assetlib_e2e_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&pool)
    .await
    .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .expect("schema");
    let sep = if pg.contains('?') { '&' } else { '?' };
    let database_url = format!("{pg}{sep}options=-c%20search_path%3D{schema}");
    let blobs = tempfile::tempdir().expect("shared blob dir");
    let blob_url = format!("file://{}", blobs.path().display());

    let (db, bu) = (database_url.clone(), blob_url.clone());
    let a = spawn_app_with(
        move |c| {
            c.database_url = db;
            c.blob_url = bu;
        },
        Arc::new(SystemLookup),
    )
    .await;
    let (db, bu) = (database_url.clone(), blob_url.clone());
    let b = spawn_app_with(
        move |c| {
            c.database_url = db;
            c.blob_url = bu;
            c.bootstrap_admin_key = false;
        },
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = a.create_key("shared").await; // one key table: valid on both nodes
    let url = origin.put("p.png", media::png(400, 400), "image/png");

    let mut ids = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 { &a } else { &b };
        ids.push(node.upload_ok(&key, "Image", &url).await);
    }
    for id in &ids {
        for node in [&a, &b] {
            let body = wait_settled(&node.client, &node.base, &key, id).await;
            assert_eq!(body["status"], "Active", "{id}: {body}");
        }
    }
    let (status, list) = b.get(&key, &format!("{KYY}/list?pageSize=100")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"]["total"], serde_json::json!(20));
    assert_eq!(a.count_jobs().await, 0);
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&pool)
    .await;
}
