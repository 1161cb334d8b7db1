//! The blob store contract.

use std::sync::Arc;

use assetlib::blob::{BlobStore, PutOutcome};

/// The local directory always; an S3-compatible server too when `TEST_S3_ENDPOINT` is set
/// (`.ci/run` starts one and sets the AWS_* variables), each run in a bucket of its own.
async fn backends(dir: &std::path::Path) -> Vec<(String, Arc<dyn BlobStore>)> {
    let url = format!("file://{}", dir.join("blobs").display());
    let mut out = vec![(
        "local".to_owned(),
        assetlib::blob::open(&url).expect("local store"),
    )];
    if let Ok(endpoint) = std::env::var("TEST_S3_ENDPOINT") {
        let bucket = format!("assetlib-contract-{}-{}", std::process::id(), rand_suffix());
        assetlib::fetch::install_crypto_provider();
        let created = reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .expect("S3 endpoint reachable");
        assert!(
            created.status().is_success(),
            "create bucket: {}",
            created.status()
        );
        out.push((
            "s3".to_owned(),
            assetlib::blob::open(&format!("s3://{bucket}")).expect("s3 store"),
        ));
    }
    out
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

#[tokio::test]
async fn blob_store_contract() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, store) in backends(dir.path()).await {
        store.ping().await.expect("ping");
        let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let file = dir.path().join("upload.bin");
        std::fs::write(&file, &content).expect("write");
        let sha = {
            use sha2::Digest;
            assetlib::fetch::hex(&sha2::Sha256::digest(&content))
        };

        assert!(!store.exists(&sha).await.expect("exists"), "{name}");
        assert_eq!(
            store.put_file(&sha, &file).await.expect("put"),
            PutOutcome::Stored
        );
        assert_eq!(
            store.put_file(&sha, &file).await.expect("put"),
            PutOutcome::AlreadyPresent,
            "{name}"
        );
        assert!(store.exists(&sha).await.expect("exists"));

        assert_eq!(
            store.read_range(&sha, 0..10).await.expect("range").as_ref(),
            &content[..10]
        );
        assert_eq!(
            store
                .read_range(&sha, 500..1500)
                .await
                .expect("range")
                .as_ref(),
            &content[500..1500]
        );
        let tail = store
            .read_range(&sha, 99_990..200_000)
            .await
            .expect("clamped");
        assert_eq!(
            tail.as_ref(),
            &content[99_990..],
            "{name}: clamped to the end"
        );
        assert!(
            store
                .read_range(&sha, 200_000..300_000)
                .await
                .expect("past end")
                .is_empty()
        );
        let all = store.read_range(&sha, 0..u64::MAX).await.expect("all");
        assert_eq!(all.len(), content.len());

        let listed = store.list().await.expect("list");
        assert_eq!(listed.len(), 1, "{name}");
        assert_eq!(listed[0].sha256, sha);
        assert_eq!(listed[0].bytes, content.len() as u64);

        // local_file: the stored file itself, or a downloaded copy.
        let local = store
            .local_file(&sha, dir.path())
            .await
            .expect("local file");
        assert_eq!(
            std::fs::read(&local.path).expect("read").len(),
            content.len(),
            "{name}"
        );

        // A blob larger than one upload part goes up in parts.
        let big: Vec<u8> = (0..(9 * 1024 * 1024u32)).map(|i| (i % 253) as u8).collect();
        let big_file = dir.path().join("big.bin");
        std::fs::write(&big_file, &big).expect("write");
        let big_sha = {
            use sha2::Digest;
            assetlib::fetch::hex(&sha2::Sha256::digest(&big))
        };
        assert_eq!(
            store.put_file(&big_sha, &big_file).await.expect("put big"),
            PutOutcome::Stored,
            "{name}"
        );
        let tail = store
            .read_range(&big_sha, 9 * 1024 * 1024 - 10..u64::MAX)
            .await
            .expect("tail");
        assert_eq!(tail.as_ref(), &big[big.len() - 10..], "{name}");
        store.delete(&big_sha).await.expect("delete big");

        let missing = "0".repeat(64);
        let err = store
            .read_range(&missing, 0..10)
            .await
            .expect_err("missing");
        assert!(err.is_not_found(), "{name}: {err}");
        store.delete(&sha).await.expect("delete");
        store.delete(&sha).await.expect("deleting twice is fine");
        assert!(!store.exists(&sha).await.expect("exists"));
        assert!(store.list().await.expect("list").is_empty());
    }
}
