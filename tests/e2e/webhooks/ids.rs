//! Delivery ids are opaque (`dlv-YYYYMMDDhhmmss-` and 16 random characters, like the other
//! ids), and so are the cursors of the delivery log: neither counts the deliveries of the
//! whole server. A delivery is sent again by its id.

use std::sync::Arc;

use assetlib::fetch::SystemLookup;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{count, register, start_receiver, wait_for};
use crate::common::{Origin, media, spawn_app_with};

/// `dlv-`, a 14-digit UTC stamp, `-`, 16 lowercase base36 characters.
fn is_opaque(id: &str) -> bool {
    let Some((stamp, suffix)) = id.strip_prefix("dlv-").and_then(|r| r.split_once('-')) else {
        return false;
    };
    stamp.len() == 14
        && stamp.bytes().all(|b| b.is_ascii_digit())
        && suffix.len() == 16
        && suffix
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

fn ids(log: &Value) -> Vec<String> {
    log["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|d| d["deliveryId"].as_str().expect("deliveryId").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_ids_and_cursors_are_opaque_and_redeliver_takes_the_id() {
    let app = spawn_app_with(|_| {}, Arc::new(SystemLookup)).await;
    let origin = Origin::start().await;
    let (base, receiver) = start_receiver().await;
    let key = app.create_key("studio").await;
    let other = app.create_key("elsewhere").await;
    let hook = register(&app, &key, &json!({"url": format!("{base}/mine")})).await;
    let hook = hook["webhookId"].as_str().expect("id").to_owned();
    register(&app, &other, &json!({"url": format!("{base}/theirs")})).await;

    // Events of both tenants, interleaved: an active and a delete each.
    for (tenant_key, path, name) in [(&key, "/mine", "a.png"), (&other, "/theirs", "b.png")] {
        let url = origin.put(name, media::png(400, 400), "image/png");
        let id = app.upload_ok(tenant_key, "Image", &url).await;
        wait_for(&receiver, path, "asset.active").await;
        let (status, _) = app.delete(tenant_key, &format!("/v1/assets/{id}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        wait_for(&receiver, path, "asset.deleted").await;
    }

    let path = format!("/v1/webhooks/{hook}/deliveries");
    let (status, log) = app.get(&key, &path).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let all = ids(&log);
    assert_eq!(all.len(), 2, "{log}");
    for id in &all {
        assert!(is_opaque(id), "delivery id {id} is not opaque");
        assert!(id.parse::<i64>().is_err(), "{id}");
    }
    assert_ne!(all[0], all[1]);

    // Pages: the cursor is opaque too, and the second page holds the other delivery.
    let (_, first) = app.get(&key, &format!("{path}?limit=1")).await;
    let cursor = first["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    assert!(
        cursor.parse::<i64>().is_err(),
        "cursor {cursor} is a counter"
    );
    assert_eq!(ids(&first), all[..1]);
    let (status, second) = app
        .get(&key, &format!("{path}?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(ids(&second), all[1..]);
    assert_eq!(second["nextCursor"], Value::Null, "{second}");

    // Redeliver by the id: a new delivery of the same event, with a new opaque id.
    let before = count(&receiver, "/mine");
    let (status, again) = app
        .post(&key, &format!("{path}/{}/redeliver", all[1]), &json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    let new_id = again["deliveryId"].as_str().expect("id");
    assert!(
        is_opaque(new_id) && !all.contains(&new_id.to_owned()),
        "{again}"
    );
    assert_eq!(again["eventId"], log["items"][1]["eventId"]);
    for _ in 0..100 {
        if count(&receiver, "/mine") > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(count(&receiver, "/mine"), before + 1, "sent again");

    // A counter, or another tenant's id, is no delivery of this endpoint.
    for wrong in ["1", "2", "0"] {
        let (status, body) = app
            .post(&key, &format!("{path}/{wrong}/redeliver"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{wrong}: {body}");
    }
    let (status, _) = app
        .post(&other, &format!("{path}/{}/redeliver", all[0]), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
