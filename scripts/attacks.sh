#!/usr/bin/env bash
# The attack suite (docs/RELIABILITY.md, "Attacks from outside, again"): builds the release
# server and the runner, then `assetlib-reliability attacks` — every hole an adversarial run
# from outside found, attacked again against the server on loopback (racing completions, quota
# races, reserved uploads, signed replays, sign-out, security headers, unparseable requests,
# delivery ids, slow readers, an Idempotency-Key outlived by its call); prints one table and
# fails if any hole is open.
#
#   scripts/attacks.sh [--work-dir DIR]
#
# Uses $CARGO_TARGET_DIR like cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin assetlib -p assetlib --bin assetlib-reliability -p assetlib-reliability
exec "${CARGO_TARGET_DIR:-target}/release/assetlib-reliability" "$@" attacks
