//! The real binary as a child process: started with arguments, its address read from stdout,
//! its log lines collected from stderr, SIGKILLed when dropped (also when a test fails).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_assetlib");

/// Log filter of child servers: warnings, plus one line per finished job and per upload.
pub const JOB_LOGS: &str = "warn,assetlib::jobs=info,assetlib::service::ingest=info";

pub struct Proc {
    child: Child,
    pub base: String,
    /// The admin key printed on the first start of a data directory.
    pub printed_key: Option<String>,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    /// `assetlib serve` on a free port with private networks allowed (the origin is local).
    pub fn serve(data_dir: &Path, extra: &[&str], log: &str) -> Proc {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--allow-private-networks",
                "--data-dir",
            ])
            .arg(data_dir)
            .args(extra)
            .env("ASSETLIB_LOG", log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let logs = Arc::clone(&logs);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    logs.lock().expect("logs").push(line);
                }
            });
        }
        let mut printed_key = None;
        let mut base = None;
        if let Some(stdout) = child.stdout.take() {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if line.starts_with("alk_") {
                    printed_key = Some(line.trim().to_owned());
                }
                if let Some(addr) = line.strip_prefix("assetlib listening on ") {
                    base = Some(addr.trim().to_owned());
                    break;
                }
            }
            // Keep draining stdout so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
        }
        let Some(base) = base else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server exited before printing its address");
        };
        Proc {
            child,
            base,
            printed_key,
            logs,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every log line so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("logs").clone()
    }

    /// SIGKILL now (a crash); the log lines written before it stay readable.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Let the reader thread take the last lines out of the pipe.
        std::thread::sleep(Duration::from_millis(100));
    }

    /// Asks the process to stop (SIGTERM) and waits for it to exit.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM sent");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the node did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    /// SIGKILL: no chance to clean up, as in a crash.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a one-shot command of the binary; returns its exit code and stdout.
pub fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("ASSETLIB_LOG", "warn")
        .output()
        .expect("command runs");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Occurrences of `message` per value of `field` across log lines (e.g. finished jobs per
/// asset): `field=value` as the log formatter writes it.
pub fn count_by_field(
    lines: &[String],
    message: &str,
    field: &str,
) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    let prefix = format!("{field}=");
    for line in lines.iter().filter(|l| l.contains(message)) {
        if let Some(value) = line
            .split_whitespace()
            .find_map(|word| word.strip_prefix(&prefix))
        {
            *counts.entry(value.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}
