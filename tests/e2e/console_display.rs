//! What the console shows, checked in a real browser at a desktop size (1280×800) and a phone
//! size (390×844): what is displayed and where it is on screen after each action, not only what
//! is in the page. Every page is checked with axe-core (vendored in `tests/fixtures/axe`, injected
//! through WebDriver; the server never serves it) and must have no violation.

use std::time::Duration;

use assetlib_test_support::opt_in;
use assetlib_test_support::webdriver::{Driver, Element};
use serde_json::{Value, json};

use crate::common::{Origin, TestApp, media, spawn_app};

const AXE: &str = include_str!("../fixtures/axe/axe.min.js");

pub const DESKTOP: (u32, u32) = (1280, 800);
pub const PHONE: (u32, u32) = (390, 844);

/// The axe-core violations on the page as it is now (after injecting axe when it is not there
/// yet): one line per rule and node, empty when there is none.
pub async fn axe_violations(driver: &Driver) -> Vec<String> {
    let present = driver
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .expect("script");
    if present != Value::Bool(true) {
        driver
            .execute(&format!("{AXE}\nreturn true;"), vec![])
            .await
            .expect("inject axe-core");
    }
    let found = driver
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then((r) => done(r.violations.flatMap((v) => v.nodes.map((n) =>
                 `${v.id} (${v.impact}): ${v.help} at ${n.target.join(' ')}: ${n.failureSummary}`))))
               .catch((e) => done([`axe failed: ${e}`]));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Fails the test with every violation axe-core finds on the page now.
pub async fn assert_accessible(driver: &Driver, page: &str) {
    let violations = axe_violations(driver).await;
    assert!(
        violations.is_empty(),
        "{page}: axe-core found {} violation(s):\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// Whether the element matching `css` is on screen now: displayed, not empty, inside the
/// viewport left to right with its top edge in view, and the topmost thing at a point inside
/// it (nothing covers it).
pub async fn on_screen(driver: &Driver, css: &str) -> Value {
    driver
        .execute(
            "const e = document.querySelector(arguments[0]);
             if (!e) return 'absent';
             const r = e.getBoundingClientRect();
             if (r.width === 0 || r.height === 0) return `not displayed (${r.width}×${r.height})`;
             if (r.left < -1 || r.right > window.innerWidth + 1)
               return `cut off sideways: ${r.left}..${r.right} of ${window.innerWidth}`;
             if (r.top < -1 || r.top >= window.innerHeight)
               return `off screen: top ${r.top} of ${window.innerHeight}`;
             const x = r.left + Math.min(r.width / 2, 10);
             const y = r.top + Math.min(r.height / 2, 10);
             const hit = document.elementFromPoint(x, y);
             if (!hit || !(e === hit || e.contains(hit)))
               return `covered by ${hit ? hit.outerHTML.slice(0, 80) : 'nothing'}`;
             return true;",
            vec![json!(css)],
        )
        .await
        .expect("script")
}

pub async fn assert_on_screen(driver: &Driver, css: &str, what: &str) {
    let seen = on_screen(driver, css).await;
    assert_eq!(seen, Value::Bool(true), "{what} ({css}) is on screen");
}

/// Whether the first element matching `css` is displayed (WebDriver's own test); false when
/// there is none.
pub async fn shown(driver: &Driver, css: &str) -> bool {
    let found: Vec<Element> = driver.find_all(css).await.expect("find");
    match found.first() {
        Some(e) => driver.displayed(e).await.expect("displayed"),
        None => false,
    }
}

/// Opens the console at a size, signed out.
pub async fn open_at(driver: &Driver, app: &TestApp, size: (u32, u32)) {
    driver
        .set_viewport_size(size.0, size.1)
        .await
        .expect("resize");
    driver
        .goto(&format!("{}/console", app.base))
        .await
        .expect("open");
    driver.find("#signin-key").await.expect("the sign-in form");
}

pub async fn sign_in_as(driver: &Driver, key: &str) {
    let field = driver.find("#signin-key").await.expect("sign-in form");
    driver.type_into(&field, key).await.expect("type");
    let submit = driver
        .find("#signin-form button[type=submit]")
        .await
        .expect("button");
    driver.click(&submit).await.expect("sign in");
    driver.find("#sign-out").await.expect("signed in");
}

pub async fn sign_out(driver: &Driver) {
    let button = driver.find("#sign-out").await.expect("sign-out");
    driver.click(&button).await.expect("sign out");
    driver.find("#signin-key").await.expect("signed out");
}

pub async fn go(driver: &Driver, page: &str) {
    driver
        .execute(&format!("location.hash = '#{page}';"), vec![])
        .await
        .expect("navigate");
    driver
        .find(&format!("#{page}"))
        .await
        .unwrap_or_else(|e| panic!("the {page} page: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_what_applies_in_view_and_accessibly_at_desktop_and_phone_sizes() {
    let Some(browser) = opt_in::browser(
        "console_display::the_console_shows_what_applies_in_view_and_accessibly_at_desktop_and_phone_sizes",
    ) else {
        return;
    };
    let app = spawn_app().await;
    let origin = Origin::start().await;
    // A library long enough that the last card is far down a phone's page.
    for n in 0..10u32 {
        let url = origin.put(&format!("p{n}.png"), media::png(640 + n, 480), "image/png");
        let id = app.upload_ok(&app.admin_key, "Image", &url).await;
        app.wait_settled(&app.admin_key, &id).await;
    }
    let studio = app.create_key("studio").await;
    let driver = Driver::start(&browser).await.expect("a browser session");

    for size in [DESKTOP, PHONE] {
        let at = format!("{}×{}", size.0, size.1);
        open_at(&driver, &app, size).await;
        let inner = driver
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .expect("viewport");
        assert_eq!(inner, json!([size.0, size.1]), "the viewport at {at}");

        // Signed out: the form and nothing of a session.
        assert_on_screen(&driver, "#signin-key", "the key field").await;
        for hidden in ["#nav", "#sign-out", "#who", "#nav-keys", "#library"] {
            assert!(
                !shown(&driver, hidden).await,
                "{hidden} is not shown signed out at {at}"
            );
        }
        assert_accessible(&driver, &format!("sign-in at {at}")).await;

        // An admin's empty queue: its empty state, no image and no decision buttons.
        sign_in_as(&driver, &app.admin_key).await;
        go(&driver, "review").await;
        driver.find("#review-empty").await.expect("the empty state");
        for hidden in ["#review-item", "#review-image", "#approve", "#reject"] {
            assert!(
                !shown(&driver, hidden).await,
                "{hidden} is not shown for an empty queue at {at}"
            );
        }
        assert_accessible(&driver, &format!("empty review queue at {at}")).await;

        // The library: the last card's details open in view.
        go(&driver, "library").await;
        driver
            .wait_until(
                "return document.querySelectorAll('#grid li').length === 10;",
                Duration::from_secs(10),
            )
            .await
            .expect("ten cards");
        assert_accessible(&driver, &format!("library at {at}")).await;
        let last = driver
            .find("#grid li:last-child button")
            .await
            .expect("last card");
        driver.click(&last).await.expect("open the last card");
        driver.find("#detail dl").await.expect("details");
        assert_on_screen(&driver, "#detail h3", "the details' heading").await;
        assert_on_screen(&driver, "#detail dl", "the details' facts").await;
        assert_accessible(&driver, &format!("details at {at}")).await;
        assert_on_screen(&driver, "#detail-close", "the details' Close").await;
        if size == PHONE {
            // The sheet covers the whole screen: nothing of the grid shows below it.
            let covered = driver
                .execute(
                    "const r = document.getElementById('detail').getBoundingClientRect();
                     return r.top <= 0 && r.bottom >= window.innerHeight;",
                    vec![],
                )
                .await
                .expect("sheet");
            assert_eq!(covered, Value::Bool(true), "the sheet covers the screen");
        }
        if size == PHONE {
            crate::console::shot(&driver, "details-phone").await;
        }
        driver.press("\u{e00c}").await.expect("Escape");
        assert!(
            !shown(&driver, "#detail").await,
            "Escape closes the details at {at}"
        );

        // Keys: every Revoke button in reach; the signed-in key warns before it is revoked.
        go(&driver, "keys").await;
        driver
            .wait_until(
                "return document.querySelectorAll('#key-rows button').length >= 2;",
                Duration::from_secs(10),
            )
            .await
            .expect("the keys");
        let rows = driver
            .execute(
                "return [...document.querySelectorAll('#key-rows button')].length;",
                vec![],
            )
            .await
            .expect("rows");
        for n in 1..=rows.as_u64().unwrap_or(0) {
            let css = format!("#key-rows tr:nth-child({n}) button");
            driver
                .execute(
                    "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
                    vec![json!(css)],
                )
                .await
                .expect("scroll");
            assert_on_screen(&driver, &css, &format!("Revoke button {n} at {at}")).await;
        }
        let fits = driver
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await
            .expect("width");
        assert_eq!(fits, Value::Bool(true), "no sideways scrolling at {at}");
        let who = driver
            .execute(
                "return fetch('/console/session').then(r => r.json());",
                vec![],
            )
            .await
            .expect("who");
        let mine = who["keyId"].as_str().expect("key id").to_owned();
        let css = format!("#key-rows tr[data-key=\"{mine}\"] button");
        let revoke = driver.find(&css).await.expect("own key's Revoke");
        driver.click(&revoke).await.expect("arm");
        let warning = driver
            .find(&format!(
                "#key-rows tr[data-key=\"{mine}\"] .revoke-warning"
            ))
            .await
            .expect("a warning");
        let text = driver.text(&warning).await.expect("text");
        assert!(
            text.contains("signed in with") && text.contains("sign"),
            "{text}"
        );
        let other = driver
            .find(&format!("#key-rows tr:not([data-key=\"{mine}\"]) button"))
            .await
            .expect("another key");
        driver.click(&other).await.expect("arm another");
        let warnings = driver
            .execute(
                "return [...document.querySelectorAll('.revoke-warning')].filter(w => w.textContent).length;",
                vec![],
            )
            .await
            .expect("warnings");
        assert_eq!(warnings, json!(1), "only the signed-in key warns so");
        assert_accessible(&driver, &format!("keys at {at}")).await;

        // The tenant field's rule is a valid pattern in this browser, the server's rule.
        let checks = driver
            .execute(
                "const f = document.getElementById('key-tenant');
                 let valid = true;
                 try { new RegExp(f.pattern, 'v'); } catch { valid = false; }
                 const ok = (v) => { f.value = v; return f.checkValidity(); };
                 const r = [valid, ok('studio-1.a_b'), ok('bad tenant'), ok('a/b'), ok('x'.repeat(64))];
                 f.value = '';
                 return r;",
                vec![],
            )
            .await
            .expect("pattern");
        assert_eq!(checks, json!([true, true, false, false, true]), "at {at}");
        sign_out(&driver).await;
        assert!(
            !shown(&driver, "#who").await && !shown(&driver, "#nav").await,
            "nothing of the session is left after signing out at {at}"
        );
    }

    // A held photo: the review page shows it, its decisions in reach, at both sizes.
    let url = origin.put("astronaut.png", media::photo("astronaut.png"), "image/png");
    let held = app.upload_ok(&studio, "Image", &url).await;
    let settled = app.wait_settled(&studio, &held).await;
    assert_eq!(settled["status"], "PendingReview", "{settled}");
    for size in [DESKTOP, PHONE] {
        let at = format!("{}×{}", size.0, size.1);
        open_at(&driver, &app, size).await;
        sign_in_as(&driver, &app.admin_key).await;
        go(&driver, "review").await;
        driver.find("#review-item").await.expect("the held photo");
        driver
            .wait_until(
                "const i = document.getElementById('review-image'); return i.complete && i.naturalWidth > 0;",
                Duration::from_secs(10),
            )
            .await
            .expect("the image loads");
        assert!(!shown(&driver, "#review-empty").await, "at {at}");
        assert_on_screen(&driver, "#review-image", "the image").await;
        for button in ["#approve", "#reject"] {
            driver
                .execute(
                    "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
                    vec![json!(button)],
                )
                .await
                .expect("scroll");
            assert_on_screen(&driver, button, &format!("{button} at {at}")).await;
        }
        assert_accessible(&driver, &format!("review at {at}")).await;
        sign_out(&driver).await;
    }

    // A tenant's view at phone size, with a tenant's nav.
    open_at(&driver, &app, PHONE).await;
    sign_in_as(&driver, &studio).await;
    assert!(!shown(&driver, "#nav-review").await);
    assert!(!shown(&driver, "#nav-keys").await);
    driver
        .find("#grid li")
        .await
        .expect("the held photo's card");
    assert_accessible(&driver, "a tenant's library at the phone size").await;
    // A filter that matches nothing says so, and not "No assets yet.".
    let name = driver.find("#filter-name").await.expect("name filter");
    driver.type_into(&name, "zzz").await.expect("type");
    let end = driver.find("#grid-end").await.expect("the empty state");
    driver
        .wait_until(
            "return document.getElementById('grid-end').textContent.startsWith('No assets match name “zzz”');",
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}: {:?}", end));
    assert_accessible(&driver, "an empty filter at the phone size").await;
    driver.quit().await;
}
