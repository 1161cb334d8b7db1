//! The web console in a real browser (headless Chromium through chromedriver): sign in with a
//! key, upload by URL and see it become Active, open its details, review held photos with their
//! faces boxed where the API says they are (approve one, reject one with a reason), manage keys
//! as an admin, and a phone-width page without sideways scrolling. With
//! `ASSETLIB_CONSOLE_SCREENSHOTS=DIR` (scripts/console-screenshots.sh) each page is saved there.

use std::path::PathBuf;
use std::time::Duration;

use assetlib_test_support::opt_in;
use assetlib_test_support::webdriver::Driver;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Origin, TestApp, media, spawn_app};

pub async fn shot(driver: &Driver, name: &str) {
    let Some(dir) = std::env::var_os("ASSETLIB_CONSOLE_SCREENSHOTS") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    // Let lazy images and fonts settle before the picture.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let png = driver.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

async fn sign_in(driver: &Driver, app: &TestApp, key: &str) {
    driver
        .goto(&format!("{}/console", app.base))
        .await
        .expect("open");
    let field = driver.find("#signin-key").await.expect("sign-in form");
    driver.type_into(&field, key).await.expect("type");
    let submit = driver
        .find("#signin-form button[type=submit]")
        .await
        .expect("button");
    driver.click(&submit).await.expect("sign in");
    driver.find("#sign-out").await.expect("signed in");
}

async fn sign_out(driver: &Driver) {
    let button = driver.find("#sign-out").await.expect("sign-out");
    driver.click(&button).await.expect("sign out");
    driver.find("#signin-key").await.expect("signed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_in_uploads_reviews_and_manages_keys() {
    let Some(browser) =
        opt_in::browser("console::the_console_signs_in_uploads_reviews_and_manages_keys")
    else {
        return;
    };
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;

    // Two photos with faces, held for review (uploaded through the API).
    let mut held = Vec::new();
    for (name, kind) in [
        ("astronaut.png", "image/png"),
        ("grace_hopper.jpg", "image/jpeg"),
    ] {
        let url = origin.put(name, media::photo(name), kind);
        let id = app.upload_ok(&key, "Image", &url).await;
        let settled = app.wait_settled(&key, &id).await;
        assert_eq!(settled["status"], "PendingReview", "{settled}");
        held.push(id);
    }

    // And a video of a face: its checked frames are shown, each with its boxes.
    let picture = image::load_from_memory(&media::photo("astronaut.png"))
        .expect("decode")
        .resize_exact(720, 720, image::imageops::FilterType::CatmullRom)
        .into_rgb8();
    let clip = assetlib_test_support::media::Clip::new(720, 720, 24, 3)
        .keyframe_every(24)
        .still(picture.as_raw())
        .expect("an H.264 clip");
    let url = origin.put("face.mp4", clip, "video/mp4");
    let video = app.upload_ok(&key, "Video", &url).await;
    let settled = app.wait_settled(&key, &video).await;
    assert_eq!(settled["status"], "PendingReview", "{settled}");
    held.push(video);

    let driver = Driver::start(&browser).await.expect("a browser session");

    // The key never reaches the page's storage; a session cookie stands in for it.
    sign_in(&driver, &app, &key).await;
    let stored = driver
        .execute(
            "return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie",
            vec![],
        )
        .await
        .expect("storage");
    assert!(
        !stored.as_str().unwrap_or_default().contains(&key),
        "the key is not kept in the browser: {stored}"
    );
    let review_link = driver.find_all("#nav-review").await.expect("nav");
    assert!(
        !driver.displayed(&review_link[0]).await.expect("shown"),
        "a tenant does not see the review queue"
    );

    // Upload by URL: the card turns Active.
    let url = origin.put("poster.png", media::png(640, 480), "image/png");
    let field = driver.find("#upload-url").await.expect("url field");
    driver.type_into(&field, &url).await.expect("type");
    let name = driver.find("#upload-name").await.expect("name field");
    driver.type_into(&name, "Poster").await.expect("type");
    let upload = driver
        .find("#upload-form button[type=submit]")
        .await
        .expect("upload button");
    driver.click(&upload).await.expect("upload");
    let active = driver
        .wait_for("#grid li[data-status=\"Active\"]", Duration::from_secs(30))
        .await
        .expect("the upload becomes Active");
    let label = driver.text(&active).await.expect("card text");
    assert!(
        label.contains("Poster") && label.contains("Active"),
        "{label}"
    );
    shot(&driver, "library-upload").await;
    let open = driver
        .find("#grid li[data-status=\"Active\"] button")
        .await
        .expect("card button");
    driver.click(&open).await.expect("open");
    let detail = driver.find("#detail dl").await.expect("details");
    let facts = driver.text(&detail).await.expect("facts");
    assert!(
        facts.contains("640 × 480") && facts.contains("SHA-256"),
        "{facts}"
    );
    shot(&driver, "details").await;
    sign_out(&driver).await;
    shot(&driver, "sign-in").await;

    // The review queue as an admin: boxes where the API puts the faces.
    sign_in(&driver, &app, &app.admin_key).await;
    let (status, queue) = app.get(&app.admin_key, "/v1/reviews").await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let first = queue["items"][0].clone();
    assert_eq!(first["assetId"], json!(held[0]), "oldest first");
    let review = driver.find("#nav-review").await.expect("queue link");
    driver.click(&review).await.expect("open the queue");
    driver.find("#review-item").await.expect("an item");
    driver
        .wait_until(
            "const i = document.getElementById('review-image'); return i.complete && i.naturalWidth > 0;",
            Duration::from_secs(10),
        )
        .await
        .expect("the preview loads");
    let drawn = driver
        .execute(
            "const img = document.getElementById('review-image').getBoundingClientRect();
             return [...document.querySelectorAll('#review-boxes .face-box')].map(b => {
               const r = b.getBoundingClientRect();
               return [(r.left - img.left) / img.width, (r.top - img.top) / img.height,
                       r.width / img.width, r.height / img.height];
             });",
            vec![],
        )
        .await
        .expect("boxes");
    let faces = first["faces"].as_array().expect("faces");
    let drawn = drawn.as_array().expect("drawn boxes");
    assert!(!faces.is_empty());
    assert_eq!(drawn.len(), faces.len(), "one box per face");
    let (w, h) = (
        first["imageWidth"].as_f64().expect("width"),
        first["imageHeight"].as_f64().expect("height"),
    );
    for (face, box_) in faces.iter().zip(drawn) {
        let want = [
            face["x"].as_f64().unwrap_or_default() / w,
            face["y"].as_f64().unwrap_or_default() / h,
            face["width"].as_f64().unwrap_or_default() / w,
            face["height"].as_f64().unwrap_or_default() / h,
        ];
        for (got, want) in box_.as_array().expect("four numbers").iter().zip(want) {
            let got = got.as_f64().expect("number");
            assert!((got - want).abs() < 0.02, "box {box_} vs face {face}");
        }
    }
    shot(&driver, "review").await;

    // Approve the first with the keyboard, reject the second with a reason.
    driver.press("a").await.expect("approve");
    driver
        .wait_until(
            "return document.getElementById('review-counts').textContent.startsWith('2 waiting');",
            Duration::from_secs(10),
        )
        .await
        .expect("one left");
    let text = driver.find("#reject-text").await.expect("reason");
    driver
        .type_into(&text, "no release on file")
        .await
        .expect("type");
    // No reason chosen: nothing is rejected (no silent default).
    let reject = driver.find("#reject").await.expect("reject button");
    driver.click(&reject).await.expect("reject");
    driver
        .wait_until(
            "return document.getElementById('review-error').textContent.includes('Choose a reason');",
            Duration::from_secs(10),
        )
        .await
        .expect("a reason is asked for");
    driver
        .execute(
            "const s = document.getElementById('reject-preset'); s.value = s.options[1].value;",
            vec![],
        )
        .await
        .expect("choose the reason");
    driver.click(&reject).await.expect("reject");

    // The video: its poster and each other checked frame, boxed per frame.
    driver
        .wait_until(
            "return document.getElementById('review-counts').textContent.startsWith('1 waiting');",
            Duration::from_secs(10),
        )
        .await
        .expect("the video left");
    let (_, queue) = app.get(&app.admin_key, "/v1/reviews").await;
    let item = queue["items"][0].clone();
    assert_eq!(item["assetId"], json!(held[2]), "{queue}");
    let frames = item["frameUrls"].as_array().map_or(0, Vec::len);
    assert!(frames >= 2, "{item}");
    driver
        .wait_until(
            &format!(
                "return document.querySelectorAll('#review-frames button').length === {frames};"
            ),
            Duration::from_secs(10),
        )
        .await
        .expect("the frames");
    for n in 0..frames {
        let pick = driver
            .find(&format!("#review-frames button[data-frame=\"{n}\"]"))
            .await
            .expect("a frame");
        driver.click(&pick).await.expect("show the frame");
        // At the video's own size (720×720), not the preview's.
        driver
            .wait_until(
                &format!(
                    "const i = document.getElementById('review-image');
                     return i.complete && i.getAttribute('src').endsWith('/frames/{n}')
                       && i.naturalWidth === 720 && i.naturalHeight === 720;"
                ),
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|e| panic!("frame {n} at full size: {e}"));
        let want = item["faces"]
            .as_array()
            .expect("faces")
            .iter()
            .filter(|f| f["frame"].as_u64().unwrap_or(0) == n as u64)
            .count();
        let drawn = driver
            .execute(
                "return document.querySelectorAll('#review-boxes .face-box').length;",
                vec![],
            )
            .await
            .expect("boxes");
        assert_eq!(drawn.as_u64(), Some(want as u64), "frame {n}");
    }
    shot(&driver, "review-video").await;
    let approve = driver.find("#approve").await.expect("approve");
    driver.click(&approve).await.expect("approve the video");
    driver
        .find("#review-empty")
        .await
        .expect("the queue is empty");
    let video = app.wait_settled(&key, &held[2]).await;
    assert_eq!(video["status"], "Active", "{video}");
    let approved = app.wait_settled(&key, &held[0]).await;
    assert_eq!(approved["status"], "Active", "{approved}");
    let rejected = app.wait_settled(&key, &held[1]).await;
    assert_eq!(rejected["status"], "Failed", "{rejected}");
    assert_eq!(rejected["failure"]["code"], "review-rejected");
    let reason = rejected["failure"]["message"].as_str().unwrap_or_default();
    assert!(
        reason.contains("Shows a real person's face") && reason.contains("no release on file"),
        "{reason}"
    );

    // Keys: create one (shown once), then it is listed.
    let keys = driver.find("#nav-keys").await.expect("keys link");
    driver.click(&keys).await.expect("open keys");
    let tenant = driver.find("#key-tenant").await.expect("tenant field");
    driver.type_into(&tenant, "newcomer").await.expect("type");
    let create = driver
        .find("#key-form button[type=submit]")
        .await
        .expect("create");
    driver.click(&create).await.expect("create");
    let secret = driver.find("#key-secret").await.expect("the new key");
    let secret = driver.text(&secret).await.expect("text");
    assert!(secret.starts_with("alk_"), "{secret}");
    driver
        .wait_until(
            "return [...document.querySelectorAll('#key-rows td')].some(td => td.textContent === 'newcomer');",
            Duration::from_secs(10),
        )
        .await
        .expect("listed");
    shot(&driver, "keys").await;
    let (status, _) = app.get(&secret, "/v1/assets").await;
    assert_eq!(status, StatusCode::OK, "the new key works");

    // A phone-width screen: no sideways scrolling.
    driver.set_window_size(390, 844).await.expect("resize");
    sign_out(&driver).await;
    sign_in(&driver, &app, &key).await;
    driver.find("#grid li").await.expect("cards");
    let fits: Value = driver
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .expect("width");
    assert_eq!(fits, Value::Bool(true), "fits a phone-width screen");
    shot(&driver, "library-phone").await;
    driver.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_sessions_are_cookies_that_need_the_console_header_to_change_anything() {
    let app = spawn_app().await;
    let key = app.create_key("studio").await;
    let client = reqwest::Client::new();
    let base = &app.base;

    // The page and its files, revalidated by ETag.
    let page = client
        .get(format!("{base}/console"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let etag = page.headers()["etag"].clone();
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("<title>assetlib console</title>")
    );
    let again = client
        .get(format!("{base}/console"))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("page");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Sign-in comes from the console only (login CSRF); a wrong key opens nothing.
    let forged = client
        .post(format!("{base}/console/session"))
        .json(&json!({"key": key}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.headers().get("set-cookie").is_none());
    let refused = client
        .post(format!("{base}/console/session"))
        .header("x-assetlib-console", "1")
        .json(&json!({"key": "alk_wrong"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().get("set-cookie").is_none());

    let signed = client
        .post(format!("{base}/console/session"))
        .header("x-assetlib-console", "1")
        .json(&json!({"key": key}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed.status(), StatusCode::OK);
    let set = signed.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    for part in [
        "assetlib_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=",
    ] {
        assert!(set.contains(part), "{part} in {set}");
    }
    assert!(!set.contains(&key), "the cookie does not carry the key");
    assert!(!set.contains("Secure"), "plain http here");
    let who: Value = signed.json().await.expect("json");
    assert_eq!(who["tenant"], "studio");
    let cookie = set.split(';').next().expect("pair").to_owned();

    // Reads work with the cookie; a change needs the console's header (CSRF).
    let read = client
        .get(format!("{base}/v1/assets"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("list");
    assert_eq!(read.status(), StatusCode::OK);
    let body = json!({"name": "g"});
    let forged = client
        .post(format!("{base}/v1/groups"))
        .header("cookie", &cookie)
        .json(&body)
        .send()
        .await
        .expect("create");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let ours = client
        .post(format!("{base}/v1/groups"))
        .header("cookie", &cookie)
        .header("x-assetlib-console", "1")
        .json(&body)
        .send()
        .await
        .expect("create");
    assert_eq!(ours.status(), StatusCode::CREATED);

    // A tampered cookie, and the session of a revoked key, are refused.
    let tampered = cookie.replace("v2.", "v2.0");
    let refused = client
        .get(format!("{base}/v1/assets"))
        .header("cookie", &tampered)
        .send()
        .await
        .expect("list");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let who: Value = client
        .get(format!("{base}/console/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("who")
        .json()
        .await
        .expect("json");
    let key_id = who["keyId"].as_str().expect("key id").to_owned();
    let (status, _) = app
        .delete(&app.admin_key, &format!("/v1/keys/{key_id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let ended = client
        .get(format!("{base}/v1/assets"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("list");
    assert_eq!(
        ended.status(),
        StatusCode::UNAUTHORIZED,
        "a revoked key ends its sessions"
    );

    // Signing out clears the cookie.
    let out = client
        .delete(format!("{base}/console/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );

    // Keys are an admin's: a tenant key is refused.
    let (status, _) = app.get(&key, "/v1/keys").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    let other = app.create_key("studio").await;
    let (status, refused) = app.get(&other, "/v1/keys").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
}

/// Signs in with `key` over HTTP as the console does; the `name=value` of its cookie.
async fn session_cookie(app: &TestApp, key: &str) -> String {
    let signed = app
        .client
        .post(format!("{}/console/session", app.base))
        .header("x-assetlib-console", "1")
        .json(&json!({"key": key}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed.status(), StatusCode::OK);
    let set = signed.headers()["set-cookie"].to_str().expect("ascii");
    set.split(';').next().expect("pair").to_owned()
}

async fn with_cookie(app: &TestApp, cookie: &str, path: &str) -> StatusCode {
    app.client
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("sent")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_that_session_on_the_server() {
    let app = spawn_app().await;
    let key = app.create_key("studio").await;
    let kept = session_cookie(&app, &key).await;
    let ended = session_cookie(&app, &key).await;
    assert_ne!(kept, ended, "each sign-in is a session of its own");
    for cookie in [&kept, &ended] {
        assert_eq!(
            with_cookie(&app, cookie, "/v1/assets").await,
            StatusCode::OK
        );
    }

    let out = app
        .client
        .delete(format!("{}/console/session", app.base))
        .header("cookie", &ended)
        .header("x-assetlib-console", "1")
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);

    // The old cookie's value, replayed after sign-out, is refused everywhere.
    for path in ["/v1/assets", "/console/session"] {
        assert_eq!(
            with_cookie(&app, &ended, path).await,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let refused: Value = app
        .client
        .get(format!("{}/v1/assets", app.base))
        .header("cookie", &ended)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(refused["error"]["code"], "unauthorized", "{refused}");
    // The key's other session, and the key itself, still work.
    assert_eq!(with_cookie(&app, &kept, "/v1/assets").await, StatusCode::OK);
    let (status, _) = app.get(&key, "/v1/assets").await;
    assert_eq!(status, StatusCode::OK);
    // Signing out again, or with a forged value, is harmless.
    for cookie in [ended.as_str(), "assetlib_session=v2.x.y.1.z"] {
        let again = app
            .client
            .delete(format!("{}/console/session", app.base))
            .header("cookie", cookie)
            .send()
            .await
            .expect("sign out");
        assert_eq!(again.status(), StatusCode::NO_CONTENT, "{cookie}");
    }
    assert_eq!(with_cookie(&app, &kept, "/v1/assets").await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_page_and_its_files_send_security_headers() {
    let app = spawn_app().await;
    for path in ["/console", "/console/app.js", "/console/app.css"] {
        let resp = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let h = resp.headers();
        let get = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = get("content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} in {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(get("x-frame-options"), "DENY", "{path}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(get("referrer-policy"), "same-origin", "{path}");
    }
}
