//! The headers of content answers: every answer says `nosniff`; media (image, video, audio) is
//! shown inline, anything else — which a browser might render as active content on the
//! library's origin — is a sandboxed attachment. Type and ranges are as before.

use assetlib::domain::AssetId;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::common::{Origin, TestApp, media, spawn_app};
use crate::resolve::active;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The owner's content route of asset `id` and a signed URL of it.
async fn content_urls(app: &TestApp, id: &str) -> (String, String) {
    let state = app.server.as_ref().expect("running").state();
    let asset = state
        .repo
        .get_asset_any_tenant(&AssetId::parse(id).expect("an id"))
        .await
        .expect("read")
        .expect("the asset");
    let signed = state.delivery.content_url(&asset).await.expect("signed");
    (format!("{}/v1/assets/{id}/content", app.base), signed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_answers_are_not_sniffed_and_documents_are_sandboxed_attachments() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("owner").await;
    let text = b"Notes <script>alert(document.cookie)</script>\n".to_vec();
    let cases = [
        ("Image", "p.png", media::png(640, 480), "image/png", false),
        ("Document", "d.pdf", media::pdf(), "application/pdf", true),
        ("Document", "t.txt", text, "text/plain; charset=utf-8", true),
    ];
    for (asset_type, name, bytes, content_type, attachment) in cases {
        let id = active(&app, &origin, &key, asset_type, name, bytes.clone()).await;
        let (owner, signed) = content_urls(&app, &id).await;
        for (url, bearer) in [(owner, true), (signed, false)] {
            for range in [None, Some("bytes=0-9")] {
                let mut req = app.client.get(&url);
                if bearer {
                    req = req.bearer_auth(&key);
                }
                if let Some(range) = range {
                    req = req.header("Range", range);
                }
                let resp = req.send().await.expect("sent");
                let what = format!("{name} {url} {range:?}");
                let want = if range.is_some() {
                    StatusCode::PARTIAL_CONTENT
                } else {
                    StatusCode::OK
                };
                assert_eq!(resp.status(), want, "{what}");
                let h = resp.headers().clone();
                assert_eq!(header(&h, "content-type"), Some(content_type), "{what}");
                assert_eq!(
                    header(&h, "x-content-type-options"),
                    Some("nosniff"),
                    "{what}"
                );
                if attachment {
                    let disposition = header(&h, "content-disposition").unwrap_or_default();
                    assert!(
                        disposition.starts_with("attachment"),
                        "{what}: {disposition}"
                    );
                    assert_eq!(
                        header(&h, "content-security-policy"),
                        Some("default-src 'none'; sandbox"),
                        "{what}"
                    );
                } else {
                    let disposition = header(&h, "content-disposition").unwrap_or("inline");
                    assert!(disposition.starts_with("inline"), "{what}: {disposition}");
                }
                let body = resp.bytes().await.expect("body");
                let expected = if range.is_some() {
                    &bytes[..10]
                } else {
                    &bytes[..]
                };
                assert_eq!(body.as_ref(), expected, "{what}");
            }
        }
    }
}

/// The node keeps recently sent blobs mapped, with their files open, and sends what the page
/// cache holds (`blob/mapped.rs`); the asset's row is still read on every request, so once it
/// is deleted neither its owner's route nor a signed URL made before sends the bytes it holds,
/// and another tenant never gets them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_bytes_are_not_sent_for_a_deleted_asset_or_to_another_tenant() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("owner").await;
    let other = app.create_key("other").await;
    let bytes = media::png(1200, 900);
    let id = active(&app, &origin, &key, "Image", "held.png", bytes.clone()).await;
    let (owner, signed) = content_urls(&app, &id).await;
    let read = |url: String, bearer: Option<String>| {
        let mut req = app.client.get(url);
        if let Some(bearer) = bearer {
            req = req.bearer_auth(bearer);
        }
        async move {
            let resp = req.send().await.expect("sent");
            (resp.status(), resp.bytes().await.expect("body"))
        }
    };
    // Twice each: the second answer at least comes from what the first left in memory.
    let from_memory = || async {
        let scrape = app
            .client
            .get(format!("{}/metrics", app.base))
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        chunks_from_memory(&scrape)
    };
    let before = from_memory().await;
    for _ in 0..2 {
        let (status, body) = read(owner.clone(), Some(key.clone())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.as_ref(), &bytes[..]);
        let (status, body) = read(signed.clone(), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.as_ref(), &bytes[..]);
    }
    assert!(
        from_memory().await >= before + 2,
        "the second answers were sent from memory"
    );
    let (status, _) = read(owner.clone(), Some(other.clone())).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant");
    let (status, _) = app.delete(&key, &format!("/v1/assets/{id}")).await;
    assert!(status.is_success(), "{status}");
    let (status, _) = read(owner, Some(key)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the owner's route after the delete"
    );
    let (status, body) = read(signed, None).await;
    assert!(
        status.is_client_error(),
        "a signed URL after the delete: {status}"
    );
    assert!(
        body.len() < bytes.len() / 2,
        "a signed URL after the delete sent the bytes"
    );
}

/// `assetlib_content_chunks_total{from="page-cache"}` in a scrape: windows of mapped files
/// sent from memory.
fn chunks_from_memory(scrape: &str) -> u64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix("assetlib_content_chunks_total{from=\"page-cache\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}
