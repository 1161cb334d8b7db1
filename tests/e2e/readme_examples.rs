//! Every shell example of README.md and docs/OPERATIONS.md runs against a real server and
//! answers what the document shows (conventions: `doc_examples`, and docs/TESTING.md). The
//! examples speak of `http://127.0.0.1:8080` (the server), `http://127.0.0.1:8000` (a file
//! server holding `photo.png`), `$KEY` (a key of tenant `demo`) and `$ADMIN_KEY`; the test puts
//! its own server, origin and keys in their place, and the binary on `PATH` as `assetlib`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{BIN, Origin, media, spawn_app};
use crate::doc_examples::{Shown, asset_ids, blocks, matches, shown_json, text_matches};

const DOCS: [&str; 2] = ["README.md", "docs/OPERATIONS.md"];
const SERVER: &str = "http://127.0.0.1:8080";
const FILES: &str = "http://127.0.0.1:8000";
/// How long a step whose answer shows a `status` is repeated until it shows that status.
const POLL: Duration = Duration::from_secs(30);

fn curl_available() -> bool {
    Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Run {
    server: String,
    files: String,
    env: Vec<(String, String)>,
    cwd: PathBuf,
    ids: HashMap<String, String>,
}

impl Run {
    /// The document's addresses and the ids bound so far, made this run's.
    fn here(&self, text: &str) -> String {
        let mut text = text
            .replace(SERVER, &self.server)
            .replace("http://localhost:8080", &self.server)
            .replace(FILES, &self.files);
        for shown in asset_ids(&text) {
            if let Some(made) = self.ids.get(&shown) {
                text = text.replace(&shown, made);
            }
        }
        text
    }

    fn sh(&self, command: &str) -> (bool, String, String) {
        let out = Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(&self.cwd)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("sh runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs one step until it answers what is shown (once, unless a status is awaited).
    fn step(&mut self, at: &str, command: &str, shown: Option<&Shown>) -> Result<(), String> {
        let command = self.here(command);
        let polls = matches!(shown, Some(Shown::Json(j)) if j.contains("\"status\""));
        let started = Instant::now();
        loop {
            let (ok, stdout, stderr) = self.sh(&command);
            let verdict = if !ok {
                Err(format!("exited with a failure: {stderr}"))
            } else {
                match shown {
                    None => Ok(()),
                    Some(Shown::Text(lines)) => {
                        let lines: Vec<String> = lines.iter().map(|l| self.here(l)).collect();
                        text_matches(&lines, &stdout)
                    }
                    Some(Shown::Json(text)) => {
                        let want = shown_json(&self.here(text))?;
                        let got: Value = serde_json::from_str(stdout.trim())
                            .map_err(|e| format!("the answer is not JSON ({e}): {stdout}"))?;
                        // Bind on a copy: a poll that does not match yet binds nothing.
                        let mut ids = self.ids.clone();
                        let verdict = matches(&want, &got, "", &mut ids);
                        if verdict.is_ok() {
                            self.ids = ids;
                        }
                        verdict.map_err(|e| format!("{e}\nwhole answer: {got}"))
                    }
                }
            };
            match verdict {
                Ok(()) => return Ok(()),
                Err(e) if polls && started.elapsed() < POLL => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(format!("{at}: `{command}`\n{e}")),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shell_example_of_the_docs_answers_what_it_shows() {
    if !curl_available() {
        assert!(
            !assetlib_test_support::opt_in::backends_required(),
            "curl is required to run the documents' examples"
        );
        eprintln!(
            "skipped every_shell_example_of_the_docs_answers_what_it_shows: it needs curl on PATH"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let photo = origin.put("photo.png", media::png(400, 320), "image/png");
    let files = photo.trim_end_matches("/photo.png").to_owned();
    let key = app.create_key("demo").await;
    let cwd = tempfile::tempdir().expect("dir");
    let bin_dir = Path::new(BIN).parent().expect("the binary's directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut run = Run {
        server: app.base.clone(),
        files,
        env: vec![
            ("PATH".into(), path),
            ("KEY".into(), key.clone()),
            ("ASSETLIB_KEY".into(), key),
            ("ADMIN_KEY".into(), app.admin_key.clone()),
            ("ASSETLIB_SERVER".into(), app.base.clone()),
            ("XDG_CONFIG_HOME".into(), cwd.path().display().to_string()),
            // The examples talk to loopback: never through a proxy of the environment.
            ("no_proxy".into(), "*".into()),
            ("NO_PROXY".into(), "*".into()),
        ],
        cwd: cwd.path().to_owned(),
        ids: HashMap::new(),
    };

    let mut ran = 0;
    let mut skipped = Vec::new();
    for doc in DOCS {
        let Ok(text) = std::fs::read_to_string(root.join(doc)) else {
            assert_ne!(doc, "README.md", "the README is there");
            continue;
        };
        let found = blocks(&text).unwrap_or_else(|e| panic!("{doc}: {e}"));
        // Each document starts from the same place: the ids of one do not carry to the next.
        run.ids.clear();
        let mut failures = Vec::new();
        for block in found {
            if let Some(reason) = &block.skip {
                skipped.push(format!("{doc}:{} ({reason})", block.line));
                continue;
            }
            for step in &block.steps {
                let at = format!("{doc}:{}", step.line);
                match tokio::task::block_in_place(|| {
                    run.step(&at, &step.command, step.shown.as_ref())
                }) {
                    Ok(()) => ran += 1,
                    // A block's later steps build on its earlier ones: stop the block.
                    Err(e) => {
                        failures.push(e);
                        break;
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }
    eprintln!(
        "ran {ran} example commands; skipped blocks: {}",
        skipped.join(", ")
    );
    assert!(ran >= 6, "the README's walk-through runs ({ran} commands)");
}
