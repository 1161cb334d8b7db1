//! The client commands of the binary against a running server: login (the key saved 0600),
//! upload of files and URLs (types from the bytes, failures with their sentence and a non-zero
//! exit), ls, get, wait, download, rm, review, resolve, completions; `--json` for scripts and
//! no colour when not a terminal.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::common::{BIN, Origin, TestApp, media, spawn_app};

/// Runs `assetlib ARGS` as a client of `app` with `key`; stdin is `input`.
async fn cli(app: &TestApp, key: &str, config: &Path, args: &[&str], input: &str) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("ASSETLIB_SERVER", &app.base)
        .env("ASSETLIB_KEY", key)
        .env("XDG_CONFIG_HOME", config)
        .env("ASSETLIB_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if key.is_empty() {
        command
            .env_remove("ASSETLIB_KEY")
            .env_remove("ASSETLIB_SERVER");
    }
    let input = input.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("the binary starts");
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            let _ = stdin.write_all(input.as_bytes());
        }
        child.wait_with_output().expect("the binary runs")
    })
    .await
    .expect("joined")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_commands_drive_a_server() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config");

    // login: asks for the key (stdin here), checks it, saves it for the user alone.
    let out = cli(
        &app,
        "",
        &config,
        &["login", "--server", &app.base],
        &format!("{key}\n"),
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let saved = config.join("assetlib/client.json");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&saved)
        .expect("saved")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let out = cli(
        &app,
        "",
        &config,
        &["login", "--server", &app.base],
        "alk_wrong\n",
    )
    .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not valid"), "{}", stderr(&out));
    // The saved login serves the next commands (no ASSETLIB_* variables).
    let out = cli(&app, "", &config, &["ls", "--json"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out), Value::Array(vec![]));

    // upload: a file (its type from its bytes) and a URL, waiting; a file that is no media
    // fails with its reason and a non-zero status.
    let png = dir.path().join("poster.png");
    std::fs::write(&png, media::png(640, 480)).expect("write");
    let url = origin.put("still.jpg", media::jpeg(800, 600), "image/jpeg");
    let png_arg = png.display().to_string();
    let out = cli(
        &app,
        &key,
        &config,
        &["upload", &png_arg, &url, "--wait", "--json"],
        "",
    )
    .await;
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let uploads = json(&out);
    let uploads = uploads.as_array().expect("one per source");
    assert_eq!(uploads.len(), 2);
    for upload in uploads {
        assert_eq!(upload["asset"]["status"], "Active", "{upload}");
    }
    assert_eq!(uploads[0]["asset"]["name"], "poster.png");
    assert_eq!(uploads[0]["asset"]["width"], 640);
    let id = uploads[0]["asset"]["assetId"]
        .as_str()
        .expect("id")
        .to_owned();
    let tiny = dir.path().join("tiny.png");
    std::fs::write(&tiny, media::png(100, 100)).expect("write");
    let notes = dir.path().join("notes.bin");
    std::fs::write(&notes, [0u8, 1, 2, 3, 4, 5, 6, 7]).expect("write");
    let (tiny_arg, notes_arg) = (tiny.display().to_string(), notes.display().to_string());
    let out = cli(
        &app,
        &key,
        &config,
        &["upload", &tiny_arg, &notes_arg, "--wait"],
        "",
    )
    .await;
    assert!(!out.status.success(), "a failed upload fails the command");
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        said.contains("Failed") && said.contains("300"),
        "the failure sentence: {said}"
    );
    assert!(said.contains("notes.bin"), "{said}");
    assert!(
        !said.contains('\u{1b}'),
        "no colour when not a terminal: {said:?}"
    );

    // ls (a table for people), get, wait, download.
    let out = cli(
        &app,
        &key,
        &config,
        &["ls", "--type", "Image", "--status", "Active"],
        "",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains(&id) && table.contains("poster.png"),
        "{table}"
    );
    let out = cli(&app, &key, &config, &["get", &id, "--json"], "").await;
    assert_eq!(json(&out)["sha256"].as_str().map(str::len), Some(64));
    let out = cli(&app, &key, &config, &["wait", &id], "").await;
    assert!(
        out.status.success() && stdout(&out).contains("Active"),
        "{}",
        stdout(&out)
    );
    let target = dir.path().join("copy.png");
    let target_arg = target.display().to_string();
    let out = cli(
        &app,
        &key,
        &config,
        &["download", &id, "-o", &target_arg],
        "",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&target).expect("downloaded"),
        std::fs::read(&png).expect("original")
    );

    // resolve: the rewritten task, or every problem and a non-zero status.
    let task = dir.path().join("task.json");
    std::fs::write(&task, format!(r#"{{"first_image": "asset://{id}"}}"#)).expect("write");
    let task_arg = task.display().to_string();
    let out = cli(&app, &key, &config, &["resolve", &task_arg], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        json(&out)["first_image"]
            .as_str()
            .is_some_and(|u| u.starts_with("http"))
    );
    std::fs::write(
        &task,
        r#"{"first_image": "asset://asset-20200101000000-zzzzz"}"#,
    )
    .expect("write");
    let out = cli(&app, &key, &config, &["resolve", &task_arg], "").await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("asset-not-found"), "{}", stderr(&out));

    // review: a held photo, approved by an admin.
    let face = origin.put("astronaut.png", media::photo("astronaut.png"), "image/png");
    let out = cli(
        &app,
        &key,
        &config,
        &["upload", &face, "--wait", "--json"],
        "",
    )
    .await;
    let held = json(&out)[0]["asset"]["assetId"]
        .as_str()
        .expect("id")
        .to_owned();
    let admin = app.admin_key.clone();
    let out = cli(&app, &admin, &config, &["review", "ls"], "").await;
    assert!(stdout(&out).contains(&held), "{}", stdout(&out));
    let out = cli(&app, &key, &config, &["review", "ls"], "").await;
    assert!(!out.status.success(), "a tenant key may not review");
    let out = cli(&app, &admin, &config, &["review", "approve", &held], "").await;
    assert!(
        out.status.success() && stdout(&out).contains("Active"),
        "{}",
        stdout(&out)
    );

    // rm; completions.
    let out = cli(&app, &key, &config, &["rm", &id], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&app, &key, &config, &["get", &id], "").await;
    assert!(
        !out.status.success() && stderr(&out).contains("not-found"),
        "{}",
        stderr(&out)
    );
    let out = cli(&app, &key, &config, &["completions", "bash"], "").await;
    assert!(stdout(&out).contains("assetlib") && stdout(&out).contains("upload"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_pages_past_the_servers_cap_and_says_where_it_stopped() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("many").await;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config");
    let url = origin.put("a.png", media::png(400, 300), "image/png");
    for _ in 0..105 {
        app.upload_ok(&key, "Image", &url).await;
    }
    let ids = |out: &Output| -> Vec<String> {
        json(out)
            .as_array()
            .expect("a list")
            .iter()
            .map(|a| a["assetId"].as_str().expect("id").to_owned())
            .collect()
    };

    // More than a page, all of them: no hint.
    let out = cli(&app, &key, &config, &["ls", "--limit", "500", "--json"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let all = ids(&out);
    assert_eq!(all.len(), 105);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 105, "no asset twice");
    assert!(!stderr(&out).contains("--cursor"), "{}", stderr(&out));

    // Fewer than there are: exactly that many, and where to continue.
    let out = cli(&app, &key, &config, &["ls", "--limit", "101", "--json"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ids(&out), all[..101].to_vec());
    let said = stderr(&out);
    let cursor = said
        .split("--cursor ")
        .nth(1)
        .map(str::trim)
        .unwrap_or_else(|| panic!("the cursor to continue with: {said}"))
        .to_owned();
    let out = cli(
        &app,
        &key,
        &config,
        &["ls", "--limit", "10", "--cursor", &cursor, "--json"],
        "",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ids(&out), all[101..].to_vec());
    // A page that fails: what was gathered (nothing here), where it stopped, status 1.
    let out = cli(
        &app,
        &key,
        &config,
        &["ls", "--cursor", "not-a-cursor", "--json"],
        "",
    )
    .await;
    assert!(!out.status.success());
    assert_eq!(json(&out), Value::Array(vec![]));
    let said = stderr(&out);
    assert!(
        said.contains("stopped after 0 of 50 assets") && said.contains("cursor"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_failure_says_so_and_names_the_url() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config");
    // Nothing listens on port 1.
    let out = cli(
        &app,
        "",
        &config,
        &["login", "--server", "http://127.0.0.1:1"],
        "alk_whatever\n",
    )
    .await;
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(
        said.contains("network error") && said.contains("http://127.0.0.1:1/v1/usage"),
        "{said}"
    );
    assert!(!said.contains("did not accept"), "{said}");
    assert!(!said.contains("alk_whatever"), "never the key: {said}");
}
