"""A small HTTP load generator (asyncio + httpx), run as its own process.

The fallback when `wrk` is not installed, and the driver for requests that may be sent
once each (approvals): `--once` sends every entry exactly once, in order, then stops.

    python bench/loadgen.py URL ENTRIES.jsonl --concurrency 16 --duration 10 [--once]

ENTRIES.jsonl: one request a line, {"method", "path", "headers", "body"}. Prints one JSON
line: requests, errors (non-2xx or failed), seconds, rps, p50/p95/p99 in ms, statuses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter

import httpx


def _percentile(sorted_ms: list[float], q: float) -> float | None:
    if not sorted_ms:
        return None
    return sorted_ms[min(len(sorted_ms) - 1, int(q / 100 * len(sorted_ms)))]


async def run(url: str, entries: list[dict], concurrency: int, duration: float, once: bool) -> dict:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    queue = iter(entries)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    start = time.perf_counter()
    deadline = start + duration
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                if once:
                    entry = next(queue, None)
                    if entry is None:
                        return
                else:
                    entry = random.choice(entries)
                began = time.perf_counter()
                try:
                    r = await client.request(
                        entry["method"], entry["path"], headers=entry.get("headers"),
                        content=entry.get("body"),
                    )  # fmt: skip
                    statuses[str(r.status_code)] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                latencies.append((time.perf_counter() - began) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    errors = sum(n for s, n in statuses.items() if not (s.isdigit() and 200 <= int(s) < 300))
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50": _percentile(latencies, 50),
        "p95": _percentile(latencies, 95),
        "p99": _percentile(latencies, 99),
        "statuses": dict(statuses),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("entries")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    with open(args.entries, encoding="utf-8") as f:
        entries = [json.loads(line) for line in f if line.strip()]
    result = asyncio.run(run(args.url, entries, args.concurrency, args.duration, args.once))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
