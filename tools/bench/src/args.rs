//! The bench's command line.

use std::path::PathBuf;

use clap::ValueEnum;

use crate::importer::{Importer, Kind};

/// What to run: one scenario, or all of them in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Choice {
    TimeToActive,
    IngestBandwidth,
    Reads,
    FaceCheck,
    Content,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    TimeToActive,
    IngestBandwidth,
    Reads,
    FaceCheck,
    Content,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::TimeToActive => "time-to-active",
            Self::IngestBandwidth => "ingest-bandwidth",
            Self::Reads => "reads",
            Self::FaceCheck => "face-check",
            Self::Content => "content",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Which scenario to run.
    #[arg(value_enum, required = true)]
    pub scenario: Option<Choice>,
    /// The server under test (default: the `assetlib` binary next to this one, i.e. from the
    /// same `cargo build` profile).
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// Run the import scenarios against this peer too (start it first; docs/PERFORMANCE.md).
    #[arg(long, value_parser = ["pictrs", "directus"])]
    pub peer: Option<String>,
    /// The peer's base URL (default: pict-rs http://127.0.0.1:18080, Directus http://127.0.0.1:18055).
    #[arg(long)]
    pub peer_url: Option<String>,
    /// Directus static token.
    #[arg(long, default_value = "bench-admin-static-token")]
    pub peer_token: String,
    /// Tiny counts and short runs: checks every scenario works (CI), measures nothing.
    #[arg(long)]
    pub smoke: bool,
    /// Open-loop rate (uploads per second) of time-to-active.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Open-loop length in seconds.
    #[arg(long, default_value_t = 60)]
    pub open_loop_secs: u64,
    /// Assets in the library for the reads scenario.
    #[arg(long, default_value_t = 1_000_000)]
    pub assets: u64,
    /// Concurrent connections of the reads scenario.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Photographs for time-to-active and face-check (`people-*.jpg` and `none-*.jpg`, as
    /// `scripts/face-eval.sh` assembles them in `$TMPDIR/assetlib-face-eval/bench`, the default
    /// when it exists); without them, the committed test photos enlarged to 1080p and 4K.
    #[arg(long)]
    pub photos: Option<PathBuf>,
    /// Where generated media are cached (default: $TMPDIR/assetlib-bench).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// A flag for the server under test, e.g. `--server-arg=--faces=allow` (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// Concurrent connections of the content scenario.
    #[arg(long, default_value_t = 8)]
    pub content_connections: usize,
    /// Seconds of each content run (one target, one file, one kind of request).
    #[arg(long, default_value_t = 5)]
    pub content_secs: u64,
    /// Rounds of the content scenario: every target once per round, in a rotating order.
    #[arg(long, default_value_t = 3)]
    pub content_rounds: usize,
    /// An earlier build of the server, measured by the content scenario in the same run (e.g.
    /// the last release's binary, for a before/after table).
    #[arg(long, value_name = "PATH")]
    pub baseline_bin: Option<std::path::PathBuf>,
    /// Also write the JSON results to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

impl BenchArgs {
    /// The scenarios to run, in order.
    pub fn scenarios(&self) -> Vec<Scenario> {
        match self.scenario {
            Some(Choice::TimeToActive) => vec![Scenario::TimeToActive],
            Some(Choice::IngestBandwidth) => vec![Scenario::IngestBandwidth],
            Some(Choice::Reads) => vec![Scenario::Reads],
            Some(Choice::FaceCheck) => vec![Scenario::FaceCheck],
            Some(Choice::Content) => vec![Scenario::Content],
            Some(Choice::All) | None => vec![
                Scenario::TimeToActive,
                Scenario::IngestBandwidth,
                Scenario::Reads,
                Scenario::FaceCheck,
                Scenario::Content,
            ],
        }
    }

    /// The peer named by `--peer`, if any.
    pub fn peer(&self) -> anyhow::Result<Option<Importer>> {
        let kind = match self.peer.as_deref() {
            Some("pictrs") => Kind::PictRs {
                base: self
                    .peer_url
                    .clone()
                    .unwrap_or_else(|| "http://127.0.0.1:18080".into()),
            },
            Some("directus") => Kind::Directus {
                base: self
                    .peer_url
                    .clone()
                    .unwrap_or_else(|| "http://127.0.0.1:18055".into()),
                token: self.peer_token.clone(),
            },
            _ => return Ok(None),
        };
        Ok(Some(Importer::new(kind)?))
    }
}
