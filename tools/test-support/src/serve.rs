//! The server binary's commands: `assetlib serve` as a [`Proc`], and one-shot commands.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{Proc, Stderr};

/// The line `assetlib serve` prints once it accepts connections, before its address.
pub const LISTENING: &str = "assetlib listening on ";

/// Log filter of child servers: warnings, plus one line per finished job and per upload.
pub const JOB_LOGS: &str = "warn,assetlib::jobs=info,assetlib::service::ingest=info";

/// `assetlib serve` on a free loopback port with private networks allowed (origins are local),
/// on a data directory; more flags with [`Serve::args`].
#[derive(Debug, Clone)]
pub struct Serve {
    bin: PathBuf,
    data_dir: PathBuf,
    args: Vec<OsString>,
    log: String,
    stderr: Stderr,
    env: Vec<(OsString, OsString)>,
}

impl Serve {
    /// `bin` is the server binary (tests: `env!("CARGO_BIN_EXE_assetlib")`). Defaults: log
    /// filter `warn`, stderr captured.
    pub fn new(bin: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            bin: bin.into(),
            data_dir: data_dir.into(),
            args: Vec::new(),
            log: "warn".to_owned(),
            stderr: Stderr::Capture,
            env: Vec::new(),
        }
    }

    /// More flags for `serve`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The `ASSETLIB_LOG` filter.
    pub fn log(mut self, filter: &str) -> Self {
        filter.clone_into(&mut self.log);
        self
    }

    /// One more environment variable of the server.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn stderr(mut self, stderr: Stderr) -> Self {
        self.stderr = stderr;
        self
    }

    /// Starts the server and waits until it listens; `base` is its `http://` address.
    pub fn start(self) -> io::Result<Proc> {
        let mut command = Command::new(&self.bin);
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--allow-private-networks",
                "--data-dir",
            ])
            .arg(&self.data_dir)
            .args(&self.args)
            .env("ASSETLIB_LOG", &self.log)
            // Every client of a test server is on loopback: one address.
            .env("ASSETLIB_MAX_CONNECTIONS_PER_ADDRESS", "0")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        Proc::start(command, LISTENING, self.stderr)
    }
}

/// Runs a one-shot command of the binary (logs at `warn`, echoed to stderr); returns its exit
/// code (-1 when killed by a signal) and stdout.
pub fn run(bin: &Path, args: &[&str]) -> io::Result<(i32, String)> {
    let out = Command::new(bin)
        .args(args)
        .env("ASSETLIB_LOG", "warn")
        .output()?;
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}
