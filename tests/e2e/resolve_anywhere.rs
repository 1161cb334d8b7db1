//! `asset://` anywhere in a task (content[] items, snake_case arrays, legacy fields, unknown
//! fields), counts across places, and the per-model shape rules of the configuration file.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Origin, TestApp, media, spawn_app, spawn_app_with};
use crate::corpus;
use crate::resolve::active;

/// `(field, code)` of every violation of a refused task.
async fn refused(app: &TestApp, key: &str, task: &Value) -> Vec<(String, String)> {
    let (status, out) = app.post(key, "/v1/resolve", task).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{task} → {out}");
    assert_eq!(out["error"]["code"], "invalid-references", "{out}");
    out["error"]["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            let field = v["field"].as_str().expect("field").to_owned();
            (field, v["code"].as_str().expect("code").to_owned())
        })
        .collect()
}

async fn accepted(app: &TestApp, key: &str, task: &Value) -> Value {
    let (status, out) = app.post(key, "/v1/resolve", task).await;
    assert_eq!(status, StatusCode::OK, "{task} → {out}");
    out
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect()
}

/// The string at a JSON pointer is a signed content URL of this asset.
fn signed(out: &Value, pointer: &str, id: &str) {
    let url = out.pointer(pointer).and_then(Value::as_str);
    assert!(
        url.is_some_and(|u| u.contains(&format!("/content/{id}?exp="))),
        "{pointer} of {out}"
    );
}

struct Library {
    image: String,
    image2: String,
    video: String,
    video2: String,
    audio: String,
}

async fn library(app: &TestApp, origin: &Origin, key: &str) -> Library {
    let (v1, v2, a) = tokio::task::spawn_blocking(|| {
        (
            corpus::read("v-720p-h264-aac.mp4"),
            corpus::read("v-720x1280-portrait.mp4"),
            corpus::read("a-3s.wav"),
        )
    })
    .await
    .expect("corpus");
    Library {
        image: active(app, origin, key, "Image", "a.png", media::png(400, 400)).await,
        image2: active(app, origin, key, "Image", "b.png", media::png(500, 400)).await,
        video: active(app, origin, key, "Video", "v.mp4", v1).await,
        video2: active(app, origin, key, "Video", "w.mp4", v2).await,
        audio: active(app, origin, key, "Audio", "a.wav", a).await,
    }
}

fn a(id: &str) -> String {
    format!("asset://{id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asset_references_anywhere_are_resolved_or_reported() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("maker").await;
    let lib = library(&app, &origin, &key).await;

    // content[] items of each type, with roles; text and other fields untouched.
    let task = json!({
        "model": "seedance-2.0",
        "content": [
            {"type": "text", "text": "a cat"},
            {"type": "image_url", "image_url": {"url": a(&lib.image)}, "role": "reference_image"},
            {"type": "image_url", "image_url": {"url": format!("assetId://{}", lib.image2)}, "role": "first_frame"},
            {"type": "video_url", "video_url": {"url": a(&lib.video)}, "role": "reference_video"},
            {"type": "audio_url", "audio_url": {"url": a(&lib.audio)}, "role": "reference_audio"},
            {"type": "image_url", "image_url": {"url": "https://cdn.example.com/x.png"}},
        ],
    });
    let out = accepted(&app, &key, &task).await;
    assert_eq!(out["content"][0], task["content"][0]);
    assert_eq!(out["content"][1]["role"], "reference_image");
    signed(&out, "/content/1/image_url/url", &lib.image);
    signed(&out, "/content/2/image_url/url", &lib.image2);
    signed(&out, "/content/3/video_url/url", &lib.video);
    signed(&out, "/content/4/audio_url/url", &lib.audio);
    assert_eq!(out["content"][5], task["content"][5]);

    // The type comes from the item's key.
    let item = |kind: &str, id: &str| json!({"type": kind, kind: {"url": a(id)}});
    let task = json!({"content": [
        item("image_url", &lib.video),
        item("video_url", &lib.audio),
        item("audio_url", &lib.image),
    ]});
    assert_eq!(
        refused(&app, &key, &task).await,
        pairs(&[
            ("content[0].image_url.url", "asset-type-mismatch"),
            ("content[1].video_url.url", "asset-type-mismatch"),
            ("content[2].audio_url.url", "asset-type-mismatch"),
        ])
    );

    // snake_case arrays and the legacy image/lastFrameImage fields.
    let task = json!({
        "image": a(&lib.image), "lastFrameImage": format!("assetId://{}", lib.image2),
        "reference_images": [a(&lib.image2)], "reference_videos": [a(&lib.video)],
        "reference_audios": [a(&lib.audio)],
    });
    let out = accepted(&app, &key, &task).await;
    signed(&out, "/image", &lib.image);
    signed(&out, "/lastFrameImage", &lib.image2);
    signed(&out, "/reference_images/0", &lib.image2);
    signed(&out, "/reference_videos/0", &lib.video);
    signed(&out, "/reference_audios/0", &lib.audio);
    let task = json!({
        "image": a(&lib.image), "lastFrameImage": a(&lib.video),
        "reference_audios": [a(&lib.image)], "reference_videos": [a(&lib.audio)],
    });
    assert_eq!(
        refused(&app, &key, &task).await,
        pairs(&[
            ("lastFrameImage", "asset-type-mismatch"),
            ("reference_audios[0]", "asset-type-mismatch"),
            ("reference_videos[0]", "asset-type-mismatch"),
        ])
    );

    // Unknown fields: any Active asset of the caller resolves; anything else is reported.
    let task = json!({"extra": {"deep": [a(&lib.video), {"ref": format!("assetId://{}", lib.audio)}]}, "note": "asset: not a reference"});
    let out = accepted(&app, &key, &task).await;
    signed(&out, "/extra/deep/0", &lib.video);
    signed(&out, "/extra/deep/1/ref", &lib.audio);
    assert_eq!(out["note"], task["note"]);
    let task =
        json!({"metadata": {"refs": ["asset://asset-123", a("asset-20200101000000-zzzzz")]}});
    assert_eq!(
        refused(&app, &key, &task).await,
        pairs(&[
            ("metadata.refs[0]", "reference-malformed"),
            ("metadata.refs[1]", "asset-not-found"),
        ])
    );

    // Counts apply across every place a task carries references.
    let url = "https://cdn.example.com/r.png";
    let image_item = json!({"type": "image_url", "image_url": {"url": url}});
    let video_item =
        json!({"type": "video_url", "video_url": {"url": "https://cdn.example.com/v.mp4"}});
    let task = json!({
        "content": [image_item, image_item, video_item, video_item],
        "referenceImages": [url, url, url, url, url],
        "reference_images": [url, url, url],
        "referenceVideos": ["https://cdn.example.com/v.mp4", a(&lib.video)],
    });
    assert_eq!(
        refused(&app, &key, &task).await,
        pairs(&[
            ("reference_images", "too-many-references"),
            ("referenceVideos", "too-many-references"),
        ])
    );
    let task = json!({
        "content": [image_item, image_item, video_item],
        "referenceImages": [url, url, url, url, url],
        "reference_images": [url, url],
        "referenceVideos": ["https://cdn.example.com/v.mp4", a(&lib.video)],
    });
    accepted(&app, &key, &task).await;

    // First and last frames with reference arrays: the upstream takes them, so do we.
    let task = json!({
        "model": "seedance-2.0", "prompt": "p",
        "first_image": a(&lib.image), "last_image": "https://cdn.example.com/l.png",
        "referenceImages": [a(&lib.image2)], "referenceAudios": [a(&lib.audio)],
    });
    let out = accepted(&app, &key, &task).await;
    signed(&out, "/first_image", &lib.image);
    signed(&out, "/referenceAudios/0", &lib.audio);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_shape_rules_come_from_the_model_profile() {
    let file = assetlib::config::file_from_toml(
        r#"
[tasks.models."seedance-2.0-lite"]
frames_with_references = true
max_reference_duration_ms = 4000
required = ["prompt"]

[tasks.models."free-form"]
last_without_first = false
"#,
    )
    .expect("a valid configuration file");
    let app = spawn_app_with(
        move |c| c.tasks = file.tasks,
        std::sync::Arc::new(assetlib::fetch::SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("maker").await;
    let lib = library(&app, &origin, &key).await;

    let frames_and_refs = |model: &str| {
        json!({
            "model": model,
            "first_image": a(&lib.image), "last_image": a(&lib.image2),
            "referenceImages": [a(&lib.image2)],
        })
    };
    accepted(&app, &key, &frames_and_refs("seedance-2.0")).await;
    accepted(
        &app,
        &key,
        &json!({"first_image": a(&lib.image), "referenceImages": [a(&lib.image2)]}),
    )
    .await;
    assert_eq!(
        refused(&app, &key, &frames_and_refs("seedance-2.0-lite")).await,
        pairs(&[
            ("prompt", "missing-field"),
            ("first_image", "frames-with-references"),
        ])
    );
    // content[] frames count as frames, and its reference items as references.
    let task = json!({"model": "seedance-2.0-lite", "prompt": "p", "content": [
        {"type": "image_url", "image_url": {"url": a(&lib.image)}, "role": "first_frame"},
        {"type": "audio_url", "audio_url": {"url": a(&lib.audio)}, "role": "reference_audio"},
    ]});
    assert_eq!(
        refused(&app, &key, &task).await,
        pairs(&[("content[0].image_url.url", "frames-with-references")])
    );

    // Total duration of reference videos (3 s + 2 s > 4 s) under the lite profile only.
    let videos = |model: &str| {
        json!({"model": model, "prompt": "p",
            "referenceVideos": [a(&lib.video)],
            "content": [{"type": "video_url", "video_url": {"url": a(&lib.video2)}}]})
    };
    assert_eq!(
        refused(&app, &key, &videos("seedance-2.0-lite")).await,
        pairs(&[("referenceVideos", "reference-duration")])
    );
    accepted(&app, &key, &videos("seedance-2.0")).await;

    // last without first: on by default, off for the model that allows it.
    let last_only = |model: &str| {
        json!({"model": model, "content": [
            {"type": "image_url", "image_url": {"url": a(&lib.image)}, "role": "last_frame"}]})
    };
    assert_eq!(
        refused(&app, &key, &last_only("seedance-2.0")).await,
        pairs(&[("content[0].image_url.url", "last-without-first")])
    );
    accepted(&app, &key, &last_only("free-form")).await;
}
