//! Another tenant's asset answers exactly like a missing one, on both faces.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{KYY, Origin, media, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_cannot_see_list_or_delete_each_others_assets() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let alice = app.create_key("alice").await;
    let bob = app.create_key("bob").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let id = app.upload_ok(&alice, "Image", &url).await;
    app.wait_settled(&alice, &id).await;

    let missing = "asset-20200101000000-zzzzz";
    for (who, target) in [(&bob, id.as_str()), (&alice, missing)] {
        let (status, body) = app.get(who, &format!("{KYY}/{target}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], Value::from(-1));
        let foreign_msg = body["msg"].clone();
        let (status, del) = app.delete(who, &format!("{KYY}/{target}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(del["code"], Value::from(-1));
        let (status, v1) = app.get(who, &format!("/v1/assets/{target}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(v1["error"]["code"], "not-found");
        let (status, _) = app.delete(who, &format!("/v1/assets/{target}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Same words for "someone else's" and "nobody's".
        assert_eq!(foreign_msg, "asset not found");
    }
    let (_, list) = app.get(&bob, &format!("{KYY}/list")).await;
    assert_eq!(list["data"]["total"], Value::from(0));
    assert!(app.all_asset_ids(&bob).await.is_empty());

    // Alice still has it.
    let (status, body) = app.get(&alice, &format!("{KYY}/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["status"], "Active");
    assert_eq!(app.all_asset_ids(&alice).await, vec![id]);
}
