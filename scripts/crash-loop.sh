#!/usr/bin/env bash
# The crash loop (docs/RELIABILITY.md): builds the release server and the runner, then
# `assetlib-reliability crash-loop` — N rounds (default 100) of mixed uploads, SIGKILL at random
# moments, restart; every acknowledged asset must survive and reach its outcome, fsck must be clean.
#
#   scripts/crash-loop.sh [--rounds N] [--uploads N] [--window-ms MS] [--seed N] [--work-dir DIR]
#
# Exit status 0 when every promise held, 1 when one broke (the report says which), 2 when the
# loop could not run. Uses $CARGO_TARGET_DIR like cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin assetlib -p assetlib --bin assetlib-reliability -p assetlib-reliability
exec "${CARGO_TARGET_DIR:-target}/release/assetlib-reliability" crash-loop "$@"
