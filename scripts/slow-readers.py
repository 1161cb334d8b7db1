#!/usr/bin/env python3
"""Slow readers against one signed content URL (docs/RELIABILITY.md, promise 4).

Starts `assetlib serve` (under `ulimit -n`), serves a ~10 MiB noise PNG from a local origin,
uploads it, takes a signed /content URL, then measures another client's latency — a fresh
connection from 127.0.0.2 per request, `GET /v1/assets/{id}` with a key — idle and while N
sockets fetch that URL with a tiny receive buffer and never read. Prints the success ratio,
p50/p99/max of that client and the server's open descriptors, idle and under attack.

    scripts/slow-readers.py --bin target/debug/assetlib [--readers 320] [--max-connections 300]
        [--ulimit 1024] [--attacker-addresses 1] [--requests 300] [--attack-secs 20]
        [--extra "--write-timeout-secs 10"]

Only the flags an older binary knows are passed unless --extra adds more, so the same run
measures a build from before the write timeout and the per-address and per-URL caps.
"""

import argparse
import http.client
import http.server
import json
import os
import random
import shlex
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib


def noise_png(side):
    """A PNG of random pixels (it does not compress): about 3 bytes a pixel."""
    rng = random.Random(7)
    raw = b"".join(b"\0" + rng.randbytes(side * 3) for _ in range(side))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def origin(payload):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/noise.png"


def start_server(args, data_dir):
    flags = ["serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
             "--allow-private-networks", "--faces", "allow",
             "--max-connections", str(args.max_connections)] + shlex.split(args.extra)
    command = f"ulimit -n {args.ulimit} && exec {shlex.quote(args.bin)} " + " ".join(
        shlex.quote(f) for f in flags)
    proc = subprocess.Popen(["sh", "-c", command], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env={**os.environ, "ASSETLIB_LOG": "warn"},
                            text=True)
    for line in proc.stdout:
        if line.startswith("assetlib listening on http://"):
            host, port = line.strip().rsplit("/", 1)[1].split(":")
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, (host, int(port))
    sys.exit("the server did not start")


def call(addr, method, path, key=None, body=None, source="127.0.0.1"):
    conn = http.client.HTTPConnection(*addr, timeout=30, source_address=(source, 0))
    headers = {"Connection": "close"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def prepare(addr, key, url):
    status, body = call(addr, "POST", "/kyyReactApiServer/kyyVideo2/asset/upload", key,
                        {"assetType": "Image", "url": url, "name": "noise"})
    asset = json.loads(body)["data"]["assetId"]
    deadline = time.time() + 120
    while True:
        status, body = call(addr, "GET", f"/v1/assets/{asset}", key)
        if json.loads(body).get("status") == "Active":
            break
        if time.time() > deadline:
            sys.exit(f"the asset never became Active: {body!r}")
        time.sleep(0.2)
    status, body = call(addr, "POST", "/v1/resolve", key,
                        {"first_image": f"asset://{asset}"})
    signed = json.loads(body)["first_image"]
    return asset, signed[signed.index("/content/"):]


def request_times(addr, key, asset, n=None, until=None):
    """(status, milliseconds, when) of requests from 127.0.0.2, `n` of them or until `until`."""
    rows = []
    while (n is None or len(rows) < n) and (until is None or time.time() < until):
        started = time.perf_counter()
        try:
            status, _ = call(addr, "GET", f"/v1/assets/{asset}", key, source="127.0.0.2")
        except OSError:
            status = 0
        rows.append((status, (time.perf_counter() - started) * 1000, time.time()))
    return rows


def summary(rows, since=None):
    """Success ratio and latencies (p50/p99/max over the answered 200s), and when the last
    request that failed was sent (seconds after `since`)."""
    ok = [ms for status, ms, _ in rows if status == 200]
    times = sorted(ok) or [float("nan")]
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    out = {"ok": f"{len(ok)}/{len(rows)}", "p50_ms": round(pick(0.5), 1),
           "p99_ms": round(pick(0.99), 1), "max_ms": round(times[-1], 1)}
    failed = [at for status, _, at in rows if status != 200]
    if since is not None:
        out["last_failure_at_s"] = round(max(failed) - since, 1) if failed else None
    return out


def descriptors(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def attack(addr, path, n, addresses):
    sockets = []
    for i in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.bind((f"127.0.1.{1 + i % addresses}", 0))
        try:
            s.connect(addr)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        except OSError:
            pass
        sockets.append(s)
    return sockets


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--readers", type=int, default=320)
    p.add_argument("--max-connections", type=int, default=300)
    p.add_argument("--ulimit", type=int, default=1024)
    p.add_argument("--attacker-addresses", type=int, default=1)
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--attack-secs", type=float, default=20)
    p.add_argument("--extra", default="")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        server, addr = start_server(args, data_dir)
        try:
            key = open(os.path.join(data_dir, "admin.key")).read().strip()
            asset, path = prepare(addr, key, origin(noise_png(1800)))
            idle = summary(request_times(addr, key, asset, n=args.requests))
            idle["fds"] = descriptors(server.pid)
            print(json.dumps({"readers": args.readers, "ulimit": args.ulimit,
                              "max_connections": args.max_connections,
                              "attacker_addresses": args.attacker_addresses,
                              "extra": args.extra}))
            print(json.dumps({"phase": "idle", **idle}))
            held = attack(addr, path, args.readers, args.attacker_addresses)
            started = time.time()
            rows, fds = [], []
            while time.time() - started < args.attack_secs:
                rows += request_times(addr, key, asset, until=time.time() + 1)
                fds.append(descriptors(server.pid))
            under = summary(rows, since=started)
            under["fds_max"] = max(f for f in fds if f is not None)
            print(json.dumps({"phase": f"first {args.attack_secs:g} s of the attack", **under}))
            for s in held:
                s.close()
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
