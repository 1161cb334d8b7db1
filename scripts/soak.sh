#!/usr/bin/env bash
# The soak (docs/RELIABILITY.md): builds the release server and the runner, then
# `assetlib-reliability soak` — a steady mixed load for a bounded time (default 30 min), the
# server's RSS and open descriptors sampled every 10 s; fails if either grows, on any 5xx, on a
# request without an answer, or if the server dies or does not stop cleanly.
#
#   scripts/soak.sh [--duration-secs S] [--interval-secs S] [--uploads-per-sec R]
#                   [--reads-per-sec R] [--warmup-secs S] [--workers N] [--work-dir DIR]
#
# Uses $CARGO_TARGET_DIR like cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin assetlib -p assetlib --bin assetlib-reliability -p assetlib-reliability
exec "${CARGO_TARGET_DIR:-target}/release/assetlib-reliability" soak "$@"
