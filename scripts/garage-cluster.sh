#!/usr/bin/env bash
# A three-node Garage cluster (an S3-compatible object store, replication factor 3) on loopback
# ports, for the S3 tests and for trying a scaled-out assetlib on one machine.
#
#   scripts/garage-cluster.sh install       build the pinned garage into $HOME/.cache/garage
#                                           unless it is there (cold: see docs/TESTING.md)
#   scripts/garage-cluster.sh start [DIR]   start the nodes (or the ones not running), connect
#                                           them, lay them out, make the key and bucket; print
#                                           the variables the tests read (also in DIR/env)
#   scripts/garage-cluster.sh stop [DIR]    stop the nodes (data kept)
#   scripts/garage-cluster.sh clean [DIR]   stop the nodes and remove DIR
#   scripts/garage-cluster.sh env [DIR]     print the variables of a started cluster
#
# DIR defaults to $HOME/.cache/assetlib-garage-run. Node N (0, 1, 2) listens on
# GARAGE_PORT_BASE + 10·N (S3), + 1 (RPC) and + 3 (admin); GARAGE_PORT_BASE defaults to 39000.
# The binary: $GARAGE_BIN, else $HOME/.cache/garage/bin/garage (what `install` builds:
# `cargo install garage --version $GARAGE_VERSION --locked`, its target directory kept in
# $HOME/.cache/garage-target), else `garage` on PATH. Garage is AGPL-3.0; it runs here as a
# separate process and is never linked into or shipped with assetlib.
#
# `start` is idempotent: secrets are generated once and kept in DIR, running nodes are left
# alone, dead ones are started again on their data (that is how a test restarts a node it
# killed), and the layout, key and bucket are only made when missing.
set -euo pipefail

GARAGE_VERSION=2.5.0
REGION=garage
BUCKET=assetlib-test
KEY_NAME=assetlib-test

cmd=${1:-}
dir=${2:-$HOME/.cache/assetlib-garage-run}
base=${GARAGE_PORT_BASE:-39000}

usage() {
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

find_garage() {
    if [ -n "${GARAGE_BIN:-}" ]; then
        printf '%s' "$GARAGE_BIN"
    elif [ -x "$HOME/.cache/garage/bin/garage" ]; then
        printf '%s' "$HOME/.cache/garage/bin/garage"
    elif command -v garage >/dev/null 2>&1; then
        command -v garage
    else
        echo "no garage binary: set GARAGE_BIN, or build it with $0 install" >&2
        exit 1
    fi
}

install() {
    local root="$HOME/.cache/garage"
    # A build from crates.io says `garage cargo:2.5.0 [features: …]`.
    if "$root/bin/garage" --version 2>/dev/null | grep -qF ":$GARAGE_VERSION "; then
        return 0
    fi
    echo "building garage $GARAGE_VERSION into $root (once)" >&2
    local started=$SECONDS
    CARGO_TARGET_DIR="$HOME/.cache/garage-target" \
        cargo install garage --version "$GARAGE_VERSION" --locked --root "$root" >&2
    echo "garage $GARAGE_VERSION built in $((SECONDS - started)) s" >&2
}

s3_port() { echo $((base + 10 * $1)); }
rpc_port() { echo $((base + 10 * $1 + 1)); }
admin_port() { echo $((base + 10 * $1 + 3)); }
conf() { echo "$dir/node$1/garage.toml"; }

# The pid of node N when it runs, else nothing.
running_pid() {
    local pidfile="$dir/node$1/pid" pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$(conf "$1")"; then
        echo "$pid"
    fi
}

hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

secrets() {
    if [ ! -f "$dir/secrets" ]; then
        mkdir -p "$dir"
        umask 077
        {
            echo "RPC_SECRET=$(hex 32)"
            echo "ADMIN_TOKEN=$(hex 32)"
            echo "KEY_ID=GK$(hex 12)"
            echo "KEY_SECRET=$(hex 32)"
        } >"$dir/secrets"
    fi
    # shellcheck disable=SC1091
    . "$dir/secrets"
}

write_config() {
    local n=$1
    mkdir -p "$dir/node$n/meta" "$dir/node$n/data"
    cat >"$(conf "$n")" <<EOF
metadata_dir = "$dir/node$n/meta"
data_dir = "$dir/node$n/data"
db_engine = "lmdb"
replication_factor = 3
consistency_mode = "consistent"

rpc_bind_addr = "127.0.0.1:$(rpc_port "$n")"
rpc_public_addr = "127.0.0.1:$(rpc_port "$n")"
rpc_secret = "$RPC_SECRET"

[s3_api]
s3_region = "$REGION"
api_bind_addr = "127.0.0.1:$(s3_port "$n")"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$(admin_port "$n")"
admin_token = "$ADMIN_TOKEN"
EOF
    chmod 600 "$(conf "$n")"
}

g() { "$GARAGE" -c "$(conf 0)" "$@"; }

# Retries a command for up to $1 tenths of a second.
retry() {
    local tenths=$1
    shift
    for _ in $(seq 1 "$tenths"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    "$@"
}

write_env() {
    local endpoints="" pids="" n
    for n in 0 1 2; do
        endpoints="${endpoints:+$endpoints }http://127.0.0.1:$(s3_port "$n")"
    done
    umask 077
    cat >"$dir/env" <<EOF
export TEST_S3_ENDPOINT=http://127.0.0.1:$(s3_port 0)
export AWS_ENDPOINT=http://127.0.0.1:$(s3_port 0)
export AWS_ACCESS_KEY_ID=$KEY_ID
export AWS_SECRET_ACCESS_KEY=$KEY_SECRET
export AWS_REGION=$REGION
export AWS_ALLOW_HTTP=true
export AWS_VIRTUAL_HOSTED_STYLE_REQUEST=false
export TEST_S3_BUCKET=$BUCKET
export TEST_GARAGE_BIN=$GARAGE
export TEST_GARAGE_DIR=$dir
export TEST_GARAGE_ENDPOINTS="$endpoints"
EOF
}

start() {
    GARAGE=$(find_garage)
    GARAGE=$(cd "$(dirname "$GARAGE")" && pwd)/$(basename "$GARAGE")
    secrets
    local n pid
    for n in 0 1 2; do
        write_config "$n"
        if [ -z "$(running_pid "$n")" ]; then
            RUST_LOG=${GARAGE_LOG:-warn} setsid nohup "$GARAGE" -c "$(conf "$n")" server \
                >>"$dir/node$n/log" 2>&1 </dev/null &
            echo $! >"$dir/node$n/pid"
        fi
    done
    # Each node answers its own RPC once it is up; then every node meets every other.
    local ids=()
    for n in 0 1 2; do
        retry 100 "$GARAGE" -c "$(conf "$n")" status
        ids[n]=$("$GARAGE" -c "$(conf "$n")" node id -q 2>/dev/null)
    done
    for n in 1 2; do
        retry 50 g node connect "${ids[n]}"
    done
    # The layout: one zone per node, the same capacity each, applied once.
    local layout
    layout=$(g layout show 2>/dev/null || true)
    if [[ "$layout" == *"No nodes currently have a role"* ]]; then
        for n in 0 1 2; do
            g layout assign -z "z$n" -c 1G "${ids[n]%@*}" >/dev/null
        done
        g layout apply --version 1 >/dev/null
    fi
    retry 300 g health -q
    if ! g key info "$KEY_ID" >/dev/null 2>&1; then
        g key import --yes -n "$KEY_NAME" "$KEY_ID" "$KEY_SECRET" >/dev/null
    fi
    # The tests make a bucket of their own per test (S3 CreateBucket with this key).
    g key allow --create-bucket "$KEY_ID" >/dev/null
    if ! g bucket info "$BUCKET" >/dev/null 2>&1; then
        g bucket create "$BUCKET" >/dev/null
    fi
    g bucket allow --read --write --owner "$BUCKET" --key "$KEY_ID" >/dev/null
    write_env
    cat "$dir/env"
}

stop() {
    local n pid
    for n in 0 1 2; do
        pid=$(running_pid "$n")
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
    done
    for n in 0 1 2; do
        pid=$(running_pid "$n")
        for _ in $(seq 1 50); do
            [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null && break
            sleep 0.1
        done
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
        rm -f "$dir/node$n/pid"
    done
    return 0
}

case "$cmd" in
install) install ;;
start) start ;;
stop) stop ;;
clean)
    stop
    rm -rf "$dir"
    ;;
env)
    if [ ! -f "$dir/env" ]; then
        echo "no cluster started in $dir" >&2
        exit 1
    fi
    cat "$dir/env"
    ;;
*) usage ;;
esac
