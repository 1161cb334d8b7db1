//! The blob store contract.

use std::sync::Arc;

use assetlib::blob::{BlobStore, PutOutcome};

fn backends(dir: &std::path::Path) -> Vec<(String, Arc<dyn BlobStore>)> {
    let url = format!("file://{}", dir.join("blobs").display());
    vec![(
        "local".to_owned(),
        assetlib::blob::open(&url).expect("local store"),
    )]
}

#[tokio::test]
async fn blob_store_contract() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, store) in backends(dir.path()) {
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
