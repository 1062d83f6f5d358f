#!/usr/bin/env python
"""The registry's benchmark (not a test). One command:

    .venv/bin/python bench/run.py --db postgresql://postgres@127.0.0.1/test \
        --sizes 1000,10000,100000
    .venv/bin/python bench/run.py --db sqlite --sizes 1000,10000

For each size it (re)creates its own database (`registry_bench` beside the one named, or
bench/results/registry_bench.db), migrates it, seeds it (`app.seed`, 5 years of history),
starts the API with one uvicorn worker (uvloop, httptools, no access log) and drives it
over loopback at a fixed concurrency (16) with `wrk` (`apt-get install -y wrk`; without
it, the slower Python generator bench/loadgen.py). Each endpoint gets a 2 s warm-up and a
bounded measured run. Then the raw-SQL baseline (bench/baseline.py: Starlette + asyncpg,
same token check) serves the same keyed read, and the API's req/s is quoted as a share of
it. Prints a table per size and a comparison with the SPEC §9 targets; writes everything
as JSON into bench/results/ (git-ignored).

Figures from a shared machine are noisy: compare runs side by side and quote ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from app.auth.tokens import mint_token  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import Database  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.seed import seed  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SECRET = "bench-secret-" + "x" * 48
DB_NAME = "registry_bench"
# (key, label, concurrency override): the order of the table.
ENDPOINTS = [
    ("account", "GET /accounts/{id}", None),
    ("lookup", "GET /lookup?platform=&handle=", None),
    ("list", "GET /accounts?limit=50", None),
    ("list_dormant", "GET /accounts?limit=50&flag=dormant", None),
    ("list_guidelines", "GET /accounts?limit=50&flag=guidelines_outstanding", None),
    ("public_verify", "GET /public/verify?url=", None),
    ("public_verify_lookalike", "GET /public/verify?url= (a look-alike)", None),
    ("summary", "GET /reports/summary (national, c=1)", 1),
    ("summary_c4", "GET /reports/summary (national, c=4)", 4),
]
# Measured on a second server with four worker processes (how it grows on one host).
FOUR_WORKERS = [("account", "GET /accounts/{id}, 4 workers", None)]


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# --- databases ------------------------------------------------------------------------


def _seed_mark(size: int, forces: int, months: int) -> str:
    return f"registry bench seed: {size} accounts, {forces} forces, {months} months"


def database_url(args: argparse.Namespace, size: int, mark: str) -> tuple[str, bool]:
    """The benchmark's database for `size` and whether it still needs seeding. With
    `--keep` (PostgreSQL), `registry_bench_<size>` is kept between runs, and reused when
    its comment says it was seeded the same way; otherwise `registry_bench`, made afresh."""
    if args.db == "sqlite":
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{DB_NAME}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}", True
    admin = Settings(database_url=args.db).async_database_url
    name = f"{DB_NAME}_{size}" if args.keep else DB_NAME

    async def prepare() -> bool:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                found = await conn.scalar(
                    sa.text(
                        "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                        "WHERE datname = :name"
                    ),
                    {"name": name},
                )
                if args.keep and found == mark:
                    return False
                await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                return True
        finally:
            await engine.dispose()

    fresh = asyncio.run(prepare())
    return args.db.rsplit("/", 1)[0] + "/" + name, fresh


async def _mark_seeded(url: str, mark: str) -> None:
    db = Database(settings_for(url))
    try:
        async with db.engine.connect() as conn:
            name = url.rsplit("/", 1)[1]
            quoted = mark.replace("'", "''")
            await conn.execute(sa.text(f"COMMENT ON DATABASE \"{name}\" IS '{quoted}'"))
            await conn.commit()
    finally:
        await db.dispose()


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, jwt_secret=SECRET, log_level="WARNING")


async def _seed(url: str, size: int, forces: int, months: int) -> dict[str, Any]:
    db = Database(settings_for(url))
    try:
        return await seed(db, forces=forces, accounts=size, months=months, progress=_progress)
    finally:
        await db.dispose()


_last_progress = [0.0]


def _progress(message: str) -> None:
    if time.monotonic() - _last_progress[0] > 15 or message.startswith("done"):
        _last_progress[0] = time.monotonic()
        log(f"  seed: {message}")


async def _targets(url: str, approvals: int) -> dict[str, Any]:
    """Sample what the load will ask for, straight from the database."""
    db = Database(settings_for(url))
    try:
        async with db.session(write=False) as s:
            sample = (
                await s.execute(
                    sa.text(
                        "SELECT a.id, f.code, a.platform, a.handle, a.url FROM accounts a "
                        "JOIN forces f ON f.id = a.force_id ORDER BY random() LIMIT 2000"
                    )
                )
            ).all()
            forces = list(await s.scalars(sa.text("SELECT code FROM forces ORDER BY code")))
            free = (
                await s.execute(
                    sa.text(
                        "SELECT a.id, f.code FROM accounts a JOIN forces f ON f.id = a.force_id "
                        "WHERE a.status = 'active' AND NOT a.legal_hold AND NOT EXISTS ("
                        "SELECT 1 FROM requests r WHERE r.account_id = a.id "
                        "AND r.status IN ('submitted', 'approved')) ORDER BY random() LIMIT :n"
                    ),
                    {"n": approvals},
                )
            ).all()
            big = await s.scalar(
                sa.text(
                    "SELECT f.code FROM forces f JOIN people p ON p.force_id = f.id "
                    "GROUP BY f.code ORDER BY count(*) DESC, f.code LIMIT 1"
                )
            )
            units = list(
                await s.scalars(
                    sa.text(
                        "SELECT u.name FROM units u JOIN forces f ON f.id = u.force_id "
                        "WHERE f.code = :c ORDER BY u.name LIMIT 50"
                    ),
                    {"c": big},
                )
            )
            staff = list(
                await s.scalars(
                    sa.text(
                        "SELECT p.staff_id FROM people p JOIN forces f ON f.id = p.force_id "
                        "WHERE f.code = :c AND p.status = 'active' ORDER BY p.staff_id LIMIT 500"
                    ),
                    {"c": big},
                )
            )
        return {
            "sample": [tuple(r) for r in sample],
            "forces": forces,
            "free": [tuple(r) for r in free],
            "import_force": big,
            "units": units,
            "staff": staff,
        }
    finally:
        await db.dispose()


# --- servers -------------------------------------------------------------------------------


class Server:
    """A uvicorn process serving `target` with one worker; stopped by its own pid."""

    def __init__(
        self, target: str, env: dict[str, str], factory: bool, port: int, workers: int = 1
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning",
        ]  # fmt: skip
        if factory:
            command.append("--factory")
        self.proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}")
            try:
                httpx.get(self.url + path, timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def peak_rss_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            return None
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- load ------------------------------------------------------------------------------------


Entry = tuple[str, str, str | None, str | None]  # method, path, token, JSON body


def load(base: str, entries: list[Entry], concurrency: int, duration: float) -> dict[str, Any]:
    """Drive `entries` (random picks) at `concurrency` for `duration` s; wrk if present."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        if shutil.which("wrk"):
            for method, path, token, body in entries:
                f.write(f"{method}\t{path}\t{token or '-'}\t{body or '-'}\n")
        else:
            for method, path, token, body in entries:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                if body:
                    headers["Content-Type"] = "application/json"
                f.write(
                    json.dumps({"method": method, "path": path, "headers": headers, "body": body})
                    + "\n"
                )
    try:
        if shutil.which("wrk"):
            out = subprocess.run(
                ["wrk", "-t1", f"-c{concurrency}", f"-d{duration:g}s", "--timeout", "10s",
                 "-s", str(ROOT / "bench" / "entries.lua"), base],
                env={**os.environ, "BENCH_ENTRIES": f.name}, capture_output=True, text=True,
                check=True,
            ).stdout  # fmt: skip
            line = next(x for x in out.splitlines() if x.startswith("BENCHJSON "))
            raw = json.loads(line[len("BENCHJSON ") :])
            seconds = raw["duration_us"] / 1e6
            return {
                "requests": raw["requests"],
                "rps": round(raw["requests"] / seconds, 1),
                "p50": raw["p50_us"] / 1000,
                "p95": raw["p95_us"] / 1000,
                "p99": raw["p99_us"] / 1000,
                "errors": raw["status_errors"] + raw["socket_errors"],
                "tool": "wrk",
            }
        return python_load(base, f.name, concurrency, duration, once=False)
    finally:
        os.unlink(f.name)


def python_load(
    base: str, path: str, concurrency: int, duration: float, once: bool
) -> dict[str, Any]:
    command = [sys.executable, str(ROOT / "bench" / "loadgen.py"), base, path,
               "--concurrency", str(concurrency), "--duration", str(duration)]  # fmt: skip
    if once:
        command.append("--once")
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["tool"] = "python"
    return result


def probe(base: str, entry: Entry) -> int:
    method, path, token, body = entry
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body:
        headers["Content-Type"] = "application/json"
    return httpx.request(method, base + path, headers=headers, content=body, timeout=60).status_code


def measure(base: str, entries: list[Entry], concurrency: int, duration: float) -> dict[str, Any]:
    status = probe(base, entries[0])
    if not 200 <= status < 300:
        return {"skipped": f"probe answered {status}"}
    load(base, entries, concurrency, min(2.0, duration))  # warm-up, not recorded
    return load(base, entries, concurrency, duration)


# --- one size ----------------------------------------------------------------------------


class Tokens:
    def __init__(self) -> None:
        self.settings = settings_for("sqlite://")
        self.cache: dict[tuple[str, str | None], str] = {}

    def __call__(self, sub: str, role: str, force: str | None) -> str:
        key = (sub, force)
        if key not in self.cache:
            self.cache[key] = mint_token(
                self.settings, sub=sub, roles=[role], force=force, ttl=6 * 3600
            )
        return self.cache[key]


def read_entries(t: dict[str, Any], tok: Tokens) -> dict[str, list[Entry]]:
    def comms(code: str) -> str:
        return tok(f"bench-comms@{code}", "comms_admin", code)

    sample = t["sample"]
    admin = tok("bench-admin", "admin", None)
    return {
        "account": [("GET", f"/api/v1/accounts/{i}", comms(c), None) for i, c, *_ in sample],
        "lookup": [
            ("GET", "/api/v1/lookup?" + urlencode({"platform": p, "handle": h}), comms(c), None)
            for _, c, p, h, _ in sample
        ],
        "list": [("GET", "/api/v1/accounts?limit=50", comms(c), None) for c in t["forces"]],
        "list_dormant": [
            ("GET", "/api/v1/accounts?limit=50&flag=dormant", comms(c), None) for c in t["forces"]
        ],
        "list_guidelines": [
            ("GET", "/api/v1/accounts?limit=50&flag=guidelines_outstanding", comms(c), None)
            for c in t["forces"]
        ],
        "public_verify": [
            ("GET", f"/api/v1/public/verify?url={quote(u, safe='')}", None, None)
            for *_, u in sample
            if u
        ],
        # An unverified handle with an account's skeleton: its X handle without the
        # separator (`staff_1a2` -> `staff1a2`), which no account has.
        "public_verify_lookalike": [
            ("GET", f"/api/v1/public/verify?url={quote(u.replace('_', ''), safe='')}", None, None)
            for _, _, p, h, u in sample
            if p == "x" and "_" in h and u
        ],
        "summary": [("GET", "/api/v1/reports/summary", admin, None)],
    }


async def _open_requests(base: str, free: list[tuple[Any, str]], tok: Tokens) -> list[Entry]:
    """Submit a decommission request for each free account; the approvals to time."""
    approvals: list[Entry] = []
    statuses: dict[int, int] = {}
    queue = iter(free)
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker() -> None:
            for account_id, code in queue:
                body = {"kind": "decommission", "account_id": str(account_id),
                        "reason": "Benchmark", "details": {"reason_code": "dormant"}}  # fmt: skip
                token = tok(f"bench-requester@{code}", "comms_admin", code)
                r = await client.post(
                    "/api/v1/requests", json=body, headers={"Authorization": f"Bearer {token}"}
                )
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 201:
                    approver = tok(f"bench-approver@{code}", "comms_admin", code)
                    path = f"/api/v1/requests/{r.json()['id']}/approve"
                    approvals.append(("POST", path, approver, '{"comment": "benchmark"}'))

        await asyncio.gather(*(worker() for _ in range(16)))
    if not approvals:
        log(f"  no request could be opened: {statuses}")
    return approvals


def time_approvals(base: str, free: list[tuple[Any, str]], tok: Tokens) -> dict[str, Any]:
    approvals = asyncio.run(_open_requests(base, free, tok))
    if not approvals:
        return {"skipped": "no request could be opened"}
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for method, path, token, body in approvals:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            f.write(
                json.dumps({"method": method, "path": path, "headers": headers, "body": body})
                + "\n"
            )
    try:
        result = python_load(base, f.name, 16, 600, once=True)
    finally:
        os.unlink(f.name)
    result["note"] = f"{len(approvals)} approvals, each once (python client)"
    return result


def time_import(base: str, t: dict[str, Any], rows: int, tok: Tokens) -> dict[str, Any]:
    code, units, staff = t["import_force"], t["units"] or [""], t["staff"] or [""]
    lines = ["platform,handle,display_name,classification,status,owner_staff_id,unit,objectives"]
    for i in range(rows):
        lines.append(
            f"x,benchimp{i:06d},Imported {i},official,active,{staff[i % len(staff)]},"
            f"{units[i % len(units)]},ENGAGE;ROADS"
        )
    body = ("\n".join(lines) + "\n").encode()
    token = tok(f"bench-comms@{code}", "comms_admin", code)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    began = time.perf_counter()
    r = httpx.post(base + "/api/v1/imports/accounts", content=body, headers=headers, timeout=300)
    seconds = round(time.perf_counter() - began, 2)
    return {"rows": rows, "seconds": seconds, "status": r.status_code,
            "created": r.json().get("created") if r.status_code == 201 else None}  # fmt: skip


def run_size(args: argparse.Namespace, size: int, tok: Tokens) -> dict[str, Any]:
    # At least 500 accounts a force, so that a force's list page is a full 50 rows (and a
    # `flag=dormant` page too) at every size: the sizes then compare like with like.
    forces = max(1, min(args.forces, 100, size // 500))
    mark = _seed_mark(size, forces, args.months)
    url, fresh = database_url(args, size, mark)
    upgrade(Settings(database_url=url).async_database_url)
    if fresh:
        log(f"seeding {size:,} accounts in {forces} forces ({args.months} months of history)")
        seeded = asyncio.run(_seed(url, size, forces, args.months))
        if args.keep:
            asyncio.run(_mark_seeded(url, mark))
    else:
        log(f"reusing {url.rsplit('/', 1)[1]} ({mark})")
        seeded = {"reused": mark}
    if args.seed_only:
        return {"size": size, "forces": forces, "seed": seeded, "endpoints": {}}
    t = asyncio.run(_targets(url, args.approvals))
    env = {"REGISTRY_DATABASE_URL": url, "REGISTRY_JWT_SECRET": SECRET,
           "REGISTRY_LOG_LEVEL": "WARNING", "REGISTRY_PUBLIC_RATE_LIMIT": "1000000000"}  # fmt: skip
    server = Server("app.main:create_app", env, factory=True, port=free_port())
    out: dict[str, Any] = {"size": size, "forces": forces, "seed": seeded, "endpoints": {}}
    entries = read_entries(t, tok)
    only = {k for k in args.only.split(",") if k}
    try:
        server.wait_ready("/healthz")
        for key, label, conc in ENDPOINTS:
            if only and key not in only:
                continue
            log(f"  {label}")
            # Few clients: enough samples (at least 30 s) for a p95 to mean something.
            seconds = max(args.duration, 30.0) if conc and conc <= 4 else args.duration
            load_of = entries[key.split("_c")[0]]  # summary_c4: the summary's entries
            result = measure(server.url, load_of, conc or args.concurrency, seconds)
            out["endpoints"][key] = {"label": label, **result}
        if not only or "approve" in only:
            log("  request approvals")
            out["approve"] = time_approvals(server.url, t["free"], tok)
        if not only or "import" in only:
            log(f"  import of {args.import_rows:,} rows")
            out["import"] = time_import(server.url, t, args.import_rows, tok)
        out["peak_rss_mb"] = server.peak_rss_mb()
    finally:
        server.stop()
    if args.db != "sqlite" and (not only or "account_4w" in only):
        server = Server("app.main:create_app", env, factory=True, port=free_port(), workers=4)
        try:
            server.wait_ready("/healthz")
            for key, label, _ in FOUR_WORKERS:
                log(f"  {label}")
                result = measure(server.url, entries[key], args.concurrency, args.duration)
                out["endpoints"][f"{key}_4w"] = {"label": label, **result}
        finally:
            server.stop()
    if args.db != "sqlite" and (not only or "baseline" in only):
        out["baseline"] = run_baseline(url, entries["account"], args)
    return out


def run_baseline(url: str, entries: list[Entry], args: argparse.Namespace) -> dict[str, Any]:
    log("  raw-SQL baseline GET /accounts/{id}")
    env = {"BASELINE_DSN": url, "REGISTRY_JWT_SECRET": SECRET}
    server = Server("bench.baseline:app", env, factory=False, port=free_port())
    try:
        server.wait_ready("/api/v1/accounts/x")
        return measure(server.url, entries, args.concurrency, args.duration)
    finally:
        server.stop()


# --- report ----------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_size(r: dict[str, Any], db: str) -> None:
    seed_s = r["seed"].get("seconds")
    print(f"\n== {r['size']:,} accounts, {r['forces']} forces, {db} (seeded in {seed_s} s) ==")
    print(f"{'endpoint':44} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    rows = [(v["label"], v) for v in r["endpoints"].values()]
    rows.append(("POST /requests/{id}/approve (c=16)", r.get("approve", {})))
    if "baseline" in r:
        rows.append(("baseline GET /accounts/{id} (raw SQL)", r["baseline"]))
    for label, v in rows:
        if "skipped" in v:
            print(f"{label:44} {'skipped: ' + v['skipped']}")
            continue
        print(
            f"{label:44} {_fmt(v.get('rps')):>9} {_fmt(v.get('p50')):>8} "
            f"{_fmt(v.get('p95')):>8} {_fmt(v.get('p99')):>8} {v.get('errors', 0):>7}"
        )
    imp = r.get("import", {})
    print(f"import {imp.get('rows', 0):,} rows: {imp.get('seconds')} s (HTTP {imp.get('status')})")
    print(f"server peak RSS (VmHWM): {r.get('peak_rss_mb')} MB")
    base, api = r.get("baseline", {}), r["endpoints"].get("account", {})
    if base.get("rps") and api.get("rps"):
        r["api_vs_baseline"] = round(api["rps"] / base["rps"], 3)
        print(f"API GET /accounts/{{id}} at {r['api_vs_baseline']:.0%} of the baseline's req/s")


def print_targets(results: list[dict[str, Any]]) -> list[str]:
    """SPEC §9 and issue targets, judged on the largest size against the smallest."""
    if not results:
        return []
    small, large = results[0], results[-1]
    lines = [f"\n== targets ({large['size']:,} accounts vs {small['size']:,}) =="]

    def judge(ok: bool | None, text: str) -> None:
        mark = "n/a " if ok is None else ("PASS" if ok else "FAIL")
        lines.append(f"[{mark}] {text}")

    for key in ("account", "lookup", "list", "list_dormant") if len(results) > 1 else ():
        a, b = small["endpoints"].get(key, {}), large["endpoints"].get(key, {})
        if a.get("rps") and b.get("rps"):
            slower = a["rps"] / b["rps"]
            judge(
                slower <= 1.5,
                f"{a['label']}: {slower:.2f}x the {small['size']:,} figure (within 1.5x)",
            )
    # The speed targets hold at 100,000 accounts (larger sizes say how it grows).
    large = next((r for r in results if r["size"] == 100_000), large)
    lines.append(f"-- at {large['size']:,} accounts")
    acc = large["endpoints"].get("account", {})
    judge(
        None if acc.get("p99") is None else acc["p99"] < 20,
        f"GET /accounts/{{id}} p99 {_fmt(acc.get('p99'))} ms (< 20 ms at c=16)",
    )
    ratio = large.get("api_vs_baseline")
    judge(
        None if ratio is None else ratio >= 0.6,
        f"GET /accounts/{{id}} at {_fmt(ratio and ratio * 100, 0)} % of baseline (>= 60 %)",
    )
    ver, alike = (
        large["endpoints"].get(k, {}) for k in ("public_verify", "public_verify_lookalike")
    )
    share = alike["rps"] / ver["rps"] if ver.get("rps") and alike.get("rps") else None
    judge(
        None if share is None else share >= 0.5,
        f"/public/verify for a look-alike at {_fmt(share and share * 100, 0)} % of a verified "
        "one's req/s (>= 50 %)",
    )
    for key in ("list", "list_dormant", "list_guidelines"):
        page = large["endpoints"].get(key, {})
        share = page.get("rps") / acc["rps"] if page.get("rps") and acc.get("rps") else None
        judge(
            None if share is None else share >= 0.35,
            f"{page.get('label', key)} at {_fmt(share and share * 100, 0)} % of the keyed "
            "read's req/s (>= 35 %)",
        )
    for key, limit in (("summary", 250), ("summary_c4", 600)):
        summ = large["endpoints"].get(key, {})
        judge(
            None if summ.get("p95") is None else summ["p95"] < limit,
            f"{summ.get('label', key)} p95 {_fmt(summ.get('p95'))} ms (< {limit} ms)",
        )
    approve, base = large.get("approve", {}), large.get("baseline", {})
    share = approve.get("rps") / base["rps"] if approve.get("rps") and base.get("rps") else None
    judge(
        None if share is None else share >= 0.12,
        f"approvals at c=16 at {_fmt(share and share * 100, 1)} % of the baseline's req/s "
        "(>= 12 %)",
    )
    imp = large.get("import", {})
    judge(
        None if imp.get("status") != 201 else imp["seconds"] < 10,
        f"{imp.get('rows', 0):,}-row import {imp.get('seconds')} s, HTTP {imp.get('status')} "
        "(10,000 rows < 10 s)",
    )
    rss = large.get("peak_rss_mb")
    judge(None if rss is None else rss < 300, f"peak RSS {rss} MB (< 300 MB)")
    print("\n".join(lines))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Benchmark the registry API.", epilog=__doc__.split("\n\n")[1]
    )
    parser.add_argument(
        "--db",
        default="postgresql://postgres@127.0.0.1/test",
        help="a PostgreSQL URL (its server gets a registry_bench database) or 'sqlite'",
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--forces", type=int, default=50)
    parser.add_argument("--months", type=int, default=60, help="history seeded (default 5 years)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--approvals", type=int, default=1500)
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="PostgreSQL: keep each size's database (registry_bench_<size>) and reuse it "
        "in later runs when it was seeded the same way",
    )
    parser.add_argument("--seed-only", action="store_true", help="seed (with --keep) and stop")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated endpoint keys to measure (default: all, with approvals, the "
        "import and the baseline)",
    )
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if not shutil.which("wrk"):
        log(
            "wrk is not installed (apt-get install -y wrk); using bench/loadgen.py, which "
            "itself costs CPU: its figures are lower than wrk's"
        )
    db_label = "SQLite" if args.db == "sqlite" else "PostgreSQL"
    tok = Tokens()
    results: list[dict[str, Any]] = []
    for size in sizes:
        result = run_size(args, size, tok)
        print_size(result, db_label)
        results.append(result)
    targets = print_targets(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{stamp}-{db_label.lower()}.json"
    doc = {"db": db_label, "args": vars(args), "results": results, "targets": targets,
           "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}}  # fmt: skip
    path.write_text(json.dumps(doc, indent=2, default=str))
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
