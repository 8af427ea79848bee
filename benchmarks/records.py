"""Linking, building flags, and reading one entity's as-of record, on a synthetic province.

    python benchmarks/records.py [--entities 1000000] [--postgres URL] [--reads 2000] [--only BACKEND]

Synthesises a province, then per backend: ingests it in one child process, and in a second one
runs ``link`` (masked court IDs) and ``build`` (all flags as of a date) with wall time and that
process's peak RSS, and the median and p99 latency of ``record_as_of`` for randomly
chosen entities, beside a trivial primary-key read of the same entities in the same run.
Targets (issue 3): build of the whole province within 10 minutes and 8 GiB; p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from stores import benchmark_stores


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(src: Path, url: str, var: Path, reads: int) -> dict:
    os.environ["CREDIT_ENGINE_VAR_DIR"] = str(var)
    import numpy as np

    from credit_engine import linking
    from credit_engine.ingest import ingest_paths
    from credit_engine.records import record_as_of, today_in_beijing
    from credit_engine.settings import get_settings
    from credit_engine.store.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    if reads < 0:  # the ingest child: loads the store, then leaves
        started = time.perf_counter()
        ingest_paths([src], engine, get_settings())
        return {"ingest_s": time.perf_counter() - started, "peak_mib": peak_mib()}
    out: dict = {}
    started = time.perf_counter()
    with engine.begin() as conn:
        out["linked"] = linking.resolve_masked_debtors(conn)
    out["link_s"] = time.perf_counter() - started
    as_of = today_in_beijing()
    started = time.perf_counter()
    with engine.begin() as conn:
        out["flags"] = linking.build(conn, as_of)
    out["build_s"] = time.perf_counter() - started
    out["peak_mib"] = peak_mib()
    with engine.connect() as conn:
        usccs = [u for (u,) in conn.exec_driver_sql("SELECT uscc FROM entity").all()]
        sample = random.Random(7).sample(usccs, min(reads, len(usccs)))
        mark = "%s" if conn.dialect.name == "postgresql" else "?"
        for name, read in (
            ("trivial", lambda u: conn.exec_driver_sql(f"SELECT * FROM entity WHERE uscc = {mark}", (u,)).all()),
            ("record", lambda u: record_as_of(conn, u, as_of)),
        ):
            timings = []
            for uscc in sample:
                t = time.perf_counter()
                read(uscc)
                timings.append((time.perf_counter() - t) * 1000)
            out[name] = {"p50_ms": float(np.percentile(timings, 50)), "p99_ms": float(np.percentile(timings, 99))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("CREDIT_ENGINE_TEST_POSTGRES_URL"))
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="measure one backend")
    parser.add_argument("--phase", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only == "postgresql" and not args.postgres:
        parser.error("--only postgresql needs --postgres URL (or CREDIT_ENGINE_TEST_POSTGRES_URL)")
    if args.phase:
        src, url, var = args.phase
        print(json.dumps(phase(Path(src), url, Path(var), args.reads)))
        return

    from credit_engine.synth import synthesise

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        synthesise(root / "province", entities=args.entities, seed=1, as_of=date(2026, 6, 30))
        with benchmark_stores(root, args.postgres) as targets:
            for name, url in targets:
                if args.only and name != args.only:
                    continue
                loaded = _child(args, root, url, name, reads=-1)
                r = _child(args, root, url, name, reads=args.reads)
                print(
                    f"{name:<10} {args.entities:,} entities: ingest {loaded['ingest_s']:.0f} s (peak {loaded['peak_mib']:,.0f} MiB); "
                    f"link {r['link_s']:.1f} s, build {r['build_s']:.1f} s (peak {r['peak_mib']:,.0f} MiB); "
                    f"as-of record p50 {r['record']['p50_ms']:.2f} ms p99 {r['record']['p99_ms']:.2f} ms "
                    f"(trivial read p50 {r['trivial']['p50_ms']:.2f} ms p99 {r['trivial']['p99_ms']:.2f} ms); "
                    f"flags {sum(r['flags'].values()):,}, masked IDs linked {r['linked']['linked']:,}"
                )


def _child(args: argparse.Namespace, root: Path, url: str, name: str, reads: int) -> dict:
    """One phase in its own process, so that each peak memory is that phase's own."""
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--reads",
            str(reads),
            "--phase",
            str(root / "province" / "sources"),
            url,
            str(root / f"var-{name}"),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
