//! Tests that need a service or a browser run when it is there and otherwise say, in one line,
//! that they were skipped and how to run them — the first test skipped for a reason in a test
//! binary, which says the others are not listed: PostgreSQL (`TEST_DATABASE_URL`), an
//! S3-compatible server (`TEST_S3_ENDPOINT`), the Garage binary for a cluster a test starts and
//! breaks itself (`TEST_GARAGE_BIN`), Chromium with chromedriver (found on `PATH`).
//!
//! CI sets `ASSETLIB_REQUIRE_BACKENDS=1`, `ASSETLIB_REQUIRE_BROWSER=1` and
//! `ASSETLIB_REQUIRE_CLIENTS=1` (a Python SDK a test drives): there a missing one
//! fails the test instead, so nothing is skipped unnoticed. The few scenarios that take half a
//! minute or more in a debug build run with `ASSETLIB_SLOW_TESTS=1` (CI sets it too).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Set to `1` to fail, rather than skip, tests whose PostgreSQL or S3 server is not configured.
pub const REQUIRE_BACKENDS: &str = "ASSETLIB_REQUIRE_BACKENDS";
/// Set to `1` to fail, rather than skip, browser tests when no Chromium is found.
pub const REQUIRE_BROWSER: &str = "ASSETLIB_REQUIRE_BROWSER";

/// Set to `1` to fail, rather than skip, tests that drive a real client of another ecosystem
/// (a Python SDK from PyPI) when it is not installed.
pub const REQUIRE_CLIENTS: &str = "ASSETLIB_REQUIRE_CLIENTS";

/// Set to `1` to run the slow scenarios too.
pub const SLOW_TESTS: &str = "ASSETLIB_SLOW_TESTS";

/// Executable names of the browser, in the order they are looked for.
const CHROMIUM: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];
const CHROMEDRIVER: &str = "chromedriver";

/// The PostgreSQL URL `test` runs against, or `None` (after one line saying it was skipped).
pub fn database_url(test: &str) -> Option<String> {
    backend(
        "TEST_DATABASE_URL",
        "PostgreSQL",
        "postgres://postgres@127.0.0.1:5432/test",
        test,
    )
}

/// The S3-compatible endpoint `test` runs against, or `None` (after one line saying it was
/// skipped). The AWS_* variables of the object_store crate give the credentials.
pub fn s3_endpoint(test: &str) -> Option<String> {
    backend(
        "TEST_S3_ENDPOINT",
        "an S3-compatible server",
        "http://127.0.0.1:5055",
        test,
    )
}

/// The `garage` binary for `test`, which starts a Garage cluster of its own
/// (`scripts/garage-cluster.sh`) to kill its nodes, or `None` (after one line saying it was
/// skipped). `scripts/garage-cluster.sh start` prints `TEST_GARAGE_BIN` with the other
/// variables of the S3 tests.
pub fn garage_bin(test: &str) -> Option<PathBuf> {
    backend(
        "TEST_GARAGE_BIN",
        "a garage binary",
        "$HOME/.cache/garage/bin/garage, built by .ci/run",
        test,
    )
    .map(PathBuf::from)
}

/// Whether the slow scenario `test` runs; if not, one line says it was skipped and how to run it.
pub fn slow(test: &str) -> bool {
    decide(
        required(SLOW_TESTS).then_some(()),
        false,
        test,
        &format!("a slow scenario; set {SLOW_TESTS}=1 to run it"),
        SLOW_TESTS,
    )
    .is_some()
}

/// Whether `ASSETLIB_REQUIRE_BACKENDS` is on: a test whose other prerequisites of a backend
/// (such as PostgreSQL's server binaries) are missing fails rather than skips.
pub fn backends_required() -> bool {
    required(REQUIRE_BACKENDS)
}

fn backend(var: &str, what: &str, example: &str, test: &str) -> Option<String> {
    let value = std::env::var(var).ok().filter(|v| !v.is_empty());
    decide(
        value,
        backends_required(),
        test,
        &format!("it needs {what}; set {var} (e.g. {example}) to run it"),
        REQUIRE_BACKENDS,
    )
}

/// A browser for end-to-end tests: Chromium and the chromedriver that drives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Browser {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// Chromium and chromedriver from `PATH` for `test`, or `None` (after one line saying it was
/// skipped and how to enable it).
pub fn browser(test: &str) -> Option<Browser> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    decide(
        find_browser(&path),
        required(REQUIRE_BROWSER),
        test,
        "it needs Chromium and chromedriver on PATH \
         (Debian: apt-get install chromium chromium-driver)",
        REQUIRE_BROWSER,
    )
}

/// Whether `python3` can import `module` (a client SDK from PyPI) for `test`; if not, one
/// line says it was skipped and how to install it.
pub fn python_module(module: &str, package: &str, test: &str) -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    decide(
        found.then_some(()),
        required(REQUIRE_CLIENTS),
        test,
        &format!("it needs python3 with {package} (pip install {package})"),
        REQUIRE_CLIENTS,
    )
    .is_some()
}

/// Chromium and chromedriver in the directories of a `PATH` value.
pub fn find_browser(path: &OsStr) -> Option<Browser> {
    let dirs: Vec<PathBuf> = std::env::split_paths(path).collect();
    let find = |name: &str| {
        dirs.iter()
            .map(|dir| dir.join(name))
            .find(|file| is_executable(file))
    };
    Some(Browser {
        chromium: CHROMIUM.iter().find_map(|name| find(name))?,
        chromedriver: find(CHROMEDRIVER)?,
    })
}

fn is_executable(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether a `REQUIRE_*` switch is on (`1`, `true` or `yes`).
fn required(switch: &str) -> bool {
    std::env::var(switch).is_ok_and(|v| is_on(&v))
}

fn is_on(value: &str) -> bool {
    matches!(value.trim(), "1" | "true" | "yes")
}

/// What a test gets: the thing when found; otherwise a failure when required, else `None`
/// after the skip line — once per reason in a test binary: `skipped TEST: REASON`, saying that
/// later tests skipped for it are not listed. The line is written to the process's stderr
/// itself, not through `eprintln!`, which the test harness captures and drops for a test that
/// passes.
fn decide<T>(
    found: Option<T>,
    required: bool,
    test: &str,
    reason: &str,
    switch: &str,
) -> Option<T> {
    decide_with(
        found,
        required,
        test,
        reason,
        switch,
        &mut std::io::stderr().lock(),
    )
}

fn decide_with<T>(
    found: Option<T>,
    required: bool,
    test: &str,
    reason: &str,
    switch: &str,
    out: &mut dyn std::io::Write,
) -> Option<T> {
    static SHOWN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    if found.is_some() {
        return found;
    }
    if required {
        panic!("skipped {test}: {reason}; {switch}=1 makes that a failure");
    }
    let mut shown = SHOWN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !shown.iter().any(|r| r == reason) {
        shown.push(reason.to_owned());
        let _ = writeln!(
            out,
            "skipped {test}: {reason} (other tests skipped for this reason are not listed)"
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(dir: &Path, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let file = dir.join(name);
        std::fs::write(&file, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        file
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("assetlib-opt-in-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    /// Two tests that skip for one reason; run only, in a process of its own, by
    /// `a_skip_line_is_shown_by_a_test_run_that_captures_output`, which reads the lines it
    /// leaves on stderr.
    #[test]
    #[ignore = "the body of a_skip_line_is_shown_by_a_test_run_that_captures_output, \
                which runs it in a child test process and checks that process's stderr"]
    fn skipping_child() {
        for test in ["the child test", "its sibling"] {
            let ran: Option<()> = decide(None, false, test, "a reason", "X");
            assert!(ran.is_none());
        }
    }

    #[test]
    fn a_skip_line_is_shown_by_a_test_run_that_captures_output() {
        let exe = std::env::current_exe().expect("the test binary");
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "opt_in::tests::skipping_child",
                "--include-ignored",
                "--test-threads=1",
            ])
            .output()
            .expect("the test binary runs");
        assert!(out.status.success(), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("skipped the child test: a reason (other tests"),
            "the skip line was swallowed by the harness: {out:?}"
        );
        // One line per reason, not one per test.
        assert!(!stderr.contains("its sibling"), "{stderr}");
    }

    #[test]
    fn the_browser_is_found_on_path_with_its_driver() {
        let bin = temp_dir("both");
        let empty = temp_dir("empty");
        let chromium = executable(&bin, "chromium");
        let driver = executable(&bin, "chromedriver");
        let path = std::env::join_paths([&empty, &bin]).expect("path");
        assert_eq!(
            find_browser(&path),
            Some(Browser {
                chromium,
                chromedriver: driver,
            })
        );
        // Without the driver, or with a file that is not executable, there is no browser.
        let half = temp_dir("half");
        executable(&half, "chromium-browser");
        std::fs::write(half.join("chromedriver"), "not executable").expect("write");
        assert_eq!(find_browser(half.as_os_str()), None);
        assert_eq!(find_browser(empty.as_os_str()), None);
        assert_eq!(find_browser(OsStr::new("")), None);
        for dir in [bin, empty, half] {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[test]
    fn a_missing_service_is_skipped_unless_required() {
        let mut out = Vec::new();
        let mut run = |found, required| {
            decide_with::<u8>(found, required, "t", "r", REQUIRE_BROWSER, &mut out)
        };
        assert_eq!(run(Some(3), false), Some(3));
        assert_eq!(run(Some(3), true), Some(3));
        assert_eq!(run(None, false), None);
        assert_eq!(run(None, false), None);
        let text = String::from_utf8(out).expect("UTF-8");
        assert_eq!(
            text, "skipped t: r (other tests skipped for this reason are not listed)\n",
            "one line for the reason, none for the found"
        );
        let required = std::panic::catch_unwind(|| {
            decide::<u8>(None, true, "x", "it needs y", REQUIRE_BROWSER)
        });
        let message = required.expect_err("a required browser fails the test");
        let text = message
            .downcast_ref::<String>()
            .expect("a formatted panic message");
        assert!(text.contains("ASSETLIB_REQUIRE_BROWSER=1"), "{text}");
        assert!(text.contains("it needs y"), "{text}");
    }

    #[test]
    fn switches_read_as_on_or_off() {
        for on in ["1", "true", "yes", " 1\n"] {
            assert!(is_on(on), "{on:?}");
        }
        for off in ["", "0", "false", "no"] {
            assert!(!is_on(off), "{off:?}");
        }
    }
}
