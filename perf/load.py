"""Load test of a running ``longembed serve`` on this machine: N concurrent clients for T seconds.

Each client is a thread with one keep-alive HTTP connection that sends requests back to back (the next one
as soon as the previous answer arrived) until the time is up or the total request cap is reached. Queries
are the sample QMSum queries (``examples/meetings/queries.jsonl``), cycled. Prints requests/s, latency
percentiles (p50/p95/p99, milliseconds) and errors.

Bounded on purpose: loopback addresses only, at most 256 clients, 600 seconds and ``--max-requests``
requests; every request has a timeout.

    longembed serve --store .longembed &                  # the sample index (scripts/demo builds it)
    python perf/load.py --clients 16 --seconds 60        # against http://127.0.0.1:8000/search
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import socket
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_QUERIES = REPO / "examples" / "meetings" / "queries.jsonl"
MAX_CLIENTS = 256
MAX_SECONDS = 600.0
DEFAULT_MAX_REQUESTS = 1_000_000


class Refused(Exception):
    """The arguments ask for something this script will not do (printed, exit code 2)."""


def loopback_target(url: str) -> tuple[str, int]:
    """Host and port of ``url`` after checking that every address it resolves to is a loopback address.

    Raises:
        Refused: not http://, or a host that is not loopback.
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise Refused(f"--url must look like http://127.0.0.1:8000, got {url!r}")
    port = parts.port or 80
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"cannot resolve {parts.hostname!r}: {exc}") from None
    for info in infos:
        if not ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback:
            raise Refused(f"{parts.hostname!r} is not a loopback address; this script only loads this machine")
    return parts.hostname, port


def load_queries(path: Path) -> list[str]:
    texts = [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]
    if not texts:
        raise Refused(f"no queries in {path}")
    return texts


def request_body(endpoint: str, text: str, k: int, collection: str | None) -> dict:
    if endpoint == "search":
        body: dict = {"query": text, "k": k}
    elif endpoint == "embed":
        body = {"texts": [text], "kind": "query"}
    else:  # v1/embeddings
        body = {"input": text}
    if collection:
        body["collection" if endpoint != "v1/embeddings" else "model"] = collection
    return body


class Recorder:
    """Latencies (seconds) of successful requests and error counts, shared by the client threads."""

    def __init__(self, max_requests: int) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.started = 0
        self.max_requests = max_requests

    def take(self) -> bool:
        """Reserve one request; False when the cap is reached."""
        with self.lock:
            if self.started >= self.max_requests:
                return False
            self.started += 1
            return True

    def ok(self, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1


def client(
    number: int, host: str, port: int, path: str, bodies: list[bytes], deadline: float, timeout: float,
    recorder: Recorder,
) -> None:
    """One client: a keep-alive connection sending requests back to back until ``deadline`` (perf_counter)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    i = number  # clients start at different queries
    try:
        while time.perf_counter() < deadline and recorder.take():
            body = bodies[i % len(bodies)]
            i += 1
            start = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                recorder.error(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
                continue
            if response.status == 200:
                recorder.ok(time.perf_counter() - start)
            else:
                recorder.error(f"HTTP {response.status}")
    finally:
        conn.close()


def run(args: argparse.Namespace) -> dict:
    """Run the load and return the summary (also printed by :func:`main`)."""
    if not 1 <= args.clients <= MAX_CLIENTS:
        raise Refused(f"--clients must be 1..{MAX_CLIENTS}")
    if not 0 < args.seconds <= MAX_SECONDS:
        raise Refused(f"--seconds must be in (0, {MAX_SECONDS:.0f}]")
    if args.max_requests < 1:
        raise Refused("--max-requests must be at least 1")
    host, port = loopback_target(args.url)
    try:
        probe = http.client.HTTPConnection(host, port, timeout=args.timeout)
        probe.request("GET", "/health")
        health = probe.getresponse()
        health.read()
        probe.close()
    except OSError as exc:
        raise Refused(f"no server at {args.url} ({exc}); start one with `longembed serve`") from None
    if health.status != 200:
        raise Refused(f"{args.url}/health answered HTTP {health.status}")
    path = "/" + args.endpoint
    bodies = [
        json.dumps(request_body(args.endpoint, q, args.k, args.collection)).encode("utf-8")
        for q in load_queries(Path(args.queries))
    ]
    recorder = Recorder(args.max_requests)
    start = time.perf_counter()
    deadline = start + args.seconds
    threads = [
        threading.Thread(
            target=client, args=(n, host, port, path, bodies, deadline, args.timeout, recorder), daemon=True
        )
        for n in range(args.clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.seconds + args.timeout + 5)
    elapsed = time.perf_counter() - start
    latencies_ms = np.array(recorder.latencies) * 1000.0
    n_ok = len(latencies_ms)
    pct = (lambda q: round(float(np.percentile(latencies_ms, q)), 1)) if n_ok else (lambda q: None)
    return {
        "url": args.url.rstrip("/") + path,
        "clients": args.clients,
        "seconds": round(elapsed, 2),
        "requests": n_ok + sum(recorder.errors.values()),
        "ok": n_ok,
        "errors": sum(recorder.errors.values()),
        "error_kinds": dict(recorder.errors),
        "requests_per_s": round(n_ok / elapsed, 2) if elapsed > 0 else 0.0,
        "latency_ms": {"p50": pct(50), "p95": pct(95), "p99": pct(99), "max": round(float(latencies_ms.max()), 1)
                       if n_ok else None},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL (loopback only)")
    parser.add_argument("--clients", type=int, default=16, help=f"concurrent clients (1..{MAX_CLIENTS})")
    parser.add_argument("--seconds", type=float, default=60.0, help=f"duration (at most {MAX_SECONDS:.0f} s)")
    parser.add_argument("--max-requests", type=int, default=DEFAULT_MAX_REQUESTS, help="total request cap")
    parser.add_argument("--endpoint", choices=["search", "embed", "v1/embeddings"], default="search")
    parser.add_argument("-k", "--k", type=int, default=5, help="documents per search")
    parser.add_argument("--collection", default=None, help="collection (the server's default when omitted)")
    parser.add_argument("--queries", default=str(DEFAULT_QUERIES), help="JSONL file with a 'text' per line")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        summary = run(args)
    except Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary))
    else:
        lat = summary["latency_ms"]
        print(f"{summary['url']}: {summary['clients']} clients for {summary['seconds']} s")
        print(f"requests/s {summary['requests_per_s']}  ({summary['ok']} ok, {summary['errors']} errors"
              f"{' ' + json.dumps(summary['error_kinds']) if summary['errors'] else ''})")
        print(f"latency ms p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
