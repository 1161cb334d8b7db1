//! Every command of the binary whose reader goes away: stdout a pipe nobody reads
//! (`assetlib … | head -1` after head has exited) ends quietly with status 0, never with a
//! panic; `keys create | head -1` delivers the secret; a server whose stdout is closed keeps
//! serving.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use crate::common::{BIN, Origin, media, spawn_app};

/// Runs `assetlib ARGS` with stdout a pipe whose reading end is already closed.
fn closed_stdout(args: &[&str], env: &[(&str, &str)], stdin: &str) -> (ExitStatus, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut child = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .env("ASSETLIB_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    if let Some(mut input) = child.stdin.take() {
        use std::io::Write;
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("the binary runs");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ended_quietly(what: &str, (status, stderr): (ExitStatus, String)) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{what}: {stderr}"
    );
    assert!(status.success(), "{what}: {status:?} {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_ends_quietly_when_its_reader_is_gone() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("piped").await;
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data").display().to_string();
    let config = dir.path().join("config").display().to_string();
    let env = [
        ("ASSETLIB_SERVER", app.base.as_str()),
        ("ASSETLIB_KEY", key.as_str()),
        ("XDG_CONFIG_HOME", config.as_str()),
    ];
    let admin_env = [
        ("ASSETLIB_SERVER", app.base.as_str()),
        ("ASSETLIB_KEY", app.admin_key.as_str()),
        ("XDG_CONFIG_HOME", config.as_str()),
    ];
    let run = |args: &[&str]| {
        tokio::task::spawn_blocking({
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let env: Vec<(String, String)> = env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                closed_stdout(&args, &env, "")
            }
        })
    };

    // Server-side one-shot commands, on a data directory of their own.
    for args in [
        vec!["--help"],
        vec!["--version"],
        vec!["completions", "bash"],
        vec!["keys", "create", "--tenant", "t", "--data-dir", &data],
        vec![
            "keys",
            "create",
            "--tenant",
            "t",
            "--volc",
            "--data-dir",
            &data,
        ],
        vec!["keys", "list", "--data-dir", &data],
        vec!["fsck", "--data-dir", &data],
        vec!["fsck", "--json", "--data-dir", &data],
    ] {
        ended_quietly(&args.join(" "), run(&args).await.expect("joined"));
    }

    // The client commands against the server.
    let png = dir.path().join("p.png");
    std::fs::write(&png, media::png(400, 300)).expect("write");
    let png_arg = png.display().to_string();
    let id = app
        .upload_ok(
            &key,
            "Image",
            &origin.put("a.png", media::png(400, 300), "image/png"),
        )
        .await;
    app.wait_settled(&key, &id).await;
    let task = dir.path().join("task.json");
    std::fs::write(&task, format!(r#"{{"first_image": "asset://{id}"}}"#)).expect("write");
    let task_arg = task.display().to_string();
    let copy = dir.path().join("copy.png").display().to_string();
    for args in [
        vec!["upload", &png_arg, "--wait"],
        vec!["upload", &png_arg, "--json"],
        vec!["ls"],
        vec!["ls", "--json"],
        vec!["get", &id],
        vec!["get", &id, "--json"],
        vec!["wait", &id],
        vec!["download", &id, "-o", &copy],
        vec!["resolve", &task_arg],
        vec!["rm", &id],
    ] {
        ended_quietly(&args.join(" "), run(&args).await.expect("joined"));
    }
    let login = tokio::task::block_in_place(|| {
        closed_stdout(&["login", "--server", &app.base], &env, &format!("{key}\n"))
    });
    ended_quietly("login", login);
    let review = tokio::task::block_in_place(|| closed_stdout(&["review", "ls"], &admin_env, ""));
    ended_quietly("review ls", review);
}

#[test]
fn keys_create_piped_into_head_delivers_the_secret() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().display().to_string();
    let mut child = Command::new(BIN)
        .args(["keys", "create", "--tenant", "headed", "--data-dir", &data])
        .env("ASSETLIB_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // `| head -1`: one line read, then the reader is gone.
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("a line");
    let out = child.wait_with_output().expect("runs");
    assert!(
        first.trim().starts_with("alk_"),
        "the secret first: {first:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Created key"),
        "what was made, on stderr: {stderr}"
    );
    ended_quietly("keys create | head -1", (out.status, stderr.into_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_stdout_is_closed_keeps_serving() {
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let listen = format!("127.0.0.1:{port}");
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &listen, "--data-dir"])
        .arg(Path::new(dir.path()))
        .env("ASSETLIB_LOG", "warn")
        .stdout(writer)
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let http = crate::common::client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut up = false;
    while std::time::Instant::now() < deadline {
        if let Ok(status) = child.try_wait() {
            assert!(status.is_none(), "the server ended: {status:?}");
        }
        if let Ok(r) = http.get(format!("http://{listen}/healthz")).send().await
            && r.status().is_success()
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the server answers /healthz");
    assert!(child.try_wait().expect("wait").is_none(), "still running");
    let _ = child.kill();
    let _ = child.wait();
}
