"""Start `digitrec serve` and load POST /api/predict from a separate process.

    python benchmarks/serve_bench.py [--workers 2] [--threads 4] [--requests 5000] [--malformed 1000]

Prints p50/p99 latency, requests/s and errors at concurrency 1 and 16 for a 300x300 JPEG, the
server's memory (RSS of all its processes), and how 1,000 malformed requests were answered.
Traffic goes to 127.0.0.1 only; every loop is bounded.
"""
from __future__ import annotations

import argparse
import http.client
import io
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, ImageDraw


def digit_jpeg() -> bytes:
    img = Image.new("RGB", (300, 300), (235, 232, 225))
    ImageDraw.Draw(img).line([(90, 70), (210, 70), (130, 240)], fill=(30, 30, 40), width=16)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def multipart(data: bytes, field="image", ctype="image/jpeg"):
    boundary = "digitrecbench"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"x\"\r\n"
            f"Content-Type: {ctype}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def worker(port, jobs, out):
    """One client thread: its own keep-alive connection; (latency s, status) per request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    results = []
    for body, headers in jobs:
        start = time.perf_counter()
        try:
            conn.request("POST", "/api/predict", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            status = 0
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        results.append((time.perf_counter() - start, status))
    out.extend(results)


def load(port, concurrency, jobs, queue):
    """Runs in its own process: splits jobs over `concurrency` threads."""
    out = []
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for i in range(concurrency):
            pool.submit(worker, port, jobs[i::concurrency], out)
    queue.put((time.perf_counter() - start, out))


def run_load(port, concurrency, jobs):
    q = mp.get_context("spawn").Queue()
    p = mp.get_context("spawn").Process(target=load, args=(port, concurrency, jobs, q))
    p.start()
    wall, results = q.get(timeout=1800)
    p.join()
    return wall, results


def malformed_jobs(n, rng):
    good = digit_jpeg()
    kinds = [
        lambda: (bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 3000))), {"Content-Type": "application/octet-stream"}),
        lambda: multipart(good[: rng.randint(0, len(good) - 1)]),
        lambda: multipart(good, field="file"),
        lambda: multipart(bytes(rng.getrandbits(8) for _ in range(500))),
        lambda: (b'{"image": "data:image/png;base64,' + b"%%%" * rng.randint(1, 50) + b'"}', {"Content-Type": "application/json"}),
        lambda: (b'{"image": 12}', {"Content-Type": "application/json"}),
        lambda: (b"{not json", {"Content-Type": "application/json"}),
        lambda: multipart(huge_png(20000, 20000)),
        lambda: multipart(huge_png(rng.randint(1, 9) * 10000, rng.randint(1, 9) * 10000)),
    ]
    return [rng.choice(kinds)() for _ in range(n)]


def huge_png(w, h):
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b""))


def rss_mb(pid) -> float:
    """Resident memory of a process and its children, MB."""
    total = 0
    pids = [pid] + [int(c) for c in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(port) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/api/health")
        return conn.getresponse().status == 200
    except OSError:
        return False


def summary(label, wall, results):
    lat = np.array([r[0] for r in results]) * 1000
    statuses = [r[1] for r in results]
    errors = sum(1 for s in statuses if s != 200)
    return (f"| {label} | {len(results)} | {np.percentile(lat, 50):.1f} | {np.percentile(lat, 99):.1f} | "
            f"{len(results) / wall:.0f} | {errors} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--malformed", type=int, default=1000)
    ap.add_argument("--bundle", default=None)
    args = ap.parse_args(argv)

    port = free_port()
    cmd = [sys.executable, "-m", "digitrec", "serve", "--port", str(port), "--workers", str(args.workers),
           "--threads", str(args.threads)] + (["--bundle", args.bundle] if args.bundle else [])
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not health(port):
            if time.time() > deadline or server.poll() is not None:
                print("server did not start", file=sys.stderr)
                return 1
            time.sleep(0.5)
        job = multipart(digit_jpeg())
        run_load(port, 4, [job] * 200)  # warm every worker and thread
        rows = []
        c1 = run_load(port, 1, [job] * min(1000, args.requests))
        rows.append(summary("1", *c1))
        c16 = run_load(port, 16, [job] * args.requests)
        rows.append(summary("16", *c16))
        rss = rss_mb(server.pid)
        rng = random.Random(0)
        wall, bad = run_load(port, 8, malformed_jobs(args.malformed, rng))
        codes = {}
        for _, s in bad:
            codes[s] = codes.get(s, 0) + 1
        print(f"digitrec serve --workers {args.workers} --threads {args.threads}; {os.cpu_count()} cores; "
              f"POST /api/predict with a 300x300 JPEG ({len(job[0]):,} bytes)")
        print("| concurrency | requests | p50 ms | p99 ms | requests/s | errors |")
        print("|---:|---:|---:|---:|---:|---:|")
        print("\n".join(rows))
        print(f"server memory (RSS, all processes): {rss:.0f} MB")
        fivexx = sum(n for s, n in codes.items() if s >= 500 or s == 0)
        print(f"{len(bad)} malformed requests: status counts {dict(sorted(codes.items()))}; 5xx or dropped: {fivexx}; "
              f"healthy afterwards: {health(port)}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
