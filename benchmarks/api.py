"""The API under load: requests/s and latency of the regulator entity lookup and the public
query, beside a trivial endpoint of the same app measured in the same run.

    python benchmarks/api.py [--entities 3000] [--seconds 15] [--concurrency 32] [--workers 1]
                             [--database-url URL]

Builds a synthetic province with ``credit-engine demo --port 0`` in a scratch working folder
(or uses ``--database-url`` for the store), creates a regulator key, starts ``credit-engine serve``
on loopback in its own process, and drives each endpoint with ``--concurrency`` connections from
``wrk`` (Debian's package; a C load generator, so the client takes little of the two cores) for
``--seconds``. Lookups rotate over every graded entity, so the store is
read, not a cache. Every regulator lookup also writes its audit row, as in production.

Targets (acceptance): entity lookup ≥ 50 % of the trivial endpoint's requests/s, and its p99
< 50 ms at 32 connections on 2 cores.

With ``--ingest-rows N`` (default 100 000; 0 skips it) the regulator lookup is driven once more
while ``credit-engine ingest`` loads a penalty file of N new rows in the background (its own
process, stopped after ``--ingest-timeout`` seconds): on SQLite the ingest holds the store's write
lock for the whole file, and each lookup's audit row must not wait for it.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

CLI = [sys.executable, "-m", "pipelines.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(CLI + args, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


_LUA = """
paths = {%s}
i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], {%s})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%f %%f %%d\\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


def _cpu_seconds(server: psutil.Process) -> float:
    """User and system time of the server and its worker processes so far."""
    return sum(sum(p.cpu_times()[:2]) for p in [server, *server.children(recursive=True)])


def _drive(
    base: str,
    paths: list[str],
    headers: dict[str, str],
    seconds: float,
    concurrency: int,
    folder: Path,
    server: psutil.Process,
) -> dict:
    """wrk (C, one thread) against the server: the load generator costs little of the 2 cores.
    The server's CPU time per request is steadier than requests/s on a shared machine."""
    script = folder / "paths.lua"
    script.write_text(
        _LUA % (", ".join(f'"{p}"' for p in paths), ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()))
    )
    before = _cpu_seconds(server)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:.0f}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    after = _cpu_seconds(server)
    requests, micros, p50, p99, errors = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)", out).groups()
    return {
        "requests": int(requests),
        "rps": int(requests) / (int(micros) / 1e6),
        "p50": float(p50),
        "p99": float(p99),
        "errors": int(errors),
        "cpu_ms": (after - before) / int(requests) * 1000,
    }


def served_province(prefix: str, entities: int, database_url: str | None) -> tuple[Path, dict[str, str], str]:
    """A demo province in a scratch working folder: (folder, environment, a regulator key)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    env = {
        **os.environ,
        "CREDIT_ENGINE_VAR_DIR": str(folder / "var"),
        "CREDIT_ENGINE_MODEL_DIR": str(folder / "models"),
        "CREDIT_ENGINE_PUBLIC_RATE_LIMIT": "1000000000/minute",
    }
    env.pop("CREDIT_ENGINE_MLFLOW_TRACKING_URI", None)
    if database_url:
        env["CREDIT_ENGINE_DATABASE_URL"] = database_url
    started = time.perf_counter()
    _run(["demo", "--entities", str(entities), "--port", "0"], env)
    key = re.search(r"(ce_[\w-]+)", _run(["keys", "create", "--role", "regulator", "--name", "bench"], env)).group(1)
    print(f"province of {entities:,} entities built in {time.perf_counter() - started:.0f} s ({folder})")
    return folder, env, key


def start_server(env: dict[str, str], workers: int = 1) -> tuple[subprocess.Popen, str]:
    """``credit-engine serve`` on a free loopback port, once /readyz answers: (process, base URL)."""
    port = _free_port()
    server = subprocess.Popen(
        CLI + ["serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.terminate()
    sys.exit("the server did not become ready")


def graded_usccs(base: str, headers: dict[str, str]) -> list[str]:
    """Every graded entity, page by page (a page holds at most 500)."""
    usccs: list[str] = []
    page = 1
    while True:
        body = httpx.get(f"{base}/v1/entities", params={"size": 500, "page": page}, headers=headers).json()
        usccs += [item["uscc"] for item in body["items"]]
        if not body["items"] or len(usccs) >= body["total"]:
            return usccs
        page += 1


PENALTY_HEADER = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_CFJG", "CF_WFXW"]


def penalty_file(folder: Path, usccs: list[str], rows: int) -> Path:
    """``rows`` new penalties (a fine each) over the graded entities, in the contract's CSV format."""
    path = folder / f"bench-penalties-{rows}.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(PENALTY_HEADER)
        for i in range(rows):
            writer.writerow(
                [
                    "基准测试",
                    usccs[i % len(usccs)],
                    f"基准罚字〔2026〕{i}号",
                    "罚款",
                    "0.5",
                    "2026-05-01",
                    "基准测试市场监督管理局",
                    "价格违法",
                ]
            )
    return path


def during_ingest(
    base: str,
    paths: list[str],
    headers: dict[str, str],
    args: argparse.Namespace,
    folder: Path,
    server: psutil.Process,
    env: dict[str, str],
    usccs: list[str],
) -> tuple[dict, str]:
    """The lookup driven while an ingest of ``--ingest-rows`` rows runs: (result, what the ingest did)."""
    source = penalty_file(folder, usccs, args.ingest_rows)
    started = time.perf_counter()
    ingest = subprocess.Popen(
        CLI + ["ingest", str(source)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(3)  # past reading the header: the rows are being written
    try:
        result = _drive(base, paths, headers, args.seconds, args.concurrency, folder, server)
        running = ingest.poll() is None
        try:
            ingest.wait(max(1.0, args.ingest_timeout - (time.perf_counter() - started)))
            state = (
                f"ingest {'still running at the end of the run, ' if running else 'ended before the run did, '}"
                f"done in {time.perf_counter() - started:.0f} s (exit {ingest.returncode})"
            )
        except subprocess.TimeoutExpired:
            ingest.kill()
            ingest.wait()
            state = f"ingest stopped after the {args.ingest_timeout:.0f} s timeout"
    finally:
        if ingest.poll() is None:
            ingest.kill()
    return result, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--ingest-rows", type=int, default=100_000)
    parser.add_argument("--ingest-timeout", type=float, default=600.0)
    args = parser.parse_args()

    folder, env, key = served_province("bench-api-", args.entities, args.database_url)
    server, base = start_server(env, args.workers)
    try:
        regulator, process = {"X-API-Key": key}, psutil.Process(server.pid)
        usccs = graded_usccs(base, regulator)
        runs = {
            "trivial /healthz": (["/healthz"], {}),
            "regulator GET /v1/entities/{uscc}": ([f"/v1/entities/{u}" for u in usccs], regulator),
            "public GET /v1/public/entities/{uscc}": ([f"/v1/public/entities/{u}" for u in usccs], {}),
        }
        results = {}
        for name, (paths, headers) in runs.items():
            _drive(base, paths[:20], headers, 2.0, args.concurrency, folder, process)  # warm-up
            results[name] = _drive(base, paths, headers, args.seconds, args.concurrency, folder, process)
        ingest_state = None
        if args.ingest_rows:
            name = f"regulator lookup, ingest of {args.ingest_rows:,} rows"
            results[name], ingest_state = during_ingest(
                base, runs["regulator GET /v1/entities/{uscc}"][0], regulator, args, folder, process, env, usccs
            )
    finally:
        server.terminate()
        server.wait(10)

    print(
        f"\n{args.concurrency} connections, {args.seconds:.0f} s each, {args.workers} worker(s), "
        f"{os.cpu_count()} cores, store {args.database_url or 'SQLite'}; lookups rotate over {len(usccs):,} entities"
    )
    print(f"{'endpoint':<40} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'CPU ms/req':>11}")
    for name, r in results.items():
        print(
            f"{name:<40} {r['requests']:>9,} {r['rps']:>8.1f} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['errors']:>7} "
            f"{r['cpu_ms']:>11.2f}"
        )
    trivial = results["trivial /healthz"]["rps"]
    lookup = results["regulator GET /v1/entities/{uscc}"]
    ratio = lookup["rps"] / trivial
    print(f"\nentity lookup / trivial requests/s: {ratio:.2f} (target >= 0.50: {'PASS' if ratio >= 0.5 else 'FAIL'})")
    print(f"entity lookup p99: {lookup['p99']:.1f} ms (target < 50 ms: {'PASS' if lookup['p99'] < 50 else 'FAIL'})")
    public = results["public GET /v1/public/entities/{uscc}"]
    print(f"public query / trivial requests/s: {public['rps'] / trivial:.2f}; p99 {public['p99']:.1f} ms")
    if ingest_state:
        busy = results[f"regulator lookup, ingest of {args.ingest_rows:,} rows"]
        print(
            f"entity lookup p99 during the ingest: {busy['p99']:.1f} ms ({busy['errors']} errors) beside "
            f"{lookup['p99']:.1f} ms without; {ingest_state}"
        )


if __name__ == "__main__":
    main()
