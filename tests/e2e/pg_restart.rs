//! PostgreSQL stops and starts again under two running nodes: during the outage requests get a
//! clean 503 with a stable code and nothing half-done; afterwards everything works again
//! without restarting the nodes. The database is a private cluster made for this test (initdb
//! from the machine's PostgreSQL), so stopping it disturbs no other test.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{KYY, Origin, Proc, client, media, run, serve, wait_settled};

/// The directory holding `initdb` and `pg_ctl`: `TEST_PG_BIN`, or the newest Debian install.
fn pg_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("TEST_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop()
}

/// A PostgreSQL cluster of our own, on a free port, removed when dropped.
struct PrivatePg {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// PostgreSQL refuses to run as root: run its tools as the `postgres` user then.
    as_postgres: bool,
}

impl PrivatePg {
    fn create(bin: PathBuf) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = std::env::temp_dir().join(format!("assetlib-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("pg dir");
        let uid = Command::new("id").arg("-u").output().expect("id");
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        if as_postgres {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(owned.success());
        }
        let pg = Self {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = pg.data_dir();
        pg.tool(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        pg.start();
        pg
    }

    fn data_dir(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn tool(&self, name: &str, args: &[&str]) {
        let program = self.bin.join(name);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command.args(args).output().expect("PostgreSQL tool runs");
        assert!(
            out.status.success(),
            "{name} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self) {
        self.tool(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "fast", "-w", "stop"],
        );
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data_dir();
        let program = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn call(req: reqwest::RequestBuilder) -> (StatusCode, Value, Duration) {
    let started = Instant::now();
    let resp = req.send().await.expect("the node answers");
    let status = resp.status();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body, started.elapsed())
}

fn node(data: &Path, database_url: &str, blob_url: &str, extra: &[&str]) -> Proc {
    let mut args = vec![
        "--database-url",
        database_url,
        "--blob-url",
        blob_url,
        "--signing-secret",
        "restart-secret",
    ];
    args.extend_from_slice(extra);
    serve(data, &args, "warn")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_answers_503_then_recovers_without_restarting_nodes() {
    let test = "the PostgreSQL restart test";
    if assetlib_test_support::opt_in::database_url(test).is_none() {
        return;
    }
    let Some(bin) = pg_bin() else {
        let skipped = format!(
            "skipped {test}: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin; set TEST_PG_BIN"
        );
        assert!(
            !assetlib_test_support::opt_in::backends_required(),
            "{skipped}; ASSETLIB_REQUIRE_BACKENDS=1 makes that a failure"
        );
        eprintln!("{skipped}");
        return;
    };
    let pg = PrivatePg::create(bin);
    let database_url = pg.url();
    let blobs = tempfile::tempdir().expect("blob dir");
    let blob_url = format!("file://{}", blobs.path().display());
    let (dir_a, dir_b, dir_cli) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
        tempfile::tempdir().expect("cli"),
    );
    // A takes uploads only; B only processes them (so B's recovery includes its queue work).
    let a = node(dir_a.path(), &database_url, &blob_url, &["--workers", "0"]);
    let b = node(dir_b.path(), &database_url, &blob_url, &["--workers", "2"]);
    let (code, out) = run(&[
        "keys",
        "create",
        "--tenant",
        "restart",
        "--database-url",
        &database_url,
        "--data-dir",
        &dir_cli.path().display().to_string(),
    ]);
    assert_eq!(code, 0, "{out}");
    let key = out.lines().last().expect("key").trim().to_owned();

    let http = client();
    let origin = Origin::start().await;
    let url = origin.put("p.png", media::png(400, 300), "image/png");
    let upload = |base: &str| {
        http.post(format!("{base}{KYY}/upload"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"assetType": "Image", "url": url}))
    };
    let (status, body, _) = call(upload(&a.base)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = body["data"]["assetId"].as_str().expect("id").to_owned();
    let settled = wait_settled(&http, &a.base, &key, &before).await;
    assert_eq!(settled["status"], "Active");

    pg.stop();

    // During the outage: every face answers 503 with its stable code, quickly.
    let (status, body, took) = call(upload(&a.base)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], 5003, "kyy envelope: {body}");
    assert!(took < Duration::from_secs(15), "answered in {took:?}");
    let details = http
        .get(format!("{}/v1/assets/{before}", b.base))
        .bearer_auth(&key);
    let (status, body, _) = call(details).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "v1 envelope: {body}");
    let (status, body, _) = call(http.get(format!("{}/readyz", a.base))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["database"], "unavailable");
    let (status, _, _) = call(http.get(format!("{}/healthz", a.base))).await;
    assert_eq!(status, StatusCode::OK, "the process itself is alive");

    pg.start();

    // Afterwards: the same nodes serve again, and an upload on A is processed by B.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, _, _) = call(http.get(format!("{}/readyz", a.base))).await;
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "node A never recovered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body, _) = call(upload(&a.base)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = body["data"]["assetId"].as_str().expect("id").to_owned();
    let settled = wait_settled(&http, &b.base, &key, &after).await;
    assert_eq!(settled["status"], "Active", "{settled}");
    // Nothing was created by the refused upload: two assets in all.
    let list = http
        .get(format!("{}{KYY}/list?pageSize=100", b.base))
        .bearer_auth(&key);
    let (status, body, _) = call(list).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["total"], 2, "{body}");
    drop((a, b));
}
