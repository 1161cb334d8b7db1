//! Undo by reopen, with its rules, and the decision history (JSON and CSV).

use assetlib::domain::{AssetId, AssetType, Decision, ReviewAction, Role, Status};
use assetlib::repo::StatusChange;
use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{app_without_workers, faces, held, key_of};
use crate::common::KYY;

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
