"""Search latency while long requests run (issue 14 "Fair sharing"; perf/PERF.md section 7).

Starts a real ``longembed serve`` (loopback, a free port, ``--device cpu``) on a temporary store holding the
20 sample meetings at the default settings (pi, 4096 tokens), then measures one client sending ``/search``
requests back to back:

1. ``idle``: nothing else running (``--idle-seconds``);
2. ``embeddings``: while one ``/v1/embeddings`` request of ``--texts`` texts of 200,000 characters runs (the
   largest text the server accepts; 64 texts is the largest request);
3. ``ingest``: while one ``/ingest/files`` upload runs: a 30 MB one-word text file (issue 14 row 8) and
   ``--ingest-docs`` sample meetings renamed so each is new (each needs the model at 4096 tokens).

Prints one JSON object: for each phase the search count, p50/p95/max latency (ms) and how long the long
request took (s). ``--repo DIR`` runs the server from another checkout (e.g. an older commit) for comparison.

    OMP_NUM_THREADS=1 python perf/perf_fairness.py --texts 8 --ingest-docs 8
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
QUERY = "the price of the remote control and the production cost budget"


def request(port: int, method: str, path: str, body: bytes, content_type: str, timeout: float = 1800):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def search_while(port: int, long_request, seconds: float | None = None) -> dict:
    """Search back to back until ``long_request()`` (run in a thread) returns, or for ``seconds``."""
    done = threading.Event()
    took: list[float] = []
    status: list = []

    def run():
        began = time.perf_counter()
        try:
            status.append(long_request()[0])
        finally:
            took.append(time.perf_counter() - began)
            done.set()

    if long_request is not None:
        threading.Thread(target=run, daemon=True).start()
        time.sleep(0.5)  # let the long request's body reach the server first
    latencies = []
    body = json.dumps({"query": QUERY, "k": 5}).encode()
    end = time.perf_counter() + (seconds or 1e9)
    while (long_request is not None and not done.is_set()) or (long_request is None and time.perf_counter() < end):
        began = time.perf_counter()
        code, _ = request(port, "POST", "/search", body, "application/json", timeout=600)
        if code == 200:
            latencies.append((time.perf_counter() - began) * 1000)
    if long_request is not None:
        done.wait()
    print(f"{len(latencies)} searches, long request {took[0] if took else 0:.1f} s", file=sys.stderr, flush=True)
    ms = np.array(latencies) if latencies else np.array([np.nan])
    return {
        "searches": len(latencies),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "max_ms": round(float(ms.max()), 1),
        "long_request_s": round(took[0], 1) if took else None,
        "long_request_status": status[0] if status else None,
    }


def multipart(files: list[tuple[str, bytes]], boundary: str = "perfBoundary7") -> bytes:
    out = b""
    for name, content in files:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n\r\n').encode()
        out += content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=8, help="Texts of 200,000 characters in /v1/embeddings (max 64).")
    parser.add_argument("--ingest-docs", type=int, default=8, help="Sample meetings in the upload.")
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--repo", type=Path, default=REPO, help="Checkout whose longembed the server runs.")
    parser.add_argument("--store", type=Path, default=None,
                        help="Reuse this store of the 20 meetings (built there when missing); a copy is served.")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(args.repo)}
    work = Path(tempfile.mkdtemp(prefix="longembed-perf-fair-"))
    docs = REPO / "examples" / "meetings" / "docs"
    try:
        began = time.perf_counter()
        built = args.store or work / "built"
        if not built.exists():
            subprocess.run([sys.executable, "-m", "longembed.cli", "ingest", str(docs), "--store", str(built),
                            "--no-progress"], env=env, check=True, capture_output=True, cwd=work)
        shutil.copytree(built, work / "store", ignore=shutil.ignore_patterns(".lock"))
        build_s = time.perf_counter() - began
        server = subprocess.Popen(
            [sys.executable, "-m", "longembed.cli", "serve", "--store", str(work / "store"), "--port", "0",
             "--device", "cpu"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=work,
        )
        try:
            line = server.stdout.readline()
            port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
            for _ in range(600):  # the start line comes when the address is bound, before uvicorn listens
                try:
                    request(port, "POST", "/search", json.dumps({"query": "warm up"}).encode(), "application/json")
                    break
                except OSError:
                    time.sleep(0.2)
            text = "lorem ipsum dolor sit amet " * 7400  # 199,800 characters
            embeddings = json.dumps({"input": [f"{i} {text}" for i in range(args.texts)]}).encode()
            meetings = sorted(docs.glob("*.txt"))[: args.ingest_docs]
            upload = multipart([("one-word.txt", b"a" * 30_000_000)]
                               + [(f"copy-{p.name}", p.read_bytes() + b"\ncopy") for p in meetings])
            result = {
                "conditions": {
                    "cpus": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                    "load_average_start": os.getloadavg(), "texts": args.texts, "ingest_docs": args.ingest_docs,
                    "store_build_s": round(build_s, 1), "repo": str(args.repo),
                },
                "idle": search_while(port, None, args.idle_seconds),
                "embeddings": search_while(
                    port, lambda: request(port, "POST", "/v1/embeddings", embeddings, "application/json")),
                "ingest": search_while(
                    port, lambda: request(port, "POST", "/ingest/files", upload,
                                          "multipart/form-data; boundary=perfBoundary7")),
            }
            result["conditions"]["load_average_end"] = os.getloadavg()
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=1), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
