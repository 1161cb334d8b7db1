//! A child process that announces itself on stdout: started, its stdout read up to the ready
//! line and drained afterwards, its stderr captured line by line (or left on the terminal),
//! SIGKILLed when dropped (also when a test fails or a benchmark ends early).

use std::io::{self, BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where the child's stderr goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stderr {
    /// Collected line by line, for [`Proc::logs`].
    Capture,
    /// This process's own stderr.
    Inherit,
}

type Lines = Arc<Mutex<Vec<String>>>;

/// Log lines shown in the error when a child exits before it is ready.
const LAST_LINES: usize = 20;

pub struct Proc {
    child: Child,
    /// The rest of the ready line, trimmed (`assetlib serve`: `http://127.0.0.1:PORT`).
    pub base: String,
    /// The admin key printed before the ready line (first start of a data directory).
    pub printed_key: Option<String>,
    logs: Lines,
    /// The thread that reads stderr into `logs`; it ends at the pipe's end, when the child
    /// has exited.
    reader: Option<JoinHandle<()>>,
}

/// How long a stopped child's last log lines may take to be read out of its pipe.
const DRAIN_WITHIN: Duration = Duration::from_secs(10);

impl Proc {
    /// Starts `command` and reads its stdout until a line that starts with `ready`; fails if
    /// the process exits first (with its last log lines when they are captured).
    pub fn start(mut command: Command, ready: &str, stderr: Stderr) -> io::Result<Proc> {
        let program = command.get_program().to_string_lossy().into_owned();
        command.stdout(Stdio::piped());
        command.stderr(match stderr {
            Stderr::Capture => Stdio::piped(),
            Stderr::Inherit => Stdio::inherit(),
        });
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("starting {program}: {e}")))?;
        let logs = Lines::default();
        let reader = child
            .stderr
            .take()
            .map(|err| collect(err, Arc::clone(&logs)));
        let mut printed_key = None;
        let mut base = None;
        if let Some(stdout) = child.stdout.take() {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if line.starts_with("alk_") {
                    printed_key = Some(line.trim().to_owned());
                }
                if let Some(rest) = line.strip_prefix(ready) {
                    base = Some(rest.trim().to_owned());
                    break;
                }
            }
            // Keep draining stdout so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
        }
        let Some(base) = base else {
            let _ = child.kill();
            let status = child.wait()?;
            if let Some(reader) = reader {
                let _ = reader.join();
            }
            let lines = snapshot(&logs);
            let tail = lines[lines.len().saturating_sub(LAST_LINES)..].join("\n");
            return Err(io::Error::other(format!(
                "{program} exited ({status}) before printing \"{}\"\n{tail}",
                ready.trim()
            )));
        };
        Ok(Proc {
            child,
            base,
            printed_key,
            logs,
            reader,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every captured log line so far (none when stderr is inherited).
    pub fn logs(&self) -> Vec<String> {
        snapshot(&self.logs)
    }

    /// Whether a captured line matches `line` within `within`: the lines are read on a thread
    /// of their own, which may deliver a line the child wrote long ago only now (a loaded
    /// machine runs it late).
    pub fn saw_line(&self, line: impl Fn(&str) -> bool, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self
                .logs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|l| line(l))
            {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL now (a crash); every log line written before it is in [`Proc::logs`] when
    /// this returns.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.drain();
    }

    /// Waits (up to `DRAIN_WITHIN`) for the reader to take the last lines of the exited
    /// child out of the pipe: it ends at the pipe's end. A fixed pause was not enough on a
    /// loaded machine, where the reader may run late.
    fn drain(&mut self) {
        let deadline = Instant::now() + DRAIN_WITHIN;
        while self.reader.as_ref().is_some_and(|r| !r.is_finished()) {
            if Instant::now() >= deadline {
                return; // something else holds the pipe open: read what is there
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// Asks the process to stop (SIGTERM) and waits up to `within` for it to exit; every log
    /// line written before it exited is in [`Proc::logs`] when this returns.
    pub fn terminate(&mut self, within: Duration) -> io::Result<ExitStatus> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()?;
        if !sent.success() {
            return Err(io::Error::other(format!(
                "kill -TERM {}: {sent}",
                self.pid()
            )));
        }
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.drain();
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "process {} still running {within:?} after SIGTERM",
                        self.pid()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Peak resident memory of the process so far (`VmHWM`), in MiB; `None` off Linux.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

impl Drop for Proc {
    /// SIGKILL: no chance to clean up, as in a crash.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(stderr: impl io::Read + Send + 'static, logs: Lines) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            logs.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(line);
        }
    })
}

fn snapshot(logs: &Lines) -> Vec<String> {
    logs.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shell that prints its ready line, writes `lines` lines to stderr, creates `marker`
    /// once it has written them all, then waits (as `sleep`, the same process) to be stopped.
    fn chatty(lines: usize, marker: &std::path::Path) -> Proc {
        let script = format!(
            "echo ready; seq -f 'line %g' 0 {} >&2; : > '{}'; exec sleep 60",
            lines - 1,
            marker.display()
        );
        let mut command = Command::new("sh");
        command.args(["-c", &script]);
        Proc::start(command, "ready", Stderr::Capture).expect("start sh")
    }

    fn wait_for(marker: &std::path::Path) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !marker.exists() {
            assert!(Instant::now() < deadline, "the child never wrote its lines");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn marker(name: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "assetlib-test-support-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        path
    }

    fn assert_all_read(proc: &Proc, lines: usize) {
        let logs = proc.logs();
        assert_eq!(logs.len(), lines, "every line read");
        assert_eq!(logs.last().map(String::as_str), Some("line 19999"));
    }

    #[test]
    fn every_line_a_killed_child_wrote_is_read_when_kill_returns() {
        let marker = marker("kill");
        let mut proc = chatty(20_000, &marker);
        wait_for(&marker);
        proc.kill();
        assert_all_read(&proc, 20_000);
        let _ = std::fs::remove_file(&marker);
    }

    #[test]
    fn a_line_is_waited_for_and_a_missing_one_is_not_seen() {
        let marker = marker("saw");
        let proc = chatty(2_000, &marker);
        assert!(proc.saw_line(|l| l == "line 1999", Duration::from_secs(30)));
        assert!(!proc.saw_line(|l| l == "line 2000", Duration::from_millis(50)));
        let _ = std::fs::remove_file(&marker);
    }

    #[test]
    fn every_line_a_terminated_child_wrote_is_read_when_terminate_returns() {
        let marker = marker("term");
        let mut proc = chatty(20_000, &marker);
        wait_for(&marker);
        proc.terminate(Duration::from_secs(30)).expect("stops");
        assert_all_read(&proc, 20_000);
        let _ = std::fs::remove_file(&marker);
    }
}
