//! Face moderation through the real server: real photos with faces are held, others pass;
//! reviewers approve or reject; tenants cannot review; previews are served.

use std::sync::Arc;

use assetlib::domain::{FacePolicy, Role};
use assetlib::fetch::SystemLookup;
use assetlib_test_support::media::Clip;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{KYY, Origin, TestApp, media, spawn_app, spawn_app_with};

async fn reviewer_key(app: &TestApp) -> String {
    let server = app.server.as_ref().expect("running");
    server
        .state()
        .keys
        .create("moderators", Role::Reviewer)
        .await
        .expect("reviewer key")
        .secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_with_faces_are_held_and_others_pass() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "astronaut.png",
            media::photo("astronaut.png"),
            "PendingReview",
        ),
        ("camera.png", media::photo("camera.png"), "PendingReview"),
        (
            "grace_hopper.jpg",
            media::photo("grace_hopper.jpg"),
            "PendingReview",
        ),
        ("chelsea.png", media::photo("chelsea.png"), "Active"),
        ("coffee.png", media::photo("coffee.png"), "Active"),
        ("rocket.jpg", media::photo("rocket.jpg"), "Active"),
        ("gradient.png", media::png(800, 600), "Active"),
        ("flat.png", media::flat_png(640, 640), "Active"),
    ];
    for (name, bytes, want) in cases {
        let url = origin.put(name, bytes, "application/octet-stream");
        let id = app.upload_ok(&key, "Image", &url).await;
        let body = app.wait_settled(&key, &id).await;
        assert_eq!(body["status"], want, "{name}: {body}");
        let faces = body["moderation"]["faces"].as_array().expect("faces").len();
        assert_eq!(faces > 0, want == "PendingReview", "{name}: {body}");
        assert_eq!(body["moderation"]["detector"], "mtcnn");
        if want == "PendingReview" {
            // The kyy face knows three states: a held asset is still Processing there.
            let (_, kyy) = app.get(&key, &format!("{KYY}/{id}")).await;
            assert_eq!(kyy["data"]["status"], "Processing", "{name}");
            let (_, list) = app
                .get(&key, &format!("{KYY}/list?status=Processing"))
                .await;
            let listed = list["data"]["list"].as_array().expect("list");
            assert!(listed.iter().any(|a| a["assetId"] == id.as_str()), "{name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_approve_or_reject_held_assets() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let alice = app.create_key("alice").await;
    let bob = app.create_key("bob").await;
    let reviewer = reviewer_key(&app).await;
    let face = origin.put("astronaut.png", media::photo("astronaut.png"), "image/png");
    let other_face = origin.put(
        "grace_hopper.jpg",
        media::photo("grace_hopper.jpg"),
        "image/jpeg",
    );
    let first = app.upload_ok(&alice, "Image", &face).await;
    app.wait_settled(&alice, &first).await;
    let second = app.upload_ok(&bob, "Image", &other_face).await;
    app.wait_settled(&bob, &second).await;

    // A tenant key cannot review.
    for (method, path) in [
        ("GET", "/v1/reviews".to_owned()),
        ("POST", format!("/v1/reviews/{first}/approve")),
        ("POST", format!("/v1/reviews/{first}/reject")),
    ] {
        let req = if method == "GET" {
            app.client.get(format!("{}{path}", app.base))
        } else {
            app.client
                .post(format!("{}{path}", app.base))
                .json(&json!({"reason": "x"}))
        };
        let (status, body) = app.send(req.bearer_auth(&alice)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }

    // The reviewer sees every tenant's held assets, oldest first, with boxes and a preview.
    let (status, queue) = app.get(&reviewer, "/v1/reviews").await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let items = queue["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{queue}");
    assert_eq!(items[0]["assetId"], first.as_str());
    assert_eq!(items[0]["tenant"], "alice");
    assert_eq!(items[1]["tenant"], "bob");
    assert_eq!(
        (
            items[0]["imageWidth"].clone(),
            items[0]["imageHeight"].clone()
        ),
        (json!(512), json!(512))
    );
    let boxes = items[0]["faces"].as_array().expect("faces");
    assert!(!boxes.is_empty());
    let b = &boxes[0];
    for field in ["x", "y", "width", "height", "score"] {
        assert!(b[field].is_number(), "{field} in {b}");
    }
    let preview_url = items[0]["previewUrl"].as_str().expect("preview url");
    let resp = app
        .client
        .get(format!("{}{preview_url}", app.base))
        .bearer_auth(&reviewer)
        .send()
        .await
        .expect("preview");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let jpeg = resp.bytes().await.expect("bytes");
    let preview = image::load_from_memory(&jpeg).expect("a decodable JPEG");
    assert!(preview.width() <= 512 && preview.height() <= 512);
    // Owners see their own preview; other tenants do not.
    let status_for = |key: String| {
        app.client
            .get(format!("{}{preview_url}", app.base))
            .bearer_auth(key)
            .send()
    };
    assert_eq!(
        status_for(alice.clone()).await.expect("sent").status(),
        StatusCode::OK
    );
    assert_eq!(
        status_for(bob.clone()).await.expect("sent").status(),
        StatusCode::NOT_FOUND
    );

    // Approve: Active, and the decision is recorded.
    let (status, approved) = app
        .post(
            &reviewer,
            &format!("/v1/reviews/{first}/approve"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "Active");
    let (_, seen) = app.get(&alice, &format!("/v1/assets/{first}")).await;
    assert_eq!(seen["status"], "Active");
    let decision = &seen["moderation"]["decision"];
    assert_eq!(decision["action"], "approve");
    assert_eq!(decision["reviewerTenant"], "moderators");
    assert!(
        decision["reviewerKey"]
            .as_str()
            .expect("key id")
            .starts_with("key_")
    );
    chrono::DateTime::parse_from_rfc3339(decision["at"].as_str().expect("at")).expect("rfc3339");
    let (_, kyy) = app.get(&alice, &format!("{KYY}/{first}")).await;
    assert_eq!(kyy["data"]["status"], "Active");
    // Deciding twice is a conflict.
    let (status, again) = app
        .post(
            &reviewer,
            &format!("/v1/reviews/{first}/approve"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // Reject needs a reason; then Failed with review-rejected and the reason.
    let (status, _) = app
        .post(
            &reviewer,
            &format!("/v1/reviews/{second}/reject"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let reason = "identifiable person without a release form";
    let (status, rejected) = app
        .post(
            &reviewer,
            &format!("/v1/reviews/{second}/reject"),
            &json!({"reason": reason}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    let (_, seen) = app.get(&bob, &format!("/v1/assets/{second}")).await;
    assert_eq!(seen["status"], "Failed");
    assert_eq!(
        seen["failure"],
        json!({"code": "review-rejected", "message": reason})
    );
    assert_eq!(seen["moderation"]["decision"]["action"], "reject");
    assert_eq!(seen["moderation"]["decision"]["reason"], reason);
    let (_, kyy) = app.get(&bob, &format!("{KYY}/{second}")).await;
    assert_eq!(kyy["data"]["status"], "Failed");
    assert_eq!(kyy["msg"], reason);

    let (_, queue) = app.get(&reviewer, "/v1/reviews").await;
    assert_eq!(queue["items"], json!([]));
    let (status, _) = app
        .post(
            &reviewer,
            "/v1/reviews/asset-20200101000000-zzzzz/approve",
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_reject_or_allow_per_deployment_and_tenant() {
    let app = spawn_app_with(
        |c| {
            c.moderation.faces = FacePolicy::Reject;
            c.moderation
                .tenants
                .insert("film-crew".into(), FacePolicy::Allow);
        },
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let strict = app.create_key("agency").await;
    let lenient = app.create_key("film-crew").await;
    let url = origin.put("camera.png", media::photo("camera.png"), "image/png");

    let id = app.upload_ok(&strict, "Image", &url).await;
    let body = app.wait_settled(&strict, &id).await;
    assert_eq!(body["status"], "Failed", "{body}");
    assert_eq!(body["failure"]["code"], "face-detected");
    let message = body["failure"]["message"].as_str().expect("message");
    assert!(
        message.starts_with("the image shows ")
            && message.ends_with("media with faces are not accepted here"),
        "{message}"
    );
    assert!(
        !body["moderation"]["faces"]
            .as_array()
            .expect("faces")
            .is_empty()
    );

    let id = app.upload_ok(&lenient, "Image", &url).await;
    let body = app.wait_settled(&lenient, &id).await;
    assert_eq!(body["status"], "Active", "{body}");
    assert_eq!(body.get("moderation"), None, "no check under allow: {body}");
}

/// A 3 s 24 fps H.264 MP4 of a still photo scaled to 720×720, a keyframe every second.
fn video_of(photo_name: &str) -> Vec<u8> {
    let picture = image::load_from_memory(&media::photo(photo_name))
        .expect("decode")
        .resize_exact(720, 720, image::imageops::FilterType::CatmullRom)
        .into_rgb8();
    Clip::new(720, 720, 24, 3)
        .keyframe_every(24)
        .still(picture.as_raw())
        .expect("an H.264 clip")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videos_are_checked_on_their_first_frame_and_keyframes() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let reviewer = reviewer_key(&app).await;
    // H.264 of a face photo: decoded in-process and held, with a poster frame for the reviewer.
    let url = origin.put("face.mp4", video_of("astronaut.png"), "video/mp4");
    let id = app.upload_ok(&key, "Video", &url).await;
    let body = app.wait_settled(&key, &id).await;
    assert_eq!(body["status"], "PendingReview", "{body}");
    assert!(
        !body["moderation"]["faces"]
            .as_array()
            .expect("faces")
            .is_empty(),
        "{body}"
    );
    assert_eq!(body["moderation"]["width"], json!(720));
    // Each face names its checked frame; every checked frame has a preview for reviewers.
    let frames = body["moderation"]["frames"]
        .as_u64()
        .expect("frames checked");
    assert!(frames >= 2, "{body}");
    for face in body["moderation"]["faces"].as_array().expect("faces") {
        assert!(face["frame"].as_u64().is_some_and(|f| f < frames), "{face}");
    }
    let (_, queue) = app.get(&reviewer, "/v1/reviews").await;
    let item = queue["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["assetId"] == json!(id)))
        .expect("queued");
    assert_eq!(
        item["frameUrls"].as_array().map(Vec::len),
        usize::try_from(frames).ok(),
        "{item}"
    );
    for n in [1, frames - 1] {
        let frame = app
            .client
            .get(format!("{}/v1/assets/{id}/preview?frame={n}", app.base))
            .bearer_auth(&reviewer)
            .send()
            .await
            .expect("frame");
        assert_eq!(frame.status(), StatusCode::OK, "frame {n}");
        image::load_from_memory(&frame.bytes().await.expect("bytes")).expect("a JPEG");
    }
    let missing = app
        .client
        .get(format!(
            "{}/v1/assets/{id}/preview?frame={}",
            app.base,
            frames + 5
        ))
        .bearer_auth(&reviewer)
        .send()
        .await
        .expect("frame");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let (_, kyy) = app.get(&key, &format!("{KYY}/{id}")).await;
    assert_eq!(kyy["data"]["status"], "Processing");
    let resp = app
        .client
        .get(format!("{}/v1/assets/{id}/preview", app.base))
        .bearer_auth(&reviewer)
        .send()
        .await
        .expect("poster");
    assert_eq!(resp.status(), StatusCode::OK);
    let poster = image::load_from_memory(&resp.bytes().await.expect("bytes")).expect("jpeg");
    // The working image of the face check, 384–512 px on its longer side (480 for MTCNN).
    assert_eq!(poster.width(), poster.height());
    assert!((384..=512).contains(&poster.width()), "{}", poster.width());
    let (status, approved) = app
        .post(&reviewer, &format!("/v1/reviews/{id}/approve"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "Active");

    // H.264 without a face passes.
    let url = origin.put("cup.mp4", video_of("coffee.png"), "video/mp4");
    let id = app.upload_ok(&key, "Video", &url).await;
    let body = app.wait_settled(&key, &id).await;
    assert_eq!(body["status"], "Active", "{body}");
    assert_eq!(body["moderation"]["faces"], json!([]));

    // A codec that is not decoded here (MPEG-4 Part 2) cannot be scanned: held by default.
    let mpeg4 = format!(
        "{}/tests/fixtures/media/v-480p-mpeg4.mov",
        env!("CARGO_MANIFEST_DIR")
    );
    let url = origin.put(
        "clip.mov",
        std::fs::read(&mpeg4).expect("committed MPEG-4 Part 2 clip"),
        "video/quicktime",
    );
    let id = app.upload_ok(&key, "Video", &url).await;
    let body = app.wait_settled(&key, &id).await;
    assert_eq!(body["status"], "PendingReview", "{body}");
    let note = body["moderation"]["note"].as_str().expect("note");
    assert!(note.contains("not H.264"), "{note}");
}

/// Large photos take the fast path (a JPEG decoded scaled in the DCT, then block averaging to
/// the working size): the faces of the held fixtures are still found at 1080p and 4K, as PNG
/// and as JPEG, boxes in full-size coordinates, and the preview stays within 384–512 px.
#[test]
fn large_photos_keep_their_faces_through_the_fast_downscale() {
    // ~30 s of resizing and scanning in a debug build.
    if !assetlib_test_support::opt_in::slow("the 1080p and 4K face scans") {
        return;
    }
    use assetlib::moderation::{Mtcnn, scan_image};
    let detector = Mtcnn::embedded().expect("model");
    let dir = tempfile::tempdir().expect("dir");
    for name in ["astronaut.png", "grace_hopper.jpg"] {
        let original = image::load_from_memory(&media::photo(name)).expect("decode");
        for width in [1920u32, 3840] {
            let height = original.height() * width / original.width();
            let big = original.resize_exact(width, height, image::imageops::FilterType::Lanczos3);
            for ext in ["png", "jpg"] {
                let path = dir.path().join(format!("{width}-{name}.{ext}"));
                big.to_rgb8().save(&path).expect("save");
                let scan = scan_image(&path, &detector).expect("scan");
                assert!(!scan.faces.is_empty(), "{name} at {width} px: no face");
                assert_eq!((scan.width, scan.height), (width, height));
                for face in &scan.faces {
                    assert!(face.x + face.width <= width && face.y + face.height <= height);
                    assert!(
                        face.width > width / 10,
                        "{name} at {width}: box in full-size pixels"
                    );
                }
                let preview =
                    image::load_from_memory(&scan.preview.expect("preview")).expect("jpeg");
                let side = preview.width().max(preview.height());
                assert!(
                    (384..=512).contains(&side),
                    "{name} at {width}: preview {side} px"
                );
            }
        }
    }
}

/// On the kyy face an asset held for review is still processing, so `?wait=` waits through
/// the review: it answers once a reviewer approves, or when the time is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kyy_details_wait_through_a_review() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let reviewer = reviewer_key(&app).await;
    let url = origin.put("held.png", media::photo("astronaut.png"), "image/png");
    let id = app.upload_ok(&key, "Image", &url).await;
    assert_eq!(app.wait_settled(&key, &id).await["status"], "PendingReview");
    let details = format!("{KYY}/{id}?wait=2");

    // Nobody decides: the full wait, still processing.
    let started = std::time::Instant::now();
    let (status, held) = app.get(&key, &details).await;
    assert_eq!(status, StatusCode::OK, "{held}");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1900),
        "answered after {:?}: {held}",
        started.elapsed()
    );

    // Approved half a second in: answered then, Active.
    let approve = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        app.post(&reviewer, &format!("/v1/reviews/{id}/approve"), &json!({}))
            .await
    };
    let started = std::time::Instant::now();
    let ((status, answer), (approved, _)) = tokio::join!(app.get(&key, &details), approve);
    assert_eq!(
        (status, approved),
        (StatusCode::OK, StatusCode::OK),
        "{answer}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1900),
        "{answer}"
    );
    assert_ne!(answer["data"], held["data"], "{answer}");
}
