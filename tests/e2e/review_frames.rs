//! A held video's checked frames at full size: `GET /v1/assets/{id}/frames/{n}` answers a JPEG
//! of the video's own dimensions to its owner and to reviewer and admin keys, and 404 to any
//! other tenant; the queue item lists them as `fullFrameUrls`.

use assetlib::domain::Role;
use assetlib_test_support::media::Clip;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{Origin, TestApp, media, spawn_app};

/// A 3 s H.264 MP4 of a face photo at `width`×`height`, a keyframe every second.
fn face_video(width: u32, height: u32) -> Vec<u8> {
    let picture = image::load_from_memory(&media::photo("astronaut.png"))
        .expect("decode")
        .resize_exact(width, height, image::imageops::FilterType::CatmullRom)
        .into_rgb8();
    Clip::new(width, height, 24, 3)
        .keyframe_every(24)
        .still(picture.as_raw())
        .expect("an H.264 clip")
}

async fn frame(app: &TestApp, key: &str, path: &str) -> (StatusCode, Vec<u8>) {
    let resp = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(key)
        .send()
        .await
        .expect("frame");
    let status = resp.status();
    (status, resp.bytes().await.expect("bytes").to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_video_shows_its_checked_frames_at_full_size_to_reviewers_only() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let owner = app.create_key("studio").await;
    let stranger = app.create_key("elsewhere").await;
    let server = app.server.as_ref().expect("running");
    let reviewer = server
        .state()
        .keys
        .create("moderators", Role::Reviewer)
        .await
        .expect("reviewer key")
        .secret;
    let (width, height) = (960, 720);
    let url = origin.put("face.mp4", face_video(width, height), "video/mp4");
    let id = app.upload_ok(&owner, "Video", &url).await;
    let body = app.wait_settled(&owner, &id).await;
    assert_eq!(body["status"], "PendingReview", "{body}");
    let frames = body["moderation"]["frames"]
        .as_u64()
        .expect("frames checked");
    assert!(frames >= 2, "{body}");

    let (_, queue) = app.get(&reviewer, "/v1/reviews").await;
    let item = queue["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["assetId"] == json!(id)))
        .expect("queued")
        .clone();
    let urls: Vec<String> = item["fullFrameUrls"]
        .as_array()
        .expect("fullFrameUrls")
        .iter()
        .map(|u| u.as_str().expect("a URL").to_owned())
        .collect();
    assert_eq!(urls.len() as u64, frames, "{item}");
    assert_eq!(urls[0], format!("/v1/assets/{id}/frames/0"));
    // When each is: the first frame at 0 s, then keyframes (one a second) in order.
    let times: Vec<f64> = item["frameTimes"]
        .as_array()
        .expect("frameTimes")
        .iter()
        .map(|t| t.as_f64().expect("seconds"))
        .collect();
    assert_eq!(times.len() as u64, frames, "{item}");
    assert_eq!(times[0], 0.0, "{item}");
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{item}");
    assert!(
        times.iter().all(|t| t.fract() == 0.0 && *t < 3.0),
        "keyframes on the second: {item}"
    );

    for (n, path) in urls.iter().enumerate() {
        for key in [&reviewer, &app.admin_key, &owner] {
            let (status, jpeg) = frame(&app, key, path).await;
            assert_eq!(status, StatusCode::OK, "frame {n}");
            let picture = image::load_from_memory(&jpeg).expect("a JPEG");
            assert_eq!(
                (picture.width(), picture.height()),
                (width, height),
                "frame {n}"
            );
        }
        let (status, _) = frame(&app, &stranger, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another tenant, frame {n}");
    }
    // A frame is named by its ETag: asked again with it, the answer is 304 without a body.
    let first = app
        .client
        .get(format!("{}{}", app.base, urls[0]))
        .bearer_auth(&reviewer)
        .send()
        .await
        .expect("frame");
    let etag = first.headers()["etag"].to_str().expect("etag").to_owned();
    assert_eq!(first.headers()["content-type"], "image/jpeg");
    let again = app
        .client
        .get(format!("{}{}", app.base, urls[0]))
        .bearer_auth(&reviewer)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("frame again");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"].to_str().expect("etag"), etag);
    assert!(again.bytes().await.expect("body").is_empty());
    let (status, _) = frame(
        &app,
        &reviewer,
        &format!("/v1/assets/{id}/frames/{}", frames + 3),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no such frame");
    let (status, _) = frame(&app, &reviewer, &format!("/v1/assets/{id}/frames/x")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not a number");

    // An asset never held has none, even for a reviewer.
    let photo = origin.put("plain.png", media::png(400, 320), "image/png");
    let plain = app.upload_ok(&owner, "Image", &photo).await;
    app.wait_settled(&owner, &plain).await;
    let (status, _) = frame(&app, &reviewer, &format!("/v1/assets/{plain}/frames/0")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
