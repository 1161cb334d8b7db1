//! `packaging/assetlib.service` (docs/OPERATIONS.md, Running under systemd): `systemd-analyze
//! verify` finds nothing to say of it, with `ExecStart` pointing at the binary under test; and
//! the command it runs, `assetlib serve` with only the unit's variables, starts.

use std::path::Path;
use std::process::Command;

use crate::common::BIN;

const UNIT: &str = include_str!("../../packaging/assetlib.service");

#[test]
fn the_systemd_unit_verifies_clean() {
    let found = Command::new("systemd-analyze").arg("--version").output();
    if !found.is_ok_and(|out| out.status.success()) {
        assert!(
            !assetlib_test_support::opt_in::backends_required(),
            "systemd-analyze is missing (apt-get install systemd)"
        );
        eprintln!("packaging: skipped, systemd-analyze is not installed");
        return;
    }
    assert!(UNIT.contains("ExecStart=/usr/local/bin/assetlib serve"));
    let dir = tempfile::tempdir().expect("dir");
    let unit = dir.path().join("assetlib.service");
    std::fs::write(
        &unit,
        UNIT.replace(
            "/usr/local/bin/assetlib",
            &Path::new(BIN).display().to_string(),
        ),
    )
    .expect("unit written");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.trim().is_empty(), "systemd-analyze verify: {said}");
}

/// The unit's `Environment=` lines and `ExecStart` make a server that starts.
#[test]
fn the_units_command_starts_a_server() {
    let dir = tempfile::tempdir().expect("state dir");
    let mut serve = assetlib_test_support::Serve::new(BIN, dir.path());
    for line in UNIT.lines() {
        if let Some((k, v)) = line
            .strip_prefix("Environment=")
            .and_then(|kv| kv.split_once('='))
        {
            // The state directory is the test's; the port a free one.
            if k != "ASSETLIB_DATA_DIR" && k != "ASSETLIB_LISTEN" {
                serve = serve.env(k, v);
            }
        }
    }
    let node = serve.start().expect("the unit's command starts");
    assert!(
        node.printed_key.is_some(),
        "the admin key is printed to the journal"
    );
}
