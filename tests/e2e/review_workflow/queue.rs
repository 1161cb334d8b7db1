//! The queue of thousands, bulk decisions, and two reviewers racing on one asset.

use std::sync::Arc;

use assetlib::domain::{AssetType, Role};
use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{app_without_workers, held, key_of};

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
