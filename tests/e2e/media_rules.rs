//! Every accepted format per type and every media rule broken once, through the real server:
//! each case asserts the exact status and code.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{KYY, Origin, spawn_app};
use crate::corpus::{self, CASES, Expect};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corpus_gets_its_exact_outcome() {
    let corpus_dir = tokio::task::spawn_blocking(|| corpus::dir().to_path_buf())
        .await
        .expect("corpus built");
    // This test is about media rules: media that cannot be scanned for faces (an MPEG-4 Part 2
    // video) pass the face check here instead of waiting for review.
    let app = crate::common::spawn_app_with(
        |c| c.moderation.unscannable = assetlib::domain::FacePolicy::Allow,
        std::sync::Arc::new(assetlib::fetch::SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("media").await;
    let mut failures = Vec::new();
    for case in CASES {
        let bytes = std::fs::read(corpus_dir.join(case.file)).expect("corpus file");
        let url = origin.put(case.file, bytes, "application/octet-stream");
        let body = json!({"assetType": case.asset_type, "url": url, "name": case.file});
        let (status, answer) = app.post(&key, &format!("{KYY}/upload"), &body).await;
        let outcome = match &case.expect {
            Expect::Refused(code) => {
                if status == StatusCode::OK || answer["code"] != *code {
                    Some(format!("expected refusal {code}, got {status} {answer}"))
                } else {
                    None
                }
            }
            expect => {
                let Some(id) = answer["data"]["assetId"].as_str() else {
                    failures.push(format!("{}: refused: {answer}", case.file));
                    continue;
                };
                let details = app.wait_settled(&key, id).await;
                match expect {
                    Expect::Active(format) => (details["status"] != "Active"
                        || details["format"] != *format)
                        .then(|| format!("expected Active {format}, got {details}")),
                    Expect::Failed(code) => {
                        let ok =
                            details["status"] == "Failed" && details["failure"]["code"] == *code;
                        let message = details["failure"]["message"].as_str().unwrap_or_default();
                        if !ok {
                            Some(format!("expected Failed {code}, got {details}"))
                        } else if message.len() < 15 {
                            Some(format!("failure message is not a sentence: {message}"))
                        } else {
                            None
                        }
                    }
                    Expect::Refused(_) => None,
                }
            }
        };
        if let Some(problem) = outcome {
            failures.push(format!("{} ({}): {problem}", case.file, case.asset_type));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(app.count_jobs().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_are_shown_in_v1_details() {
    let corpus_dir = tokio::task::spawn_blocking(|| corpus::dir().to_path_buf())
        .await
        .expect("corpus built");
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("facts").await;
    let read = corpus::read;
    assert!(corpus_dir.exists());

    let url = origin.put("clip.mp4", read("v-720p-h264-aac.mp4"), "video/mp4");
    let id = app.upload_ok(&key, "Video", &url).await;
    let v = app.wait_settled(&key, &id).await;
    assert_eq!(v["status"], "Active", "{v}");
    for (field, want) in [
        ("width", json!(1280)),
        ("height", json!(720)),
        ("durationMs", json!(3000)),
        ("fps", json!(30.0)),
        ("videoCodec", json!("h264")),
        ("audioCodec", json!("aac")),
    ] {
        assert_eq!(v[field], want, "{field} in {v}");
    }

    let url = origin.put("tone.wav", read("a-3s.wav"), "audio/wav");
    let id = app.upload_ok(&key, "Audio", &url).await;
    let a = app.wait_settled(&key, &id).await;
    assert_eq!(
        (
            a["durationMs"].clone(),
            a["sampleRate"].clone(),
            a["channels"].clone(),
            a["audioCodec"].clone()
        ),
        (json!(3000), json!(44100), json!(1), json!("pcm_s16le")),
        "{a}"
    );

    let url = origin.put("slow.mp4", read("v-15fps.mp4"), "video/mp4");
    let id = app.upload_ok(&key, "Video", &url).await;
    let slow = app.wait_settled(&key, &id).await;
    assert_eq!(slow["failure"]["code"], "video-fps");
    assert_eq!(slow["failure"]["message"], "video is 15 fps; allowed 24–60");
    let (_, kyy) = app.get(&key, &format!("{KYY}/{id}")).await;
    assert_eq!(kyy["msg"], "video is 15 fps; allowed 24–60");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_switch_admits_1080p() {
    let corpus_dir = tokio::task::spawn_blocking(|| corpus::dir().to_path_buf())
        .await
        .expect("corpus built");
    assert!(corpus_dir.exists());
    let app = crate::common::spawn_app_with(
        |c| c.limits.video_rules.allow_1080p = true,
        std::sync::Arc::new(assetlib::fetch::SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("hd").await;
    let url = origin.put("hd.mp4", corpus::read("v-1080p.mp4"), "video/mp4");
    let id = app.upload_ok(&key, "Video", &url).await;
    let body = app.wait_settled(&key, &id).await;
    assert_eq!(body["status"], "Active", "{body}");
    assert_eq!(
        (body["width"].clone(), body["height"].clone()),
        (json!(1920), json!(1080))
    );
}
