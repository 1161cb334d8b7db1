#!/usr/bin/env bash
# A rolling upgrade of two nodes on PostgreSQL, driven for real (docs/OPERATIONS.md, Upgrades):
# both nodes start on the previous release, a client keeps uploading and reading through
# whichever node answers (as a load balancer would), and each node in turn is stopped (SIGTERM)
# and started on the current build. At the end every upload the client was answered for is
# read back, byte for byte, from both upgraded nodes.
#
#   scripts/rolling-upgrade.sh [PREVIOUS_COMMIT]
#
# PREVIOUS_COMMIT defaults to the newest tag, else to the newest earlier commit whose
# migrations are a strict subset of the current ones (so the new node migrates the schema
# under the old one). It is built
# from a git worktree into $HOME/.cache/assetlib-prev (kept: later runs rebuild only what
# changed). Needs TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), psql,
# curl; the blobs go to a shared temp directory, or to ASSETLIB_BLOB_URL (s3://…) when set.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PG=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
CACHE=${ASSETLIB_PREV_CACHE:-$HOME/.cache/assetlib-prev}
PREV=${1:-}
if [ -z "$PREV" ]; then
    PREV=$(git describe --tags --abbrev=0 2>/dev/null || true)
fi
# migrations (name and content) of a commit, one a line
migrations_of() { git ls-tree "$1" migrations/postgres/ migrations/sqlite/ | awk '{print $3, $4}' | sort; }
if [ -z "$PREV" ]; then
    # The newest earlier commit whose migrations are fewer and each one of ours, unchanged:
    # the upgrade then migrates the schema under the old node.
    ours=$(migrations_of HEAD)
    for commit in $(git rev-list --first-parent HEAD | head -200); do
        theirs=$(migrations_of "$commit")
        if [ "$theirs" != "$ours" ] && [ -z "$(comm -23 <(echo "$theirs") <(echo "$ours"))" ]; then
            PREV=$commit
            break
        fi
    done
    [ -n "$PREV" ] || { echo "no earlier commit with fewer migrations; name one" >&2; exit 2; }
fi
PREV=$(git rev-parse --verify "$PREV^{commit}")
echo "== previous release: $(git log -1 --format='%h %ad %s' --date=short "$PREV" | cut -c1-100)"

# Build both (the previous one in a worktree of its own, its target dir cached).
mkdir -p "$CACHE"
if [ -d "$CACHE/src" ]; then
    git -C "$CACHE/src" checkout -q --detach "$PREV"
else
    git worktree add -q --detach "$CACHE/src" "$PREV"
fi
started=$(date +%s)
(cd "$CACHE/src" && CARGO_TARGET_DIR="$CACHE/target" cargo build -q --bin assetlib)
echo "== previous build: $(($(date +%s) - started)) s"
OLD="$CACHE/target/debug/assetlib"
started=$(date +%s)
cargo build -q --bin assetlib
echo "== current build: $(($(date +%s) - started)) s"
NEW="${CARGO_TARGET_DIR:-$ROOT/target}/debug/assetlib"

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
    done
    echo "$ok $failed" >"$WORK/client.result"
}
client &
CLIENT=$!
sleep 3

for node in a b; do
    echo "== replacing node $node"
    rm -f "$WORK/$node.base"
    stop "$node"
    : >"$WORK/$node.out"
    start "$node" "$NEW"
    sleep 3
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
echo "== rolling upgrade: $checked uploads read back byte for byte from both upgraded nodes"
