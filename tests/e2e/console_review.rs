//! The review page a moderation team works in, in a real browser: the original at full
//! resolution with zoom (keys, wheel, pinch) and boxes that follow it, face crops drawn from the
//! original, the true count, a selection decided at once with an explicit reason and undone, the
//! decision history, and a reviewer key landing on the queue. Screenshots for README with
//! `ASSETLIB_CONSOLE_SCREENSHOTS=DIR` (scripts/console-screenshots.sh).

use std::time::Duration;

use assetlib_test_support::opt_in;
use assetlib_test_support::webdriver::Driver;
use image::imageops::FilterType;
use serde_json::{Value, json};

use crate::common::{Origin, TestApp, media, spawn_app};
use crate::console::shot;
use crate::console_display::{
    DESKTOP, PHONE, assert_accessible, assert_on_screen, go, open_at, shown, sign_in_as,
};

/// A group photo: the two portraits side by side on a wide canvas (two faces, small in a
/// 480 px preview), as PNG.
fn group_photo() -> Vec<u8> {
    let a = image::load_from_memory(&media::photo("astronaut.png")).expect("decode");
    let b = image::load_from_memory(&media::photo("grace_hopper.jpg")).expect("decode");
    let mut canvas = image::RgbImage::from_pixel(1600, 1000, image::Rgb([236, 239, 244]));
    let a = a.resize(560, 560, FilterType::CatmullRom).into_rgb8();
    let b = b.resize(560, 700, FilterType::CatmullRom).into_rgb8();
    image::imageops::overlay(&mut canvas, &a, 120, 220);
    image::imageops::overlay(&mut canvas, &b, 900, 150);
    let mut out = std::io::Cursor::new(Vec::new());
    canvas
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}

/// A portrait re-encoded at another size: other bytes, the same face.
fn portrait(name: &str, side: u32) -> Vec<u8> {
    let img = image::load_from_memory(&media::photo(name)).expect("decode");
    let img = img.resize(side, side, FilterType::CatmullRom).into_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}

async fn hold(app: &TestApp, origin: &Origin, key: &str, name: &str, bytes: Vec<u8>) -> String {
    let url = origin.put(name, bytes, "image/png");
    let id = app.upload_ok(key, "Image", &url).await;
    let settled = app.wait_settled(key, &id).await;
    assert_eq!(settled["status"], "PendingReview", "{name}: {settled}");
    id
}

/// The layer's scale and each box's place relative to the image, as the screen shows them.
async fn geometry(driver: &Driver) -> Value {
    driver
        .execute(
            "const img = document.getElementById('review-image').getBoundingClientRect();
             const port = document.getElementById('review-viewport').getBoundingClientRect();
             return { scale: img.width / document.getElementById('review-image').naturalWidth,
               image: [img.left, img.top, img.width, img.height],
               port: [port.left, port.top, port.width, port.height],
               boxes: [...document.querySelectorAll('#review-boxes .face-box')].map((b) => {
                 const r = b.getBoundingClientRect();
                 return [(r.left - img.left) / img.width, (r.top - img.top) / img.height,
                         r.width / img.width, r.height / img.height,
                         r.left + r.width / 2, r.top + r.height / 2, r.width];
               }) };",
            vec![],
        )
        .await
        .expect("geometry")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn same_boxes(a: &Value, b: &Value) {
    let (a, b) = (&a["boxes"], &b["boxes"]);
    assert_eq!(a.as_array().map(Vec::len), b.as_array().map(Vec::len));
    for (x, y) in a
        .as_array()
        .into_iter()
        .flatten()
        .zip(b.as_array().into_iter().flatten())
    {
        for i in 0..4 {
            assert!(
                (num(&x[i]) - num(&y[i])).abs() < 0.01,
                "the boxes follow the zoom: {x} vs {y}"
            );
        }
    }
}

async fn wait_counts(driver: &Driver, prefix: &str) {
    driver
        .wait_until(
            &format!(
                "return document.getElementById('review-counts').textContent.startsWith('{prefix}');"
            ),
            Duration::from_secs(15),
        )
        .await
        .unwrap_or_else(|e| panic!("counts start with {prefix}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_zooms_into_the_original_decides_a_selection_undoes_it_and_reads_the_history() {
    let Some(browser) = opt_in::browser(
        "console_review::a_reviewer_zooms_into_the_original_decides_a_selection_undoes_it_and_reads_the_history",
    ) else {
        return;
    };
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let studio = app.create_key("studio").await;
    let group = hold(&app, &origin, &studio, "group.png", group_photo()).await;
    let mut others = Vec::new();
    for (n, (name, side)) in [
        ("astronaut.png", 512),
        ("grace_hopper.jpg", 480),
        ("astronaut.png", 460),
        ("grace_hopper.jpg", 420),
    ]
    .into_iter()
    .enumerate()
    {
        others.push(
            hold(
                &app,
                &origin,
                &studio,
                &format!("p{n}.png"),
                portrait(name, side),
            )
            .await,
        );
    }
    let (_, reviewer) = app
        .post(
            &app.admin_key,
            "/v1/keys",
            &json!({"tenant": "moderation", "role": "reviewer", "name": "Robin"}),
        )
        .await;
    let reviewer = reviewer["secret"]
        .as_str()
        .expect("a reviewer key")
        .to_owned();

    let driver = Driver::start(&browser).await.expect("a browser session");
    open_at(&driver, &app, DESKTOP).await;
    // A reviewer key lands on the queue, which shows the true count.
    sign_in_as(&driver, &reviewer).await;
    driver.find("#review-item").await.expect("the queue");
    wait_counts(&driver, "5 waiting").await;
    let (_, queue) = app.get(&reviewer, "/v1/reviews?limit=1").await;
    assert_eq!(queue["total"], 5, "{queue}");
    let first = queue["items"][0].clone();
    assert_eq!(first["assetId"], json!(group), "oldest first");

    // The original at full resolution, fitted in the viewport.
    driver
        .wait_until(
            "const i = document.getElementById('review-image'); return i.complete && i.naturalWidth > 0;",
            Duration::from_secs(10),
        )
        .await
        .expect("the image loads");
    let natural = driver
        .execute(
            "const i = document.getElementById('review-image'); return [i.naturalWidth, i.naturalHeight];",
            vec![],
        )
        .await
        .expect("size");
    assert_eq!(
        natural,
        json!([1600, 1000]),
        "the original, not the preview"
    );
    assert_on_screen(&driver, "#review-viewport", "the viewer").await;
    let fitted = geometry(&driver).await;
    let faces = first["faces"].as_array().expect("faces").len();
    assert!(faces >= 2, "{first}");
    assert_eq!(fitted["boxes"].as_array().map(Vec::len), Some(faces));

    // Keys: + zooms in, the boxes stay on the faces; 0 fits again.
    let viewport = driver.find("#review-viewport").await.expect("viewport");
    driver.click(&viewport).await.expect("focus the viewer");
    driver.press("+").await.expect("+");
    driver.press("+").await.expect("+");
    let zoomed = geometry(&driver).await;
    assert!(
        num(&zoomed["scale"]) > num(&fitted["scale"]) * 2.0,
        "{zoomed} vs {fitted}"
    );
    same_boxes(&zoomed, &fitted);
    driver.press("0").await.expect("0");
    let again = geometry(&driver).await;
    assert!((num(&again["scale"]) - num(&fitted["scale"])).abs() < 1e-6);

    // Wheel and pinch (pointer events) zoom too.
    driver
        .execute(
            "const v = document.getElementById('review-viewport'); const r = v.getBoundingClientRect();
             v.dispatchEvent(new WheelEvent('wheel', { deltaY: -400, clientX: r.left + 100, clientY: r.top + 100, bubbles: true, cancelable: true }));",
            vec![],
        )
        .await
        .expect("wheel");
    let wheeled = geometry(&driver).await;
    assert!(
        num(&wheeled["scale"]) > num(&fitted["scale"]) * 1.5,
        "{wheeled}"
    );
    same_boxes(&wheeled, &fitted);
    driver.press("0").await.expect("0");
    driver
        .execute(
            "const v = document.getElementById('review-viewport'); const r = v.getBoundingClientRect();
             const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
             const ev = (type, id, x) => v.dispatchEvent(new PointerEvent(type, { pointerId: id, clientX: x, clientY: cy, bubbles: true, pointerType: 'touch', isPrimary: id === 1 }));
             ev('pointerdown', 1, cx - 20); ev('pointerdown', 2, cx + 20);
             for (let s = 1; s <= 10; s++) { ev('pointermove', 1, cx - 20 - s * 10); ev('pointermove', 2, cx + 20 + s * 10); }
             ev('pointerup', 1, cx - 120); ev('pointerup', 2, cx + 120);",
            vec![],
        )
        .await
        .expect("pinch");
    let pinched = geometry(&driver).await;
    assert!(
        num(&pinched["scale"]) > num(&fitted["scale"]) * 2.0,
        "{pinched}"
    );
    same_boxes(&pinched, &fitted);
    driver.press("0").await.expect("0");

    // The face crops: one per face, drawn from the original at its own pixels, each with its
    // score; a click zooms onto that face.
    let crops = driver
        .execute(
            "return [...document.querySelectorAll('#review-crops canvas')].map(c => [c.width, c.height, c.closest('button').textContent]);",
            vec![],
        )
        .await
        .expect("crops");
    let crops = crops.as_array().expect("crops").clone();
    assert_eq!(crops.len(), faces, "{crops:?}");
    let scale = 1600.0 / num(&first["imageWidth"]);
    for (crop, face) in crops.iter().zip(first["faces"].as_array().expect("faces")) {
        let want = num(&face["width"]) * scale;
        assert!(
            num(&crop[0]) >= want,
            "a crop at the original's pixels: {crop} for a face {want} wide"
        );
        let score = format!("{:.2}", num(&face["score"]));
        assert!(
            crop[2].as_str().unwrap_or_default().contains(&score),
            "{crop}"
        );
    }
    shot(&driver, "review-fit").await;
    let crop = driver
        .find("#review-crops li:nth-child(2) button")
        .await
        .expect("a crop");
    driver.click(&crop).await.expect("zoom to the face");
    let there = geometry(&driver).await;
    let port = &there["port"];
    let face = &there["boxes"][1];
    assert!(
        num(&there["scale"]) > num(&fitted["scale"]) * 1.5,
        "{there}"
    );
    let (cx, cy) = (
        num(&port[0]) + num(&port[2]) / 2.0,
        num(&port[1]) + num(&port[3]) / 2.0,
    );
    assert!(
        (num(&face[4]) - cx).abs() < 4.0 && (num(&face[5]) - cy).abs() < 4.0,
        "the face is centred: {there}"
    );
    same_boxes(&there, &fitted);
    assert_on_screen(&driver, "#review-crops", "the crops").await;
    driver
        .execute(
            "document.getElementById('review-crops').scrollIntoView({ block: 'end' });",
            vec![],
        )
        .await
        .expect("scroll");
    shot(&driver, "review-zoomed").await;
    assert_accessible(&driver, "review (reviewer)").await;

    // A selection: the first item, shift-click to the third; R without a reason refuses.
    let boxes = driver
        .find_all("#review-list input[type=checkbox]")
        .await
        .expect("checkboxes");
    assert_eq!(boxes.len(), 5);
    driver.click(&boxes[0]).await.expect("select");
    driver
        .execute(
            "document.querySelectorAll('#review-list input[type=checkbox]')[2]
               .dispatchEvent(new MouseEvent('click', { shiftKey: true, bubbles: true, cancelable: true }));",
            vec![],
        )
        .await
        .expect("shift-click");
    let selected = driver.find("#review-selected").await.expect("selected");
    assert_eq!(driver.text(&selected).await.expect("text"), "3 selected");
    // The keys work with the focus left on a checkbox.
    driver.press("r").await.expect("r");
    let error = driver.find("#review-error").await.expect("error");
    assert!(
        driver
            .text(&error)
            .await
            .expect("text")
            .contains("Choose a reason"),
        "no silent default"
    );
    wait_counts(&driver, "5 waiting").await;
    driver
        .execute(
            "const s = document.getElementById('reject-preset'); s.value = s.options[1].value;",
            vec![],
        )
        .await
        .expect("reason");
    let reject = driver.find("#bulk-reject").await.expect("bulk reject");
    driver.click(&reject).await.expect("reject 3");
    wait_counts(&driver, "2 waiting").await;
    let undo = driver.find("#review-undo-button").await.expect("Undo");
    assert_on_screen(&driver, "#review-undo-button", "Undo").await;
    for id in [&group, &others[0], &others[1]] {
        let asset = app.wait_settled(&studio, id).await;
        assert_eq!(asset["status"], "Failed", "{asset}");
    }
    driver.click(&undo).await.expect("undo");
    wait_counts(&driver, "5 waiting").await;
    for id in [&group, &others[0], &others[1]] {
        let (_, asset) = app.get(&studio, &format!("/v1/assets/{id}")).await;
        assert_eq!(asset["status"], "PendingReview", "undone: {asset}");
    }

    // X selects the item shown; A approves the selection.
    driver.click(&viewport).await.expect("focus");
    driver.press("x").await.expect("x");
    driver.press("j").await.expect("j");
    driver.press("x").await.expect("x");
    assert_eq!(driver.text(&selected).await.expect("text"), "2 selected");
    driver.press("a").await.expect("a");
    wait_counts(&driver, "3 waiting").await;
    shot(&driver, "review-undo").await;

    // The page refreshes by itself: a newly held photo is counted without a click.
    hold(
        &app,
        &origin,
        &studio,
        "late.png",
        portrait("astronaut.png", 400),
    )
    .await;
    driver
        .wait_until(
            "return document.getElementById('review-counts').textContent.startsWith('4 waiting')
               && document.querySelectorAll('#review-list li').length === 4;",
            Duration::from_secs(30),
        )
        .await
        .expect("the queue refreshed itself");

    // The history: every decision, newest first, with who made it.
    go(&driver, "history").await;
    driver
        .wait_until(
            "return document.querySelectorAll('#history-rows tr').length >= 8;",
            Duration::from_secs(10),
        )
        .await
        .expect("3 rejects, 3 reopens, 2 approvals");
    let rows = driver
        .execute(
            "return [...document.querySelectorAll('#history-rows tr')].map(r => r.textContent);",
            vec![],
        )
        .await
        .expect("rows");
    let rows: Vec<String> = rows
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    assert!(
        rows[0].contains("Approved") && rows[0].contains("Robin"),
        "{rows:?}"
    );
    assert!(rows.iter().any(|r| r.contains("Reopened")), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.contains("Rejected") && r.contains("Shows a real person's face")),
        "{rows:?}"
    );
    driver
        .execute(
            "const s = document.getElementById('history-decision');
             s.value = 'reject'; s.dispatchEvent(new Event('input'));",
            vec![],
        )
        .await
        .expect("filter");
    driver
        .wait_until(
            "const r = [...document.querySelectorAll('#history-rows tr')];
             return r.length === 3 && r.every(x => x.textContent.includes('Rejected'));",
            Duration::from_secs(10),
        )
        .await
        .expect("only the rejections");
    assert!(shown(&driver, "#history-csv").await, "a CSV download");
    // What the button saves: the API's CSV for the same filters.
    let csv = driver
        .execute_async(
            "const done = arguments[arguments.length - 1];
             api('GET', historyQuery({ limit: '10000' }), undefined, 'text/csv').then(done, (e) => done(String(e)));",
            vec![],
        )
        .await
        .expect("csv");
    let csv = csv.as_str().unwrap_or_default();
    assert!(csv.starts_with("decidedAt,decision,assetId"), "{csv}");
    assert_eq!(
        csv.trim_end().lines().count(),
        4,
        "a header and the 3 rejections: {csv}"
    );
    shot(&driver, "history").await;
    assert_accessible(&driver, "history (desktop)").await;

    // At phone size the queue, the viewer and the history still work and fit.
    driver
        .set_viewport_size(PHONE.0, PHONE.1)
        .await
        .expect("resize");
    go(&driver, "review").await;
    driver.find("#review-item").await.expect("the queue");
    assert_on_screen(&driver, "#review-viewport", "the viewer on a phone").await;
    assert_accessible(&driver, "review (phone)").await;
    shot(&driver, "review-phone").await;
    go(&driver, "history").await;
    assert_accessible(&driver, "history (phone)").await;
    let fits = driver
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .expect("width");
    assert_eq!(fits, Value::Bool(true), "the history fits a phone");
    driver.quit().await;
}
