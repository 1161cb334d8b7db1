#!/usr/bin/env python3
"""Peak memory of the server while it decodes many huge images at once.

Makes four 6000x6000 images (16-bit RGB PNG, 16-bit RGBA PNG, 8-bit RGBA PNG with ffmpeg, and a
progressive JPEG when Pillow is installed), serves them on 127.0.0.1, starts `assetlib serve` on a
temporary data directory, uploads N of them at once (kyy route) and waits until every asset has
settled. Prints the server's peak RSS (VmHWM) and the outcome of each upload.

    cargo build --release
    python3 scripts/decode-memory.py --bin target/release/assetlib --workers 8 --uploads 16
    python3 scripts/decode-memory.py --bin target/release/assetlib --decode-budget-mib 256
"""

import argparse
import concurrent.futures
import functools
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SIDE = 6000


def make_images(work):
    specs = [("rgb48be", "rgb16.png"), ("rgba64be", "rgba16.png"), ("rgba", "rgba8.png")]
    names = []
    for pix_fmt, name in specs:
        path = os.path.join(work, name)
        if not os.path.exists(path):
            subprocess.run(
                ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi",
                 "-i", f"testsrc=size={SIDE}x{SIDE}", "-frames:v", "1",
                 "-pix_fmt", pix_fmt, path],
                check=True,
            )
        names.append(name)
    try:
        from PIL import Image  # optional

        path = os.path.join(work, "progressive.jpg")
        if not os.path.exists(path):
            Image.open(os.path.join(work, "rgba8.png")).convert("RGB").save(
                path, progressive=True, quality=85)
        names.append("progressive.jpg")
    except ImportError:
        print("(Pillow not installed: no progressive JPEG)", file=sys.stderr)
    return names


def serve_dir(work):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=work)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def request(method, url, key, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def vm_hwm_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default="target/release/assetlib")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--uploads", type=int, default=16)
    parser.add_argument("--decode-budget-mib", type=int)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "assetlib-decode-memory"))
    args = parser.parse_args()

    os.makedirs(args.work, exist_ok=True)
    names = make_images(args.work)
    origin = serve_dir(args.work)
    data = tempfile.mkdtemp(prefix="assetlib-dm-")
    cmd = [args.bin, "serve", "--data-dir", data, "--listen", "127.0.0.1:0",
           "--allow-private-networks", "--workers", str(args.workers)]
    if args.decode_budget_mib:
        cmd += ["--decode-budget-mib", str(args.decode_budget_mib)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        key, base = None, None
        for line in server.stdout:
            line = line.strip()
            if line.startswith("alk_"):
                key = line
            if line.startswith("assetlib listening on "):
                base = line.split()[-1]
                break
        assert key and base, "the server did not start"

        def upload(i):
            name = names[i % len(names)]
            return name, request("POST", f"{base}/kyyReactApiServer/kyyVideo2/asset/upload", key,
                                 {"assetType": "Image", "url": f"{origin}/{name}?v={i}"})

        start = time.time()
        with concurrent.futures.ThreadPoolExecutor(args.uploads) as pool:
            answers = list(pool.map(upload, range(args.uploads)))
        outcomes = {}
        for name, (status, body) in answers:
            if status != 200:
                outcomes.setdefault(name, []).append(f"refused {status}")
                continue
            asset = body["data"]["assetId"]
            while True:
                _, detail = request("GET", f"{base}/v1/assets/{asset}?wait=30", key)
                if detail["status"] != "Processing":
                    break
            failure = (detail.get("failure") or {}).get("code")
            outcomes.setdefault(name, []).append(detail["status"] + (f" ({failure})" if failure else ""))
        elapsed = time.time() - start
        peak = vm_hwm_mib(server.pid)
        budget = args.decode_budget_mib or "default"
        print(f"| {args.uploads} uploads | {args.workers} workers | budget {budget} MiB "
              f"| peak RSS {peak:.0f} MiB | {elapsed:.1f} s |")
        for name, results in sorted(outcomes.items()):
            print(f"  {name}: {', '.join(sorted(set(results)))} x{len(results)}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
