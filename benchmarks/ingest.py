"""Ingest speed and memory against merely reading the same files with pandas.

    python benchmarks/ingest.py [--entities 100000] [--postgres URL]

Synthesises a province, then in separate child processes (so each peak memory is its own):
reads every source file with ``pandas.read_csv`` / ``read_json`` (the baseline), and ingests
the folder into a fresh SQLite store and, if a PostgreSQL URL is given, a fresh PostgreSQL
schema. Prints rows/s, peak RSS, and ingest speed as a fraction of the baseline's.
Target (issue 2): at least 0.2 on both backends.
"""

from __future__ import annotations

import argparse
import json
import os
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


def phase_read(src: Path) -> dict:
    import pandas as pd

    from credit_engine.ingest import source_files
    from credit_engine.sources.reader import decode

    started, rows = time.perf_counter(), 0
    for path in source_files([src]):
        data = path.read_bytes()
        _, encoding = decode(data[:4096].rsplit(b"\n", 1)[0], path)
        if path.suffix == ".jsonl":
            frame = pd.read_json(path, lines=True, dtype=str, encoding=encoding)
        else:
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                on_bad_lines="skip",
                encoding="utf-8-sig" if encoding == "utf-8" else encoding,
            )
        rows += len(frame)
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_mib": peak_mib()}


def phase_ingest(src: Path, url: str, var: Path) -> dict:
    os.environ["CREDIT_ENGINE_VAR_DIR"] = str(var)
    from credit_engine.ingest import ingest_paths
    from credit_engine.settings import get_settings
    from credit_engine.store.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    reports = ingest_paths([src], engine, get_settings())
    seconds = time.perf_counter() - started
    return {
        **_accounted(engine, src.parent / "truth" / "entities.csv"),
        "rows": sum(r.rows_read for r in reports),
        "seconds": seconds,
        "peak_mib": peak_mib(),
        "quarantined": sum(r.rows_quarantined for r in reports),
        "facts": sum(r.facts_new for r in reports),
        "slowest": sorted(((round(r.seconds, 2), r.path.name, r.rows_read) for r in reports), reverse=True)[:5],
    }


def _accounted(engine, truth: Path) -> dict:
    """What the ingest made of the province against its truth: entities it does not hold
    (phantoms: issue 39, must be 0), and quarantined rows without a reason (must be 0)."""
    import pandas as pd

    real = set(pd.read_csv(truth, dtype=str)["uscc"]) if truth.exists() else set()
    with engine.connect() as conn:
        stored = [u for (u,) in conn.exec_driver_sql("SELECT uscc FROM entity")]
        unexplained = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM quarantine WHERE reason IS NULL OR reason = '' OR reason_code = ''"
        ).scalar()
        corrected = conn.exec_driver_sql("SELECT COUNT(*) FROM fact WHERE flags LIKE '%uscc_corrected%'").scalar()
    return {
        "phantoms": sum(u not in real for u in stored) if real else None,
        "unexplained": unexplained,
        "corrected": corrected,
    }


def child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(args[:2])} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default=os.environ.get("CREDIT_ENGINE_TEST_POSTGRES_URL"))
    parser.add_argument("--phase", choices=["read", "ingest"], help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--var", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "read":
        print(json.dumps(phase_read(args.src)))
        return
    if args.phase == "ingest":
        print(json.dumps(phase_ingest(args.src, args.url, args.var)))
        return

    from credit_engine.synth import synthesise

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        synthesise(root / "province", entities=args.entities, seed=args.seed, as_of=date(2026, 6, 30))
        print(f"synthesised {args.entities:,} entities in {time.perf_counter() - started:.1f} s")
        src = root / "province" / "sources"
        base = child("--phase", "read", "--src", str(src))
        print(
            f"pandas read   : {base['rows']:>10,} rows {base['seconds']:7.2f} s {base['rows'] / base['seconds']:>10,.0f} rows/s  peak {base['peak_mib']:,.0f} MiB"
        )
        with benchmark_stores(root, args.postgres) as targets:
            for name, url in targets:
                res = child("--phase", "ingest", "--src", str(src), "--url", url, "--var", str(root / f"var-{name}"))
                rate, base_rate = res["rows"] / res["seconds"], base["rows"] / base["seconds"]
                print(
                    f"ingest {name:<10}: {res['rows']:>10,} rows {res['seconds']:7.2f} s {rate:>10,.0f} rows/s  peak {res['peak_mib']:,.0f} MiB"
                    f"  facts {res['facts']:,}  quarantined {res['quarantined']:,}  ratio to pandas {rate / base_rate:.2f} (target >= 0.20)"
                )
                print(f"    slowest files: {res['slowest']}")
                print(
                    f"    entities not in the synthetic truth: {res['phantoms']} (must be 0); quarantined rows "
                    f"without a reason: {res['unexplained']} (must be 0); facts placed by a corrected code: "
                    f"{res['corrected']:,}"
                )


if __name__ == "__main__":
    main()
