//! The task gateway use case over a fake upstream port: no socket, every metadata backend.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use assetlib::domain::{AssetId, AssetType, Caller, Role, Status};
use assetlib::repo::Repo;
use assetlib::repo::{Insert, NewAsset, NewJob, StatusChange};
use assetlib::service::{
    ContentSigner, DeliveryService, GatewayOutcome, GatewayService, TASK_FAMILIES, TaskFamily,
};
use assetlib::upstream::{UpstreamAnswer, UpstreamApi, UpstreamError};
use async_trait::async_trait;
use chrono::Utc;
use serde_json::{Value, json};

use crate::backends::per_backend;

/// Answers every submit with a fresh task id (`task-N`) in the shape of the family posted to,
/// and every status read with `status`, remembering what it was sent and where.
#[derive(Default)]
struct FakeUpstream {
    submitted: Mutex<Vec<Value>>,
    paths: Mutex<Vec<String>>,
    reads: Mutex<Vec<String>>,
    status: Mutex<String>,
}

#[async_trait]
impl UpstreamApi for FakeUpstream {
    async fn submit(&self, path: &str, body: Vec<u8>) -> Result<UpstreamAnswer, UpstreamError> {
        let task: Value =
            serde_json::from_slice(&body).map_err(|e| UpstreamError(e.to_string()))?;
        let mut submitted = self.submitted.lock().expect("lock");
        submitted.push(task);
        self.paths.lock().expect("lock").push(path.to_owned());
        let id = format!("task-{}", submitted.len());
        let body = match path {
            "/v1/sd2_manxue/videos" => json!({"code": "0", "msg": null, "data": {"projectId": id}}),
            "/v2/model-center/tasks" => json!({"code": 0, "data": {"taskId": id}}),
            _ => json!({"id": id, "status": "queued"}),
        };
        Ok(UpstreamAnswer { status: 200, body })
    }

    async fn status(&self, path: &str, id: &str) -> Result<UpstreamAnswer, UpstreamError> {
        self.reads
            .lock()
            .expect("lock")
            .push(format!("{path}/{id}"));
        let status = self.status.lock().expect("lock").clone();
        Ok(UpstreamAnswer {
            status: 200,
            body: json!({"id": id, "status": status}),
        })
    }
}

fn kyyvideo2() -> &'static TaskFamily {
    &TASK_FAMILIES[0]
}

/// A new `Active` image of `tenant`.
async fn active_image(repo: &Arc<dyn Repo>, tenant: &str) -> AssetId {
    let now = Utc::now();
    let id = AssetId::generate(now);
    let new = NewAsset {
        id: id.clone(),
        tenant: tenant.into(),
        name: None,
        asset_type: AssetType::Image,
        url: "https://example.com/p.png".into(),
        sha256: format!("{:064x}", 7),
        bytes: 10,
        format: Some("png".into()),
        group_id: None,
        created_at: now,
    };
    let job = NewJob {
        kind: "process-asset".into(),
        max_attempts: 1,
        request_id: None,
    };
    let inserted = repo
        .insert_asset_with_job(&new, &job)
        .await
        .expect("insert");
    assert!(matches!(inserted, Insert::Inserted(_)));
    let active = StatusChange {
        to: Status::Active,
        format: None,
        facts: None,
        failure: None,
        moderation: None,
        at: now,
    };
    assert!(
        repo.change_status(&id, Status::Processing, &active)
            .await
            .expect("activate")
    );
    id
}

fn caller(tenant: &str) -> Caller {
    Caller {
        key_id: format!("key-{tenant}"),
        tenant: tenant.to_owned(),
        role: Role::Tenant,
        key_name: None,
    }
}

async fn tasks_are_resolved_forwarded_and_recorded(repo: Arc<dyn Repo>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = assetlib::blob::open(&format!("file://{}", dir.path().join("b").display()))
        .expect("blob store");
    let signer = ContentSigner::new(b"k".to_vec(), Duration::from_secs(60), "http://here");
    let delivery = DeliveryService::new(repo.clone(), blobs, signer);
    let upstream = Arc::new(FakeUpstream::default());
    let gateway = GatewayService::new(upstream.clone(), repo.clone(), delivery);

    // An Active image of tenant "a".
    let id = active_image(&repo, "a").await;

    let task = json!({"prompt": "p", "referenceImages": [format!("asset://{id}")]});
    let outcome = gateway
        .submit_task(&caller("a"), kyyvideo2(), task)
        .await
        .expect("submitted");
    assert!(matches!(outcome, GatewayOutcome::Forwarded(_)));
    let sent = upstream.submitted.lock().expect("lock").clone();
    let url = sent[0]["referenceImages"][0]
        .as_str()
        .expect("url")
        .to_owned();
    assert!(
        url.starts_with(&format!("http://here/content/{id}?exp=")),
        "{url}"
    );
    assert_eq!(sent[0]["prompt"], "p");
    assert_eq!(
        repo.unfinished_task_using(id.as_str())
            .await
            .expect("tasks"),
        Some("task-1".to_owned())
    );

    // Another tenant's reference is refused and nothing is forwarded.
    let foreign = json!({"referenceImages": [format!("asset://{id}")]});
    match gateway
        .submit_task(&caller("b"), kyyvideo2(), foreign)
        .await
    {
        Ok(GatewayOutcome::Invalid(v)) => assert_eq!(v[0].code.name, "asset-not-found"),
        other => panic!("{other:?}"),
    }
    assert_eq!(upstream.submitted.lock().expect("lock").len(), 1);

    // Another tenant cannot read the task: not found, and nothing is asked upstream.
    let foreign = gateway
        .task_status(&caller("b"), "/v1/result", "task-1")
        .await;
    assert!(
        matches!(&foreign, Err(e) if e.code().name == "not-found"),
        "{foreign:?}"
    );
    assert!(upstream.reads.lock().expect("lock").is_empty());

    // A terminal status read releases the asset.
    *upstream.status.lock().expect("lock") = "succeeded".into();
    let answer = gateway
        .task_status(&caller("a"), "/v1/result", "task-1")
        .await
        .expect("status");
    assert_eq!(answer.body["status"], "succeeded");
    assert_eq!(
        upstream.reads.lock().expect("lock").as_slice(),
        ["/v1/result/task-1"]
    );
    assert_eq!(
        repo.unfinished_task_using(id.as_str())
            .await
            .expect("tasks"),
        None
    );
}

async fn every_family_is_forwarded_to_its_path_and_recorded_by_its_id(repo: Arc<dyn Repo>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = assetlib::blob::open(&format!("file://{}", dir.path().join("b").display()))
        .expect("blob store");
    let signer = ContentSigner::new(b"k".to_vec(), Duration::from_secs(60), "http://here");
    let delivery = DeliveryService::new(repo.clone(), blobs, signer);
    let upstream = Arc::new(FakeUpstream::default());
    let gateway = GatewayService::new(upstream.clone(), repo.clone(), delivery);

    for (n, family) in TASK_FAMILIES.iter().enumerate() {
        let asset = active_image(&repo, "a").await;
        let task = json!({"model": family.name, "referenceImages": [format!("asset://{asset}")]});
        let outcome = gateway
            .submit_task(&caller("a"), family, task)
            .await
            .expect("submitted");
        let GatewayOutcome::Forwarded(answer) = outcome else {
            panic!("{}: {outcome:?}", family.name);
        };
        let expected = format!("task-{}", n + 1);
        assert_eq!(family.task_id(&answer.body), Some(expected.clone()));
        assert_eq!(
            upstream.paths.lock().expect("lock")[n],
            family.upstream_path
        );
        let sent = upstream.submitted.lock().expect("lock")[n].clone();
        let url = sent["referenceImages"][0].as_str().expect("url");
        assert!(
            url.starts_with(&format!("http://here/content/{asset}?exp=")),
            "{}: {url}",
            family.name
        );
        assert_eq!(
            repo.unfinished_task_using(asset.as_str())
                .await
                .expect("tasks"),
            Some(expected.clone()),
            "{}",
            family.name
        );

        // Another tenant reads neither through the family's route nor /v1/result.
        for path in [family.upstream_path, "/v1/result"] {
            let foreign = gateway.task_status(&caller("b"), path, &expected).await;
            assert!(
                matches!(&foreign, Err(e) if e.code().name == "not-found"),
                "{path}: {foreign:?}"
            );
        }
        // The owner's read goes to the family's own path; a terminal status there (plain
        // or enveloped in `data`) releases the asset.
        *upstream.status.lock().expect("lock") = "completed".into();
        gateway
            .task_status(&caller("a"), family.upstream_path, &expected)
            .await
            .expect("status");
        assert_eq!(
            upstream.reads.lock().expect("lock").last(),
            Some(&format!("{}/{expected}", family.upstream_path))
        );
        assert_eq!(
            repo.unfinished_task_using(asset.as_str())
                .await
                .expect("tasks"),
            None,
            "{}",
            family.name
        );
        *upstream.status.lock().expect("lock") = "queued".into();
    }
    assert_eq!(
        upstream.reads.lock().expect("lock").len(),
        TASK_FAMILIES.len(),
        "no foreign read reached the upstream"
    );
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        tasks_are_resolved_forwarded_and_recorded,
        every_family_is_forwarded_to_its_path_and_recorded_by_its_id,
    ]
});
