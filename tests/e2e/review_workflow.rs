//! The review workflow through the real server: a queue of thousands (true total, filters,
//! ages, pages to the end), bulk decisions with a result per item, one winner when two
//! reviewers decide at once, reopen (undo) with its rules, and the decision history (JSON and
//! CSV). Held assets are made through the metadata store with no workers running, so a queue of
//! thousands does not need thousands of face checks (tests/e2e/moderation.rs holds real photos).

use std::sync::Arc;

use assetlib::domain::{
    AssetId, AssetType, Decision, ModerationRecord, ReviewAction, Role, Status,
};
use assetlib::repo::{NewAsset, NewJob, StatusChange};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{KYY, TestApp, spawn_app_with};

async fn app_without_workers() -> TestApp {
    spawn_app_with(
        |c| c.jobs.workers = 0,
        Arc::new(assetlib::fetch::SystemLookup),
    )
    .await
}

pub(crate) async fn key_of(
    app: &TestApp,
    tenant: &str,
    role: Role,
    name: &str,
) -> (String, String) {
    let created = app
        .server
        .as_ref()
        .expect("running")
        .state()
        .keys
        .create_named(tenant, role, Some(name))
        .await
        .expect("key");
    (created.secret, created.id)
}

fn faces() -> ModerationRecord {
    serde_json::from_value(json!({
        "detector": "mtcnn",
        "faces": [{"x": 10, "y": 20, "width": 64, "height": 80, "score": 0.98}],
        "width": 640,
        "height": 480,
    }))
    .expect("record")
}

/// An asset of `tenant` held for review at `held` (its face check done), as the worker leaves
/// it; `moderation` replaces the record when given.
async fn held(app: &TestApp, n: usize, tenant: &str, kind: AssetType, at: DateTime<Utc>) -> String {
    let repo = &app.server.as_ref().expect("running").state().repo;
    let id = format!("asset-20260301000000-h{n:04}");
    let asset = NewAsset {
        id: AssetId::parse(&id).expect("id"),
        tenant: tenant.to_owned(),
        name: Some(format!("held {n}")),
        asset_type: kind,
        url: format!("https://example.com/{n}.png"),
        sha256: format!("{n:064x}"),
        bytes: 1000,
        format: Some("png".into()),
        group_id: None,
        created_at: at,
    };
    let job = NewJob {
        kind: "process-asset".into(),
        max_attempts: 3,
        request_id: None,
    };
    repo.insert_asset_with_job(&asset, &job)
        .await
        .expect("insert");
    let hold = StatusChange {
        to: Status::PendingReview,
        format: None,
        facts: None,
        failure: None,
        moderation: Some(faces()),
        at,
    };
    assert!(
        repo.change_status(&asset.id, Status::Processing, &hold)
            .await
            .expect("hold")
    );
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_of_thousands_is_counted_filtered_and_paged_to_the_end() {
    let app = app_without_workers().await;
    let (reviewer, _) = key_of(&app, "moderators", Role::Reviewer, "Rita").await;
    let now = Utc::now();
    let n = 1_050;
    let mut ids = Vec::new();
    for i in 0..n {
        // The first 300 have waited over two hours; then one a second until a few minutes ago.
        let at = if i < 300 {
            now - TimeDelta::hours(3) + TimeDelta::seconds(i as i64)
        } else {
            now - TimeDelta::minutes(30) + TimeDelta::seconds(i as i64)
        };
        let tenant = ["studio", "agency", "lab"][i % 3];
        let kind = if i % 10 == 0 {
            AssetType::Video
        } else {
            AssetType::Image
        };
        ids.push(held(&app, i, tenant, kind, at).await);
    }

    // Every page says the true count; the cursor reaches every held asset, oldest first.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (status, page) = app
            .get(&reviewer, &format!("/v1/reviews?limit=100&cursor={cursor}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        assert_eq!(page["total"], n, "page {pages}");
        let oldest = page["oldestWaitingSeconds"].as_u64().expect("oldest");
        assert!((3 * 3600 - 5..3 * 3600 + 600).contains(&oldest), "{oldest}");
        for item in page["items"].as_array().expect("items") {
            seen.push(item["assetId"].as_str().expect("id").to_owned());
            let waited = item["waitingSeconds"].as_u64().expect("age");
            assert!(waited <= oldest, "{item}");
            assert!(item["heldTime"].is_string() && item["tenant"].is_string());
            assert_eq!(item["reopened"], false);
            assert_eq!(item["faces"][0]["score"], 0.98);
            assert!(
                item["contentUrl"]
                    .as_str()
                    .is_some_and(|u| u.ends_with("/content")),
                "{item}"
            );
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 11);
    assert_eq!(seen, ids, "each held asset once, oldest first");

    // Filters, alone and together; each with its own true count.
    let count = |query: &'static str| {
        let (app, reviewer) = (&app, reviewer.clone());
        async move {
            let (status, page) = app.get(&reviewer, &format!("/v1/reviews?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {page}");
            page
        }
    };
    let page = count("tenant=agency&limit=5").await;
    assert_eq!(page["total"], n / 3);
    assert!(
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["tenant"] == "agency")
    );
    assert_eq!(count("type=Video").await["total"], n / 10);
    assert_eq!(count("assetType=Video&tenant=studio").await["total"], 35);
    assert_eq!(count("olderThan=2h").await["total"], 300);
    assert_eq!(count("olderThan=7200").await["total"], 300);
    assert_eq!(count("olderThan=1d").await["total"], 0);
    assert_eq!(
        count("olderThan=1d").await["oldestWaitingSeconds"],
        Value::Null
    );
    let newest = count("order=newest&limit=1").await;
    assert_eq!(newest["items"][0]["assetId"], ids[n - 1].as_str());

    // Bad parameters are refused with a sentence; a tenant key may not look.
    for query in [
        "olderThan=soon",
        "cursor=12",
        "limit=101",
        "order=sideways",
        "type=Picture",
        "tenant=no/such",
    ] {
        let (status, body) = app.get(&reviewer, &format!("/v1/reviews?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["code"], "invalid-request", "{query}");
    }
    let tenant = app.create_key("studio").await;
    let (status, body) = app.get(&tenant, "/v1/reviews").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_decisions_answer_per_item_and_a_rejection_needs_a_reason() {
    let app = app_without_workers().await;
    let (reviewer, reviewer_id) = key_of(&app, "moderators", Role::Reviewer, "Rita").await;
    let now = Utc::now();
    let a = held(&app, 1, "studio", AssetType::Image, now).await;
    let b = held(&app, 2, "studio", AssetType::Image, now).await;
    let c = held(&app, 3, "agency", AssetType::Image, now).await;

    // Refused whole, nothing decided: too many, none, a reject without a reason.
    let many: Vec<Value> = (0..101)
        .map(|_| json!({"assetId": a, "decision": "approve"}))
        .collect();
    for (body, code) in [
        (json!({"decisions": many}), "too-many-decisions"),
        (json!({"decisions": []}), "too-many-decisions"),
        (
            json!({"decisions": [{"assetId": a, "decision": "approve"},
                                 {"assetId": b, "decision": "reject"}]}),
            "reason-required",
        ),
        (
            json!({"decisions": [{"assetId": b, "decision": "reject", "reason": "   "}]}),
            "reason-required",
        ),
        (
            json!({"decisions": [{"assetId": b, "decision": "maybe"}]}),
            "invalid-request",
        ),
    ] {
        let (status, answer) = app.post(&reviewer, "/v1/reviews/decisions", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"]["code"], code, "{answer}");
    }
    let (_, queue) = app.get(&reviewer, "/v1/reviews").await;
    assert_eq!(queue["total"], 3, "nothing was decided");
    // The single route says the same.
    let (status, answer) = app
        .post(&reviewer, &format!("/v1/reviews/{b}/reject"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["code"], "reason-required");

    let reason = "identifiable person, no release";
    let (status, answer) = app
        .post(
            &reviewer,
            "/v1/reviews/decisions",
            &json!({"decisions": [
                {"assetId": a, "decision": "approve"},
                {"assetId": b, "decision": "reject", "reason": reason},
                {"assetId": "asset-20200101000000-zzzzz", "decision": "approve"},
                {"assetId": "not-an-id", "decision": "approve"},
                {"assetId": a, "decision": "reject", "reason": "changed my mind"},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"decided": 2, "results": [
            {"assetId": a, "decision": "approve", "result": "decided", "status": "Active"},
            {"assetId": b, "decision": "reject", "result": "decided", "status": "Failed"},
            {"assetId": "asset-20200101000000-zzzzz", "decision": "approve", "result": "not-found"},
            {"assetId": "not-an-id", "decision": "approve", "result": "not-found"},
            {"assetId": a, "decision": "reject", "result": "already-decided", "status": "Active"},
        ]})
    );
    // The owner sees the decision in the details.
    let studio = app.create_key("studio").await;
    let (_, detail) = app.get(&studio, &format!("/v1/assets/{b}")).await;
    assert_eq!(detail["status"], "Failed");
    assert_eq!(detail["failure"]["message"], reason);
    assert_eq!(detail["review"]["decision"], "reject");
    assert_eq!(detail["review"]["reason"], reason);
    assert_eq!(detail["review"]["decidedBy"], reviewer_id.as_str());
    assert_eq!(detail["review"]["decidedByName"], "Rita");
    assert!(detail["review"]["decidedAt"].is_string(), "{detail}");
    let (_, detail) = app.get(&studio, &format!("/v1/assets/{a}")).await;
    assert_eq!(detail["review"]["decision"], "approve", "{detail}");
    let (_, queue) = app.get(&reviewer, "/v1/reviews").await;
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["items"][0]["assetId"], c.as_str());
}

/// Two reviewers decide the same assets at the same moment, one approving and one rejecting:
/// for each asset exactly one decides, the other is told it is already decided, and the
/// history has one entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_reviewers_deciding_one_asset_at_once_one_wins() {
    let app = Arc::new(app_without_workers().await);
    let (first, _) = key_of(&app, "moderators", Role::Reviewer, "Rita").await;
    let (second, _) = key_of(&app, "moderators", Role::Reviewer, "Sam").await;
    let now = Utc::now();
    for round in 0..20 {
        let id = held(&app, round, "studio", AssetType::Image, now).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let decide = |key: String, decision: Value| {
            let (app, barrier, id) = (Arc::clone(&app), Arc::clone(&barrier), id.clone());
            tokio::spawn(async move {
                let mut item = json!({"assetId": id, "reason": "a face"});
                item["decision"] = decision;
                let request = app
                    .client
                    .post(format!("{}/v1/reviews/decisions", app.base))
                    .bearer_auth(key)
                    .json(&json!({"decisions": [item]}));
                barrier.wait().await;
                app.send(request).await
            })
        };
        let (one, two) = tokio::join!(
            decide(first.clone(), json!("approve")),
            decide(second.clone(), json!("reject"))
        );
        let mut results: Vec<String> = [one.expect("task"), two.expect("task")]
            .into_iter()
            .map(|(status, body)| {
                assert_eq!(status, StatusCode::OK, "{body}");
                body["results"][0]["result"]
                    .as_str()
                    .expect("result")
                    .to_owned()
            })
            .collect();
        results.sort();
        assert_eq!(results, ["already-decided", "decided"], "round {round}");
        let (_, history) = app
            .get(&first, &format!("/v1/reviews/history?assetId={id}"))
            .await;
        assert_eq!(
            history["items"].as_array().map(Vec::len),
            Some(1),
            "round {round}: {history}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_undoes_a_decision_for_its_reviewer_within_ten_minutes_and_for_admins() {
    let app = app_without_workers().await;
    let (rita, rita_id) = key_of(&app, "moderators", Role::Reviewer, "Rita").await;
    let (sam, _) = key_of(&app, "moderators", Role::Reviewer, "Sam").await;
    let studio = app.create_key("studio").await;
    let (status, hook) = app
        .post(
            &studio,
            "/v1/webhooks",
            &json!({"url": "http://127.0.0.1:9/hook", "events": ["asset.held", "asset.active"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let a = held(&app, 1, "studio", AssetType::Image, Utc::now()).await;
    let (status, _) = app
        .post(&rita, &format!("/v1/reviews/{a}/approve"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let task = json!({"first_image": format!("asset://{a}")});
    let (status, resolved) = app.post(&studio, "/v1/resolve", &task).await;
    assert_eq!(status, StatusCode::OK, "approved: resolvable {resolved}");

    // Only its reviewer (or an admin) may undo it; a tenant key may not review at all.
    let reopen = format!("/v1/reviews/{a}/reopen");
    let (status, body) = app.post(&sam, &reopen, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "reopen-forbidden");
    let (status, body) = app.post(&studio, &reopen, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, body) = app
        .post(&rita, &reopen, &json!({"reason": "clicked the wrong one"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "PendingReview");
    assert!(body.get("review").is_none(), "no standing decision: {body}");
    let (status, body) = app.post(&rita, &reopen, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "waiting already: {body}");

    // Not resolvable until decided again; shown in review on both faces; back in the queue.
    let (status, refused) = app.post(&studio, "/v1/resolve", &task).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(
        refused["error"]["violations"][0]["code"],
        "asset-not-active"
    );
    let (_, kyy) = app.get(&studio, &format!("{KYY}/{a}")).await;
    assert_eq!(kyy["data"]["status"], "Processing");
    let (_, queue) = app.get(&rita, "/v1/reviews").await;
    assert_eq!(queue["items"][0]["assetId"], a.as_str());
    assert_eq!(queue["items"][0]["reopened"], true);
    let hook_id = hook["webhookId"].as_str().expect("id");
    let (_, deliveries) = app
        .get(&studio, &format!("/v1/webhooks/{hook_id}/deliveries"))
        .await;
    let types: Vec<&str> = deliveries["items"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        ["asset.held", "asset.active", "asset.held"],
        "{deliveries}"
    );

    // A decision older than ten minutes: its reviewer may no longer undo it, an admin may.
    let b = held(&app, 2, "studio", AssetType::Image, Utc::now()).await;
    let mut record = faces();
    let long_ago = Utc::now() - TimeDelta::minutes(11);
    record.decision = Some(Decision {
        action: ReviewAction::Approve,
        reviewer_key: rita_id.clone(),
        reviewer_name: Some("Rita".into()),
        reviewer_tenant: "moderators".into(),
        reason: None,
        at: long_ago,
    });
    let repo = &app.server.as_ref().expect("running").state().repo;
    let approve = StatusChange {
        to: Status::Active,
        format: None,
        facts: None,
        failure: None,
        moderation: Some(record),
        at: long_ago,
    };
    let b_id = AssetId::parse(&b).expect("id");
    assert!(
        repo.change_status(&b_id, Status::PendingReview, &approve)
            .await
            .expect("approve")
    );
    let (status, body) = app
        .post(&rita, &format!("/v1/reviews/{b}/reopen"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "reopen-forbidden");
    let (status, body) = app
        .post(
            &app.admin_key,
            &format!("/v1/reviews/{b}/reopen"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Never reviewed: nothing to reopen.
    let (status, _) = app
        .post(
            &app.admin_key,
            "/v1/reviews/asset-20200101000000-zzzzz/reopen",
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A minimal RFC 4180 reader for the test: rows of fields, quotes undone.
fn read_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_records_every_decision_and_exports_csv() {
    let app = app_without_workers().await;
    let (rita, rita_id) = key_of(&app, "moderators", Role::Reviewer, "Rita").await;
    let now = Utc::now();
    let a = held(&app, 1, "studio", AssetType::Image, now).await;
    let b = held(&app, 2, "agency", AssetType::Image, now).await;
    let reason = "a face, \"clearly\" identifiable\nsecond line";
    let (status, _) = app
        .post(
            &rita,
            "/v1/reviews/decisions",
            &json!({"decisions": [{"assetId": a, "decision": "approve"},
                                  {"assetId": b, "decision": "reject", "reason": reason}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post(
            &app.admin_key,
            &format!("/v1/reviews/{a}/reopen"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, history) = app.get(&rita, "/v1/reviews/history").await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let items = history["items"].as_array().expect("items");
    let decisions: Vec<&str> = items
        .iter()
        .map(|i| i["decision"].as_str().expect("d"))
        .collect();
    assert_eq!(decisions, ["reopen", "reject", "approve"], "newest first");
    let reject = &items[1];
    assert_eq!(reject["assetId"], b.as_str());
    assert_eq!(reject["tenant"], "agency");
    assert_eq!(reject["reason"], reason);
    assert_eq!(reject["reviewerKeyId"], rita_id.as_str());
    assert_eq!(reject["reviewerName"], "Rita");
    assert_eq!(reject["reviewerTenant"], "moderators");
    assert_eq!(reject["faces"][0]["width"], 64);
    assert_eq!(
        (reject["imageWidth"].clone(), reject["imageHeight"].clone()),
        (json!(640), json!(480))
    );
    assert_eq!(
        items[0]["reviewerName"],
        Value::Null,
        "the admin key has no name"
    );

    for (query, want) in [
        ("decision=reject", 1),
        ("reviewer=Rita", 2),
        (&format!("reviewer={rita_id}") as &str, 2),
        ("tenant=studio", 2),
        ("since=1h", 3),
        ("since=2020-01-01T00:00:00Z&decision=approve", 1),
        ("since=2999-01-01T00:00:00Z", 0),
    ] {
        let (status, page) = app
            .get(&rita, &format!("/v1/reviews/history?{query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(
            page["items"].as_array().map(Vec::len),
            Some(want),
            "{query}: {page}"
        );
    }
    let (status, page) = app.get(&rita, "/v1/reviews/history?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    let next = page["nextCursor"].as_str().expect("more");
    let (_, rest) = app
        .get(&rita, &format!("/v1/reviews/history?limit=2&cursor={next}"))
        .await;
    assert_eq!(rest["items"][0]["decision"], "approve");
    assert_eq!(rest["nextCursor"], Value::Null);
    for query in ["decision=maybe", "since=yesterday", "cursor=x", "limit=0"] {
        let (status, _) = app
            .get(&rita, &format!("/v1/reviews/history?{query}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
    }
    let tenant = app.create_key("studio").await;
    let (status, _) = app.get(&tenant, "/v1/reviews/history").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // CSV: a header row, one row per entry, fields quoted where they must be.
    let csv = |query: &str| {
        app.client
            .get(format!("{}/v1/reviews/history{query}", app.base))
            .bearer_auth(&rita)
            .header("Accept", "text/csv")
            .send()
    };
    let answer = csv("").await.expect("csv");
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv"),
    );
    let rows = read_csv(&answer.text().await.expect("text"));
    assert_eq!(
        rows[0],
        [
            "decidedAt",
            "decision",
            "assetId",
            "tenant",
            "reviewerKeyId",
            "reviewerName",
            "reviewerTenant",
            "reason",
            "faceCount",
            "faces",
            "imageWidth",
            "imageHeight"
        ]
    );
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[2][1], "reject");
    assert_eq!(rows[2][7], reason, "quotes and line breaks survive");
    assert_eq!(rows[2][8], "1");
    let boxes: Value = serde_json::from_str(&rows[2][9]).expect("faces as JSON");
    assert_eq!(boxes[0]["score"], 0.98);
    let first = csv("?limit=1&tenant=studio").await.expect("csv");
    let link = first.headers()["link"].to_str().expect("link").to_owned();
    assert!(
        link.contains("rel=\"next\"") && link.contains("tenant=studio"),
        "{link}"
    );
    assert_eq!(read_csv(&first.text().await.expect("text")).len(), 2);
}
