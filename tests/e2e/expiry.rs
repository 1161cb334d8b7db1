//! Expiry: under a tenant's policy (`[expiry]`), an asset's details show when it expires; a
//! generation task that references it pushes that back; housekeeping deletes what has expired
//! (soft, restorable), and only for the tenants whose policy says so.

use std::sync::Arc;

use assetlib::domain::{ExpiryConfig, ExpiryPolicy};
use assetlib::fetch::SystemLookup;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Origin, TestApp, media, spawn_app_with};

fn expires_at(detail: &Value) -> DateTime<Utc> {
    detail["expiresAt"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("expiresAt in {detail}"))
}

async fn detail(app: &TestApp, key: &str, id: &str) -> Value {
    let (status, body) = app.get(key, &format!("/v1/assets/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_expire_under_their_tenants_policy_unless_used() {
    let app = spawn_app_with(
        |config| {
            let mut expiry = ExpiryConfig::default();
            expiry.tenants.insert(
                "trial".to_owned(),
                ExpiryPolicy {
                    unused_days: Some(7),
                    max_age_days: Some(30),
                },
            );
            config.expiry = expiry;
        },
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let trial = app.create_key("trial").await;
    let keeper = app.create_key("keeper").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let used = app.upload_ok(&trial, "Image", &url).await;
    let unused = app.upload_ok(&trial, "Image", &url).await;
    let kept = app.upload_ok(&keeper, "Image", &url).await;
    for (key, id) in [(&trial, &used), (&trial, &unused), (&keeper, &kept)] {
        app.wait_settled(key, id).await;
    }

    // Details show the expiry: 7 days after the upload; none without a policy.
    let before = detail(&app, &trial, &used).await;
    let created = DateTime::parse_from_rfc3339(before["createTime"].as_str().expect("time"))
        .expect("rfc3339")
        .with_timezone(&Utc);
    assert_eq!(expires_at(&before), created + Duration::days(7));
    assert!(
        detail(&app, &keeper, &kept)
            .await
            .get("expiresAt")
            .is_none(),
        "no policy, no expiry"
    );

    // A task that references the asset counts as a use: the expiry moves to 7 days after it.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let task = json!({"first_image": format!("asset://{used}")});
    let (status, resolved) = app.post(&trial, "/v1/resolve", &task).await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    let after = expires_at(&detail(&app, &trial, &used).await);
    assert!(after > expires_at(&before), "{after} after the use");
    assert!(after <= Utc::now() + Duration::days(7));

    // Housekeeping just after the unused one's expiry: it is deleted (restorable), the used one
    // and the other tenant's stay.
    let state = app.server.as_ref().expect("running").state();
    let unused_expiry = expires_at(&detail(&app, &trial, &unused).await);
    assert!(unused_expiry < after, "uploaded before the other's use");
    let later = unused_expiry + Duration::milliseconds(1);
    assert_eq!(state.library.expire(later).await.expect("expire"), 1);
    let (status, _) = app.get(&trial, &format!("/v1/assets/{unused}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    detail(&app, &trial, &used).await;
    detail(&app, &keeper, &kept).await;
    let (_, deleted) = app.get(&trial, "/v1/assets?deleted=true").await;
    assert_eq!(deleted["items"][0]["assetId"], json!(unused), "{deleted}");

    // Past the maximum age, even a used asset goes.
    let much_later = created + Duration::days(31);
    assert_eq!(state.library.expire(much_later).await.expect("expire"), 1);
    let (status, _) = app.get(&trial, &format!("/v1/assets/{used}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    detail(&app, &keeper, &kept).await;
}
