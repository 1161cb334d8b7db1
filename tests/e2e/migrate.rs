//! `assetlib migrate` (docs/OPERATIONS.md, Moving to PostgreSQL + S3): an embedded library
//! moved to a fresh PostgreSQL schema and S3 bucket — refused while its server runs and into
//! a target that holds something else, killed part way and run again — after which two nodes
//! on the target serve every asset byte for byte with the old keys and signed URLs, and
//! `fsck` finds it clean.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use assetlib_test_support::opt_in;
use reqwest::StatusCode;
use serde_json::Value;

use crate::backup::{document, put, put_image, signed_url};
use crate::common::{
    BIN, PgSchema, Serve, client, media, run, s3_bucket, serve, tus, wait_settled,
};

/// `assetlib migrate` killed (SIGKILL) at its first progress line about blobs or rows.
fn migrate_killed_part_way(args: &[&str]) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("ASSETLIB_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("migrate starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut said = Vec::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let progress = line.starts_with("migrate: blobs") || line.contains(" rows");
        said.push(line);
        if progress {
            let _ = child.kill();
            break;
        }
    }
    let status = child.wait().expect("migrate ends");
    eprintln!("killed migrate ({status}) after: {said:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_library_moves_to_postgres_and_s3_and_two_nodes_serve_it() {
    let Some(pg) = opt_in::database_url("migrate::to_postgres_and_s3") else {
        return;
    };
    let dir = tempfile::tempdir().expect("data dir");
    let data = dir.path().display().to_string();
    let http = client();

    // An embedded library: documents, one of them deleted (restorable), a second key.
    let node = serve(dir.path(), &[], "warn");
    let admin = node.printed_key.clone().expect("admin key");
    let mut assets = Vec::new();
    for n in 0..12 {
        let name = format!("doc-{n}.txt");
        let bytes = document(&name, 1 + n * 3);
        let id = put(&http, &node.base, &admin, &name, bytes.clone()).await;
        assets.push((id, bytes));
    }
    let (code, created) = run(&["keys", "create", "--tenant", "studio", "--data-dir", &data]);
    assert_eq!(code, 0);
    let studio = created.lines().last().expect("secret").trim().to_owned();
    let studio_doc = document("studio.txt", 4);
    let studio_id = put(&http, &node.base, &studio, "studio.txt", studio_doc.clone()).await;
    for (id, _) in &assets {
        let settled = wait_settled(&http, &node.base, &admin, id).await;
        assert_eq!(settled["status"], "Active", "{settled}");
    }
    let png = media::png(420, 300);
    let image = put_image(&http, &node.base, &admin, png.clone()).await;
    let signed = signed_url(&http, &node.base, &admin, &image).await;
    let deleted = &assets[11].0;
    let gone = http
        .delete(format!("{}/v1/assets/{deleted}", node.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("delete");
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);

    // A group, an Idempotency-Key's recorded answer (bytes in the row), and a resumable
    // upload half sent (its part in the blob store).
    let group: Value = http
        .post(format!("{}/v1/groups", node.base))
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "name": "moved" }))
        .send()
        .await
        .expect("group")
        .json()
        .await
        .expect("JSON");
    let group_id = group["groupId"].as_str().expect("group id").to_owned();
    let once_doc = document("once.txt", 1);
    let put_once = |base: String| {
        http.put(format!("{base}/v1/assets/once.txt?assetType=Document"))
            .bearer_auth(&admin)
            .header("Idempotency-Key", "moved-once")
            .header("Content-Type", "text/plain")
            .body(once_doc.clone())
            .send()
    };
    let once = put_once(node.base.clone()).await.expect("once");
    assert_eq!(once.status(), StatusCode::CREATED);
    let once_id = once.json::<Value>().await.expect("JSON")["assetId"].clone();
    let resumed = document("resumed.txt", 40);
    let half = resumed.len() / 2;
    let location = tus::start(&http, &node.base, &admin, resumed.len()).await;
    let first = tus::send(&http, &node.base, &location, &admin, 0, &resumed[..half]).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);

    let schema = PgSchema::create(&pg, "migrate_target").await;
    let blob_dir = tempfile::tempdir().expect("blob dir");
    let bucket = match s3_bucket("migrate-target", "migrate to S3 (a directory instead)").await {
        Some(url) => url,
        None => format!("file://{}", blob_dir.path().display()),
    };
    let to = [
        "migrate",
        "--data-dir",
        &data,
        "--to-database",
        &schema.url,
        "--to-store",
        &bucket,
    ];

    // Refused while the server runs.
    let (code, _) = run(&to);
    assert_ne!(code, 0, "migrated under a running server");
    let mut node = node;
    node.terminate(Duration::from_secs(30))
        .expect("server stops");

    // Refused into a database that holds another library.
    let other = PgSchema::create(&pg, "migrate_other").await;
    let other_dir = tempfile::tempdir().expect("other");
    drop(serve(
        other_dir.path(),
        &["--database-url", &other.url, "--blob-url", &bucket],
        "warn",
    ));
    let (code, _) = run(&[
        "migrate",
        "--data-dir",
        &data,
        "--to-database",
        &other.url,
        "--to-store",
        &bucket,
    ]);
    assert_ne!(code, 0, "migrated into a database holding another library");
    other.remove().await;

    // Killed part way, then run again: it resumes and finishes.
    migrate_killed_part_way(&to);
    let (code, out) = run(&to);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("migrated"), "{out}");

    // Two nodes on the target, sharing the old node's signing secret.
    let secret = std::fs::read_to_string(dir.path().join("url-signing.key")).expect("secret");
    let on_target = [
        "--database-url",
        schema.url.as_str(),
        "--blob-url",
        bucket.as_str(),
    ];
    let (d1, d2) = (
        tempfile::tempdir().expect("n1"),
        tempfile::tempdir().expect("n2"),
    );
    let start = |d: &std::path::Path| {
        Serve::new(BIN, d)
            .args(on_target)
            .env("ASSETLIB_SIGNING_SECRET", secret.trim())
            .start()
            .expect("a node on the target")
    };
    let (n1, n2) = (start(d1.path()), start(d2.path()));
    assert!(n1.printed_key.is_none(), "the migrated admin key is found");
    for base in [&n1.base, &n2.base] {
        for (id, bytes) in &assets[..11] {
            let resp = http
                .get(format!("{base}/v1/assets/{id}/content"))
                .bearer_auth(&admin)
                .send()
                .await
                .expect("content");
            assert_eq!(resp.status(), StatusCode::OK, "{id} on {base}");
            assert!(resp.bytes().await.expect("bytes")[..] == bytes[..], "{id}");
        }
        let resp = http
            .get(format!("{base}/v1/assets/{studio_id}/content"))
            .bearer_auth(&studio)
            .send()
            .await
            .expect("content");
        assert!(resp.bytes().await.expect("bytes")[..] == studio_doc[..]);
        let path = &signed[signed.find("/content/").expect("path")..];
        let resp = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("signed");
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "a signed URL of the old node"
        );
        assert!(resp.bytes().await.expect("bytes")[..] == png[..]);
    }
    // The deleted asset can be restored on the new nodes.
    let restored = http
        .post(format!("{}/v1/assets/{deleted}/restore", n2.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("restore");
    assert_eq!(restored.status(), StatusCode::OK);
    // The group, the recorded answer and the half-sent upload came along.
    let groups: Value = http
        .get(format!("{}/v1/groups", n1.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("groups")
        .json()
        .await
        .expect("JSON");
    assert_eq!(groups["items"][0]["groupId"], group_id.as_str(), "{groups}");
    let replayed = put_once(n2.base.clone()).await.expect("replay");
    assert_eq!(replayed.status(), StatusCode::CREATED);
    assert_eq!(
        replayed.json::<Value>().await.expect("JSON")["assetId"],
        once_id
    );
    let rest = tus::send(&http, &n2.base, &location, &admin, half, &resumed[half..]).await;
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    let from_tus = rest.headers()["asset-id"].to_str().expect("id").to_owned();
    wait_settled(&http, &n1.base, &admin, &from_tus).await;
    let content = http
        .get(format!("{}/v1/assets/{from_tus}/content", n1.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("content");
    assert!(content.bytes().await.expect("bytes")[..] == resumed[..]);
    // New rows get new ids (the sequences moved on); each node sees the other's upload.
    let fresh = put(
        &http,
        &n1.base,
        &admin,
        "fresh.txt",
        document("fresh.txt", 2),
    )
    .await;
    let seen = wait_settled(&http, &n2.base, &admin, &fresh).await;
    assert_eq!(seen["status"], "Active", "{seen}");
    let list: Value = http
        .get(format!("{}/v1/assets?limit=100", n2.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("JSON");
    assert_eq!(list["items"].as_array().expect("items").len(), 16, "{list}");
    drop((n1, n2));

    let scratch = tempfile::tempdir().expect("scratch");
    let (code, report) = run(&[
        "fsck",
        "--data-dir",
        &scratch.path().display().to_string(),
        "--database-url",
        &schema.url,
        "--blob-url",
        &bucket,
    ]);
    assert_eq!(code, 0, "fsck of the target: {report}");
    schema.remove().await;
}
