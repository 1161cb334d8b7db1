//! What a newcomer meets first: `GET /` in a browser leads to the console, an API client gets
//! a small JSON index; the Volcengine face still answers on `/` when an action is named.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION};
use serde_json::Value;

use crate::common::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_leads_a_browser_to_the_console_and_a_client_to_the_index() {
    let app = spawn_app().await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // A browser's Accept: a redirect to the console, which answers its page.
    let page = http
        .get(format!("{}/", app.base))
        .header(
            ACCEPT,
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .send()
        .await
        .expect("root");
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[LOCATION], "/console");
    let console = http
        .get(format!("{}/console", app.base))
        .send()
        .await
        .expect("console");
    assert_eq!(console.status(), StatusCode::OK);

    // An API client (JSON asked for, or nothing said): the index, no key needed.
    for accept in [Some("application/json"), Some("*/*"), None] {
        let mut request = http.get(format!("{}/", app.base));
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        let answer = request.send().await.expect("root");
        assert_eq!(answer.status(), StatusCode::OK, "{accept:?}");
        let index: Value = answer.json().await.expect("json");
        assert_eq!(index["name"], "assetlib", "{index}");
        assert_eq!(index["version"], env!("CARGO_PKG_VERSION"), "{index}");
        for (link, path) in [
            ("console", "/console"),
            ("kyy", "/kyyReactApiServer"),
            ("v1", "/v1"),
            ("openapi", "/openapi.json"),
            ("docs", "/docs"),
            ("health", "/healthz"),
            ("ready", "/readyz"),
            ("metrics", "/metrics"),
        ] {
            assert_eq!(index["links"][link], path, "{index}");
        }
    }

    // With an action named, `/` is the Volcengine face (a bearer key works there too).
    let key = app.create_key("studio").await;
    let listed: Value = http
        .get(format!(
            "{}/?Action=ListAssets&Version=2024-01-01",
            app.base
        ))
        .bearer_auth(&key)
        .send()
        .await
        .expect("volc")
        .json()
        .await
        .expect("json");
    assert_eq!(
        listed["ResponseMetadata"]["Action"], "ListAssets",
        "{listed}"
    );
    assert!(listed["ResponseMetadata"]["Error"].is_null(), "{listed}");
    let unsigned: Value = http
        .get(format!(
            "{}/?Action=ListAssets&Version=2024-01-01",
            app.base
        ))
        .send()
        .await
        .expect("volc")
        .json()
        .await
        .expect("json");
    assert!(
        unsigned["ResponseMetadata"]["Error"]["Code"].is_string(),
        "{unsigned}"
    );
}
