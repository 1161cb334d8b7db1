//! A Garage cluster of a test's own (three nodes, replication factor 3), started and restarted
//! by `scripts/garage-cluster.sh` in a temp directory on free loopback ports, whose nodes the
//! test kills with SIGKILL. Stopped and removed when dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/garage-cluster.sh");

pub struct GarageCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port_base: u16,
    /// The variables the script wrote (`TEST_S3_ENDPOINT`, `AWS_*`, …).
    pub env: HashMap<String, String>,
}

impl GarageCluster {
    /// Starts three nodes with `bin`, lays them out, makes the key; fails the test if it cannot.
    pub fn start(bin: &Path) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("assetlib-garage-")
            .tempdir()
            .expect("cluster dir");
        let mut cluster = Self {
            dir,
            bin: bin.to_owned(),
            port_base: free_port_base(),
            env: HashMap::new(),
        };
        cluster.script("start");
        cluster.env = read_env(&cluster.dir.path().join("env"));
        cluster
    }

    fn script(&self, command: &str) {
        let out = Command::new("bash")
            .arg(SCRIPT)
            .arg(command)
            .arg(self.dir.path())
            .env("GARAGE_BIN", &self.bin)
            .env("GARAGE_PORT_BASE", self.port_base.to_string())
            .output()
            .expect("the cluster script runs");
        assert!(
            out.status.success(),
            "garage-cluster.sh {command}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The S3 endpoint of node `n` (0, 1, 2).
    pub fn endpoint(&self, n: usize) -> String {
        format!("http://127.0.0.1:{}", self.port_base as usize + 10 * n)
    }

    pub fn var(&self, name: &str) -> String {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in the cluster's env"))
            .clone()
    }

    pub fn credentials(&self) -> assetlib_test_support::s3::Credentials {
        assetlib_test_support::s3::Credentials {
            access_key: self.var("AWS_ACCESS_KEY_ID"),
            secret_key: self.var("AWS_SECRET_ACCESS_KEY"),
            region: self.var("AWS_REGION"),
        }
    }

    /// The variables that point the server's S3 blob store at node `n`.
    pub fn s3_env(&self, n: usize) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_ALLOW_HTTP",
            "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
        ]
        .iter()
        .map(|name| (name.to_string(), self.var(name)))
        .collect();
        vars.push(("AWS_ENDPOINT".into(), self.endpoint(n)));
        vars
    }

    /// SIGKILLs node `n` and waits until it is gone.
    pub fn kill(&self, n: usize) {
        let pidfile = self.dir.path().join(format!("node{n}/pid"));
        let pid = std::fs::read_to_string(&pidfile).expect("pid file");
        let pid = pid.trim();
        let status = Command::new("kill")
            .args(["-KILL", pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -KILL {pid}");
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        for _ in 0..100 {
            // A killed child of the script is reaped by init; until then it is a zombie.
            let state = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
            if state.is_empty() || state.split_whitespace().nth(2) == Some("Z") {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("garage node {n} (pid {pid}) did not die");
    }

    /// Starts again the nodes that are not running (on their data) and waits until the
    /// cluster is healthy.
    pub fn restart_dead(&self) {
        self.script("start");
    }
}

impl Drop for GarageCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(SCRIPT)
            .arg("stop")
            .arg(self.dir.path())
            .env("GARAGE_BIN", &self.bin)
            .env("GARAGE_PORT_BASE", self.port_base.to_string())
            .output();
    }
}

/// `export NAME=value` lines (a value may be quoted).
fn read_env(file: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(file).expect("the cluster's env file");
    text.lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

/// A base port whose nine ports (three per node) are free now.
fn free_port_base() -> u16 {
    for _ in 0..200 {
        let base = 40_000 + 10 * (rand::random::<u16>() % 2000);
        let free = (0..3).all(|n| {
            [0, 1, 3].iter().all(|offset| {
                std::net::TcpListener::bind(("127.0.0.1", base + 10 * n + offset)).is_ok()
            })
        });
        if free {
            return base;
        }
    }
    panic!("no free ports for a Garage cluster");
}
