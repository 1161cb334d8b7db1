#!/usr/bin/env bash
# A rolling upgrade of two nodes on PostgreSQL, driven for real (docs/OPERATIONS.md, Upgrades):
# both nodes start on the previous release, a client keeps uploading and reading through
# whichever node answers (as a load balancer would), and each node in turn is stopped (SIGTERM)
# and started on the current build. At the end every upload the client was answered for is
# read back, byte for byte, from both upgraded nodes.
#
#   scripts/rolling-upgrade.sh [--short] [PREVIOUS_COMMIT]
#
# --short (what CI runs, .ci/run): the same roll-out with shorter pauses and a slower client,
# so fewer uploads to read back (a few dozen instead of a few hundred).
#
# PREVIOUS_COMMIT defaults to the newest tag, else to PINNED_PREVIOUS below (chosen, not
# searched for, so that every run and every machine tests the same upgrade; its migrations
# are a strict subset of the current ones, so the new node migrates the schema under the old
# one — move it forward when a release is tagged or the pinned one grows too old). It is built
# from its sources (git archive) in $HOME/.cache/assetlib-prev (ASSETLIB_PREV_CACHE), outside the clone
# and kept: a later run for the same commit builds nothing. A cold cache is first seeded with
# the dependency artifacts of this checkout's target dir (CARGO_TARGET_DIR, as CI sets it), so
# only the workspace crates are compiled. Needs TEST_DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/test), psql, curl; the blobs go to a shared temp
# directory, or to ASSETLIB_BLOB_URL (s3://…) when set.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
run_started=$(date +%s)

# The previous release when no tag exists: an ancestor of main with fewer migrations.
PINNED_PREVIOUS=f24bebb28ac6b5b955dd3c545348e8b286c529a3

SHORT=""
if [ "${1:-}" = "--short" ]; then
    SHORT=1
    shift
fi
# Seconds the two nodes serve before and after each replacement; the client's pause between
# uploads.
SETTLE=3 PAUSE=0
if [ -n "$SHORT" ]; then
    SETTLE=1 PAUSE=0.2
fi

PG=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
CACHE=${ASSETLIB_PREV_CACHE:-$HOME/.cache/assetlib-prev}
PREV=${1:-}
if [ -z "$PREV" ]; then
    PREV=$(git describe --tags --abbrev=0 2>/dev/null || true)
fi
PREV=${PREV:-$PINNED_PREVIOUS}
PREV=$(git rev-parse --verify "$PREV^{commit}")
echo "== previous release: $(git log -1 --format='%h %ad %s' --date=short "$PREV" | cut -c1-100)"
# Its migrations must be some of ours, unchanged, or the new node refuses its database.
migrations_of() { git ls-tree "$1" migrations/postgres/ migrations/sqlite/ | awk '{print $3, $4}' | sort; }
if [ -n "$(comm -23 <(migrations_of "$PREV") <(migrations_of HEAD))" ]; then
    echo "the migrations of $PREV are not a subset of the current ones; name another" >&2
    exit 2
fi

# Build both (the previous one in the cache, outside the clone).
NEW_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OLD="$CACHE/target/debug/assetlib"
mkdir -p "$CACHE"
started=$(date +%s)
if [ -x "$OLD" ] && [ "$(cat "$CACHE/built" 2>/dev/null)" = "$PREV" ]; then
    echo "== previous build: cached ($CACHE, $(git rev-parse --short "$PREV"))"
else
    # Its sources, exported (no worktree: the cache outlives the clone that made it).
    if [ "$(git -C "$CACHE/src" rev-parse HEAD 2>/dev/null)" != "$PREV" ]; then
        rm -rf "$CACHE/src"
        mkdir -p "$CACHE/src"
        git archive "$PREV" | tar -x -C "$CACHE/src"
    fi
    if [ ! -d "$CACHE/target/debug" ] && [ -d "$NEW_TARGET/debug/deps" ]; then
        # The dependencies' artifacts (same sources, same flags) are reused as they are;
        # the workspace crates, at another path, get artifacts of their own.
        mkdir -p "$CACHE/target/debug"
        for part in deps build .fingerprint; do
            cp -a --reflink=auto "$NEW_TARGET/debug/$part" "$CACHE/target/debug/"
        done
        echo "== previous build: dependencies copied from $NEW_TARGET ($(($(date +%s) - started)) s)"
    fi
    rm -f "$CACHE/built"
    (cd "$CACHE/src" && CARGO_TARGET_DIR="$CACHE/target" cargo build -q --bin assetlib)
    echo "$PREV" >"$CACHE/built"
    echo "== previous build: $(($(date +%s) - started)) s"
fi
started=$(date +%s)
cargo build -q --bin assetlib
echo "== current build: $(($(date +%s) - started)) s"
NEW="$NEW_TARGET/debug/assetlib"

WORK=$(mktemp -d)
SCHEMA="rolling_$$"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
    done
    psql -q "$PG" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$PG" -c "CREATE SCHEMA $SCHEMA" >/dev/null
sep='?'
case "$PG" in *\?*) sep='&' ;; esac
export ASSETLIB_DATABASE_URL="${PG}${sep}options=-c%20search_path%3D${SCHEMA}"
export ASSETLIB_BLOB_URL=${ASSETLIB_BLOB_URL:-file://$WORK/blobs}
export ASSETLIB_SIGNING_SECRET=rolling-upgrade-secret
export ASSETLIB_MAX_CONNECTIONS_PER_ADDRESS=0 ASSETLIB_LOG=warn

# start NAME BINARY: a node on a free port; its base URL in $WORK/NAME.base.
start() {
    local name=$1 bin=$2
    mkdir -p "$WORK/$name"
    "$bin" serve --listen 127.0.0.1:0 --data-dir "$WORK/$name" \
        >"$WORK/$name.out" 2>>"$WORK/$name.log" &
    local pid=$!
    PIDS+=("$pid")
    echo "$pid" >"$WORK/$name.pid"
    for _ in $(seq 1 600); do
        if grep -q '^assetlib listening on ' "$WORK/$name.out"; then
            sed -n 's/^assetlib listening on //p' "$WORK/$name.out" >"$WORK/$name.base"
            return
        fi
        kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log"; echo "$name exited" >&2; exit 1; }
        sleep 0.1
    done
    echo "$name did not start" >&2
    exit 1
}
stop() {
    local pid
    pid=$(cat "$WORK/$1.pid")
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

start a "$OLD"
start b "$OLD"
KEY=$(grep -h '^alk_' "$WORK/a.out" "$WORK/b.out" | head -1)
[ -n "$KEY" ] || { echo "no admin key printed" >&2; exit 1; }
echo "== two nodes on the previous release: $(cat "$WORK/a.base") $(cat "$WORK/b.base")"

# The client: uploads a document and reads one back, through node a or else node b.
client() {
    local n=0 ok=0 failed=0
    while [ ! -e "$WORK/stop" ]; do
        n=$((n + 1))
        printf 'rolling upgrade document %d\n%s\n' "$n" "$(date +%s%N)" >"$WORK/doc-$n"
        local done=""
        for node in a b; do
            [ -s "$WORK/$node.base" ] || continue
            local base
            base=$(cat "$WORK/$node.base")
            local out
            if out=$(curl -sf --max-time 10 -X PUT -H "Authorization: Bearer $KEY" \
                -H 'Content-Type: text/plain' --data-binary "@$WORK/doc-$n" \
                "$base/v1/assets/doc-$n.txt?assetType=Document"); then
                echo "$(sed -n 's/.*"assetId":"\([^"]*\)".*/\1/p' <<<"$out") $n" >>"$WORK/acked"
                done=1
                break
            fi
        done
        if [ -n "$done" ]; then ok=$((ok + 1)); else failed=$((failed + 1)); fi
        sleep "$PAUSE"
    done
    echo "$ok $failed" >"$WORK/client.result"
}
client &
CLIENT=$!
sleep "$SETTLE"

for node in a b; do
    echo "== replacing node $node"
    rm -f "$WORK/$node.base"
    stop "$node"
    : >"$WORK/$node.out"
    start "$node" "$NEW"
    sleep "$SETTLE"
done
touch "$WORK/stop"
wait "$CLIENT"
read -r ok failed <"$WORK/client.result"
echo "== client: $ok uploads answered, $failed refused by both nodes"

checked=0
while read -r id n; do
    for node in a b; do
        curl -sf -o /dev/null -H "Authorization: Bearer $KEY" \
            "$(cat "$WORK/$node.base")/v1/assets/$id?wait=30"
        got=$(curl -sf -H "Authorization: Bearer $KEY" "$(cat "$WORK/$node.base")/v1/assets/$id/content")
        if [ "$got" != "$(cat "$WORK/doc-$n")" ]; then
            echo "asset $id (upload $n) differs on node $node" >&2
            exit 1
        fi
    done
    checked=$((checked + 1))
done <"$WORK/acked"
[ "$failed" -eq 0 ] || { echo "uploads failed on both nodes during the roll-out" >&2; exit 1; }
[ "$checked" -gt 0 ] || { echo "no upload was answered" >&2; exit 1; }
echo "== rolling upgrade: $checked uploads read back byte for byte from both upgraded nodes ($(($(date +%s) - run_started)) s)"
