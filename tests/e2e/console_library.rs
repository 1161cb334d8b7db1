//! The library page in a real browser: rename an asset and move it to a group, filter by the
//! group, delete it and restore it from the deleted view, finished uploads cleared, and an
//! admin switching to another tenant's library.

use std::time::Duration;

use assetlib_test_support::opt_in;
use assetlib_test_support::webdriver::Driver;
use serde_json::json;

use crate::common::{Origin, media, spawn_app};
use crate::console::shot;
use crate::console_display::{DESKTOP, assert_accessible, assert_on_screen, open_at, sign_in_as};

async fn set_select(driver: &Driver, id: &str, value: &str) {
    driver
        .execute(
            "const s = document.getElementById(arguments[0]); s.value = arguments[1];
             s.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![json!(id), json!(value)],
        )
        .await
        .expect("choose");
}

async fn cards(driver: &Driver) -> usize {
    driver
        .execute(
            "return document.querySelectorAll('#grid li').length;",
            vec![],
        )
        .await
        .expect("cards")
        .as_u64()
        .unwrap_or(0) as usize
}

async fn wait_cards(driver: &Driver, n: usize, what: &str) {
    let waited = driver
        .wait_until(
            &format!("return document.querySelectorAll('#grid li').length === {n};"),
            Duration::from_secs(10),
        )
        .await;
    if let Err(e) = waited {
        panic!("{what}: {e} ({} cards)", cards(driver).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_renames_files_in_groups_restores_and_switches_tenant() {
    let Some(browser) = opt_in::browser(
        "console_library::the_library_renames_files_in_groups_restores_and_switches_tenant",
    ) else {
        return;
    };
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let studio = app.create_key("studio").await;
    let mut ids = Vec::new();
    for n in 0..3u32 {
        let url = origin.put(&format!("s{n}.png"), media::png(600 + n, 400), "image/png");
        let id = app.upload_ok(&studio, "Image", &url).await;
        app.wait_settled(&studio, &id).await;
        ids.push(id);
    }
    let (_, group) = app
        .post(&studio, "/v1/groups", &json!({"name": "Posters"}))
        .await;
    let group_id = group["groupId"].as_str().expect("a group").to_owned();

    let driver = Driver::start(&browser).await.expect("a browser session");
    open_at(&driver, &app, DESKTOP).await;
    sign_in_as(&driver, &studio).await;
    wait_cards(&driver, 3, "three cards").await;
    let total = driver.find("#library-total").await.expect("the count");
    driver
        .wait_until(
            "return document.getElementById('library-total').textContent.includes('3 in studio');",
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}: {:?}", total));

    // Rename the newest and file it in the group.
    let first = driver
        .find(&format!("#grid li[data-id=\"{}\"] button", ids[2]))
        .await
        .expect("card");
    driver.click(&first).await.expect("open");
    let name = driver.find("#detail-name").await.expect("name field");
    driver.type_into(&name, "Cover").await.expect("type");
    set_select(&driver, "detail-group", &group_id).await;
    let save = driver
        .find("#detail-edit button[type=submit]")
        .await
        .expect("save");
    driver.click(&save).await.expect("save");
    driver
        .wait_until(
            "return document.querySelector('#detail [role=status]').textContent === 'Saved.';",
            Duration::from_secs(10),
        )
        .await
        .expect("saved");
    let (_, saved) = app.get(&studio, &format!("/v1/assets/{}", ids[2])).await;
    assert_eq!(saved["name"], "Cover", "{saved}");
    assert_eq!(saved["groupId"], json!(group_id), "{saved}");
    assert_accessible(&driver, "details with the edit form").await;

    // The group filter shows only it.
    driver.press("\u{e00c}").await.expect("close");
    set_select(&driver, "filter-group", &group_id).await;
    wait_cards(&driver, 1, "the group's one asset").await;

    // Delete another, find it in the deleted view, restore it.
    set_select(&driver, "filter-group", "").await;
    wait_cards(&driver, 3, "all again").await;
    let other = driver
        .find(&format!("#grid li[data-id=\"{}\"] button", ids[0]))
        .await
        .expect("card");
    driver.click(&other).await.expect("open");
    let delete = driver.find("#delete-asset").await.expect("delete");
    driver.click(&delete).await.expect("arm");
    driver.click(&delete).await.expect("delete");
    wait_cards(&driver, 2, "one deleted").await;
    set_select(&driver, "filter-status", "deleted").await;
    wait_cards(&driver, 1, "the deleted view").await;
    let deleted = driver.find("#grid li button").await.expect("deleted card");
    driver.click(&deleted).await.expect("open");
    let restore = driver.find("#restore-asset").await.expect("restore");
    assert_on_screen(&driver, "#restore-asset", "Restore").await;
    assert_accessible(&driver, "the deleted view").await;
    driver.click(&restore).await.expect("restore");
    wait_cards(&driver, 0, "restored").await;
    let (_, back) = app.get(&studio, &format!("/v1/assets/{}", ids[0])).await;
    assert_eq!(back["status"], "Active", "{back}");
    set_select(&driver, "filter-status", "").await;
    wait_cards(&driver, 3, "all three").await;

    // An upload by URL, type left on Auto: the line shows the type the server found, and
    // goes once it is Active. Served as octet-stream: only the bytes say it is an image.
    let url = origin.put("u.bin", media::png(640, 400), "application/octet-stream");
    let picked = driver
        .execute(
            "return document.getElementById('upload-type').value;",
            vec![],
        )
        .await
        .expect("the type picker");
    assert_eq!(picked, json!(""), "Auto by default");
    let field = driver.find("#upload-url").await.expect("url");
    driver.type_into(&field, &url).await.expect("type");
    let upload = driver
        .find("#upload-form button[type=submit]")
        .await
        .expect("upload");
    driver.click(&upload).await.expect("upload");
    driver
        .wait_until(
            "return document.querySelector('#uploads li[data-done=\"ok\"]') !== null;",
            Duration::from_secs(30),
        )
        .await
        .expect("the upload finished");
    let shown = driver
        .find("#uploads li .upload-type")
        .await
        .expect("the found type");
    assert_eq!(driver.text(&shown).await.expect("text"), "Image");
    let clear = driver.find("#uploads-clear").await.expect("clear");
    driver.click(&clear).await.expect("clear");
    driver
        .wait_until(
            "return document.querySelectorAll('#uploads li').length === 0
               && document.getElementById('uploads-clear').hidden;",
            Duration::from_secs(10),
        )
        .await
        .expect("the list is cleared");
    driver
        .wait_until(
            "return document.getElementById('library-total').textContent.includes('4 in studio');",
            Duration::from_secs(10),
        )
        .await
        .expect("the total follows the upload");
    shot(&driver, "library").await;

    // An admin switches to the studio's library.
    driver
        .execute("document.getElementById('sign-out').click();", vec![])
        .await
        .expect("sign out");
    sign_in_as(&driver, &app.admin_key).await;
    let tenant = driver.find("#tenant-input").await.expect("the switcher");
    driver.type_into(&tenant, "studio").await.expect("type");
    let show = driver
        .find("#tenant-form button[type=submit]")
        .await
        .expect("show");
    driver.click(&show).await.expect("switch");
    wait_cards(&driver, 4, "the studio's four assets").await;
    let title = driver.find("#library-title").await.expect("title");
    assert_eq!(
        driver.text(&title).await.expect("text"),
        "Library of studio"
    );
    let cover = driver
        .find(&format!("#grid li[data-id=\"{}\"] button", ids[2]))
        .await
        .expect("card");
    driver.click(&cover).await.expect("open");
    let heading = driver.find("#detail h3").await.expect("details");
    assert_eq!(driver.text(&heading).await.expect("text"), "Cover");
    assert_accessible(&driver, "another tenant's library").await;
    driver.quit().await;
}

/// The names of the cards, in the order shown.
async fn card_names(driver: &Driver) -> Vec<String> {
    let names = driver
        .execute(
            "return [...document.querySelectorAll('#grid li .name')].map((n) => n.textContent);",
            vec![],
        )
        .await
        .expect("names");
    serde_json::from_value(names).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_sorts_by_name() {
    let Some(browser) = opt_in::browser("console_library::the_library_sorts_by_name") else {
        return;
    };
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("sorting").await;
    for (n, name) in ["bravo", "Delta", "alpha", "charlie"]
        .into_iter()
        .enumerate()
    {
        let width = 300 + u32::try_from(n).unwrap_or(0);
        let url = origin.put(&format!("{name}.png"), media::png(width, 200), "image/png");
        let (_, body) = app
            .post(
                &key,
                "/v1/assets",
                &json!({"assetType": "Image", "url": url, "name": name}),
            )
            .await;
        assert!(body["assetId"].is_string(), "{body}");
    }
    let driver = Driver::start(&browser).await.expect("a browser session");
    open_at(&driver, &app, DESKTOP).await;
    sign_in_as(&driver, &key).await;
    wait_cards(&driver, 4, "four cards").await;
    assert_eq!(
        card_names(&driver).await,
        ["charlie", "alpha", "Delta", "bravo"],
        "newest first by default"
    );
    assert_on_screen(&driver, "#sort", "the sort select").await;
    set_select(&driver, "sort", "name").await;
    driver
        .wait_until(
            "return [...document.querySelectorAll('#grid li .name')].map((n) => n.textContent).join() === 'alpha,bravo,charlie,Delta';",
            Duration::from_secs(10),
        )
        .await
        .ok();
    assert_eq!(
        card_names(&driver).await,
        ["alpha", "bravo", "charlie", "Delta"],
        "by name"
    );
    assert_accessible(&driver, "the library sorted by name").await;
    driver.quit().await;
}
