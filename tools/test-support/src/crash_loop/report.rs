//! What the crash loop found, with the promise it checks: `Report::ok`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;

use super::Options;

#[derive(Debug)]
pub struct Report {
    pub rounds: u32,
    pub seed: u64,
    /// Uploads the server answered with an asset id.
    pub acknowledged: usize,
    /// Uploads cut by the SIGKILL (or sent while the server was down): no promise is made.
    pub unanswered: usize,
    /// Uploads answered with an error status (e.g. 429 under load), by status.
    pub refused: Vec<u16>,
    /// Acknowledged assets found still Processing after a restart (each time): work the kill
    /// interrupted or that was waiting, which the new process must finish.
    pub resumed: usize,
    /// Acknowledged assets by final status.
    pub statuses: BTreeMap<String, usize>,
    /// Acknowledged assets missing after a restart (a broken promise).
    pub lost: Vec<String>,
    /// Acknowledged assets given up after being interrupted by as many kills as the server
    /// tries a job (`processing-failed`): the documented guard, not a broken promise.
    pub given_up: usize,
    /// Acknowledged assets whose final status is not what their file deserves.
    pub wrong: Vec<String>,
    /// Acknowledged assets still Processing when the last start gave up waiting.
    pub not_terminal: Vec<String>,
    /// Time from spawning the server to its ready line, each start.
    pub starts: Vec<Duration>,
    /// Time the last start took to settle every acknowledged asset.
    pub settle: Duration,
    /// The last start stopped on SIGTERM with exit status 0.
    pub clean_stop: bool,
    /// Files left in the data directory's tmp/ after the clean stop.
    pub tmp_leftovers: usize,
    /// `assetlib fsck --grace-secs 0` after the clean stop: exit status and JSON report.
    pub fsck_exit: i32,
    pub fsck: Value,
    pub elapsed: Duration,
}

impl Report {
    pub(super) fn new(options: &Options) -> Self {
        Self {
            rounds: options.rounds,
            seed: options.seed,
            acknowledged: 0,
            unanswered: 0,
            refused: Vec::new(),
            resumed: 0,
            given_up: 0,
            statuses: BTreeMap::new(),
            lost: Vec::new(),
            wrong: Vec::new(),
            not_terminal: Vec::new(),
            starts: Vec::new(),
            settle: Duration::ZERO,
            clean_stop: false,
            tmp_leftovers: 0,
            fsck_exit: -1,
            fsck: Value::Null,
            elapsed: Duration::ZERO,
        }
    }

    pub(super) fn count(&mut self, status: &str) {
        *self.statuses.entry(status.to_owned()).or_default() += 1;
    }

    /// Every promise held: nothing acknowledged was lost, every acknowledged asset reached
    /// its outcome, the server stopped cleanly with no temp file left, fsck is clean.
    pub fn ok(&self) -> bool {
        self.acknowledged > 0
            && self.lost.is_empty()
            && self.wrong.is_empty()
            && self.not_terminal.is_empty()
            && self.clean_stop
            && self.tmp_leftovers == 0
            && self.fsck_exit == 0
    }

    /// A readable summary: one table of figures, then every broken promise.
    pub fn markdown(&self) -> String {
        let mut starts: Vec<Duration> = self.starts.clone();
        starts.sort();
        let pick = |q: f64| {
            starts
                .get(((starts.len() as f64 - 1.0) * q).round() as usize)
                .map_or(0, Duration::as_millis)
        };
        let fsck = |k: &str| self.fsck[k].as_array().map_or(0, Vec::len);
        let mut out = String::new();
        let _ = writeln!(out, "| figure | value |\n|---|---|");
        let rows = [
            ("rounds (SIGKILL + restart)", self.rounds.to_string()),
            ("seed", self.seed.to_string()),
            ("uploads acknowledged", self.acknowledged.to_string()),
            (
                "uploads cut by the kill (no answer)",
                self.unanswered.to_string(),
            ),
            (
                "uploads refused (status)",
                format!("{} {:?}", self.refused.len(), dedup(&self.refused)),
            ),
            (
                "acknowledged assets lost after a restart",
                self.lost.len().to_string(),
            ),
            (
                "found Processing after a restart (resumed)",
                self.resumed.to_string(),
            ),
            ("final statuses", format!("{:?}", self.statuses)),
            (
                "given up after max-attempts interruptions",
                self.given_up.to_string(),
            ),
            ("wrong outcome", self.wrong.len().to_string()),
            (
                "not terminal at the end",
                self.not_terminal.len().to_string(),
            ),
            (
                "start to ready, median / max (ms)",
                format!("{} / {}", pick(0.5), pick(1.0)),
            ),
            (
                "last start: all settled in (s)",
                format!("{:.1}", self.settle.as_secs_f64()),
            ),
            (
                "SIGTERM stop clean, tmp/ files left",
                format!("{}, {}", self.clean_stop, self.tmp_leftovers),
            ),
            (
                "fsck exit (orphans, missing, stuck)",
                format!(
                    "{} ({}, {}, {})",
                    self.fsck_exit,
                    fsck("orphan_blobs"),
                    fsck("missing_blobs"),
                    fsck("stuck_processing")
                ),
            ),
            (
                "fsck assets, blobs checked",
                format!(
                    "{}, {}",
                    self.fsck["assets_checked"], self.fsck["blobs_checked"]
                ),
            ),
            (
                "wall time (s)",
                format!("{:.0}", self.elapsed.as_secs_f64()),
            ),
        ];
        for (k, v) in rows {
            let _ = writeln!(out, "| {k} | {v} |");
        }
        for (what, list) in [
            ("lost", &self.lost),
            ("wrong", &self.wrong),
            ("not terminal", &self.not_terminal),
        ] {
            for item in list.iter().take(20) {
                let _ = writeln!(out, "{what}: {item}");
            }
        }
        if self.fsck_exit != 0 {
            let _ = writeln!(out, "fsck: {}", self.fsck);
        }
        out
    }
}

fn dedup(statuses: &[u16]) -> Vec<u16> {
    let mut v = statuses.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}
