//! The server under test: the `assetlib` binary, started on a temp data dir as a child process
//! (so its memory is measured alone), killed when dropped.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, bail};
use assetlib_test_support::{Proc, Serve, Stderr};

use crate::importer::{Importer, Kind};
use crate::stats::Row;

/// Where the server binary is.
#[derive(Debug, Clone)]
pub struct Binary {
    path: PathBuf,
}

impl Binary {
    /// `explicit`, or the `assetlib` binary in this executable's directory (the same Cargo
    /// profile directory: `target/release` under `--release`, `target/debug` otherwise).
    pub fn locate(explicit: Option<&Path>) -> anyhow::Result<Self> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => {
                let exe = std::env::current_exe().context("locating this executable")?;
                let dir = exe.parent().unwrap_or(Path::new("."));
                dir.join(format!("assetlib{}", std::env::consts::EXE_SUFFIX))
            }
        };
        if !path.is_file() {
            let how = if explicit.is_some() {
                "check the --server-bin path".to_owned()
            } else if cfg!(debug_assertions) {
                "build it first with `cargo build` (this is a debug bench), or name one with \
                 --server-bin PATH"
                    .to_owned()
            } else {
                "build it first with `cargo build --release`, or name one with --server-bin PATH"
                    .to_owned()
            };
            bail!("no assetlib server binary at {}: {how}", path.display());
        }
        Ok(Self { path })
    }
}

impl fmt::Display for Binary {
    /// The path and how long ago it was built (a stale server is an easy mistake to make).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        let age = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        if let Some(age) = age {
            write!(f, " (built {} min ago)", age.as_secs() / 60)?;
        }
        Ok(())
    }
}

/// An assetlib server on a temp data dir (or a given one), killed when dropped.
pub struct Node {
    proc: Proc,
    pub base: String,
    /// The admin key printed on first start.
    pub key: String,
    _dir: Option<tempfile::TempDir>,
}

impl Node {
    /// `assetlib serve` on a fresh temp data dir (or `data_dir`), loopback sources allowed, its
    /// warnings on this terminal (`ASSETLIB_LOG` sets the filter).
    pub fn start(
        binary: &Binary,
        data_dir: Option<&Path>,
        extra: &[String],
    ) -> anyhow::Result<Self> {
        let (dir, path) = match data_dir {
            Some(p) => (None, p.to_path_buf()),
            None => {
                let d = tempfile::Builder::new()
                    .prefix("assetlib-bench-")
                    .tempdir()?;
                let p = d.path().to_path_buf();
                (Some(d), p)
            }
        };
        let log = std::env::var("ASSETLIB_LOG").unwrap_or_else(|_| "warn".into());
        let proc = Serve::new(&binary.path, path)
            .args(extra)
            .log(&log)
            .stderr(Stderr::Inherit)
            .start()
            .context("starting the server under test")?;
        Ok(Self {
            base: proc.base.clone(),
            key: proc.printed_key.clone().unwrap_or_default(),
            proc,
            _dir: dir,
        })
    }

    /// A client of this server's kyy and v1 faces.
    pub fn importer(&self) -> anyhow::Result<Importer> {
        Importer::new(Kind::Assetlib {
            base: self.base.clone(),
            key: self.key.clone(),
        })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Peak resident memory of the server process so far (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        self.proc.peak_rss_mib()
    }

    /// `rows` with the server's peak RSS noted on the last one.
    pub fn note_rss(&self, mut rows: Vec<Row>) -> Vec<Row> {
        if let (Some(last), Some(rss)) = (rows.last_mut(), self.peak_rss_mib()) {
            let sep = if last.note.is_empty() { "" } else { "; " };
            last.note = format!("{}{sep}server peak RSS {rss:.0} MiB", last.note);
        }
        rows
    }
}
