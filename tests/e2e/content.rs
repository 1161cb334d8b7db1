//! The headers of content answers: every answer says `nosniff`; media (image, video, audio) is
//! shown inline, anything else — which a browser might render as active content on the
//! library's origin — is a sandboxed attachment. Type and ranges are as before.

use assetlib::domain::AssetId;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::common::{Origin, media, spawn_app};
use crate::resolve::active;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
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
        let state = app.server.as_ref().expect("running").state();
        let asset = state
            .repo
            .get_asset_any_tenant(&AssetId::parse(&id).expect("an id"))
            .await
            .expect("read")
            .expect("the asset");
        let signed = state.delivery.content_url(&asset).await.expect("signed");
        let owner = format!("{}/v1/assets/{id}/content", app.base);
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
