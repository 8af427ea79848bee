"""The grading step with the pandas engine and with Spark local mode, at several sizes, and the
cost at 50 million entities extrapolated from them.

    python benchmarks/spark.py [--sizes 250000,500000,1000000] [--postgres URL] [--champion DIR]
                               [--partition-size 250000] [--spark-master local[2]]

For each size: a synthetic province (seed 7, as of 2026-06-30, ``benchmarks/grade.py``'s) is
ingested into a scratch PostgreSQL schema; the champion is trained on the first size (the
``train`` phase of ``grade.py``) into ``--champion DIR``, or reused from there if DIR already
holds one, so that every size is graded by the same model. Then ``grade_all`` runs once per
engine, each in its own child process; its wall time and the peak resident memory of its process
tree (the Python driver, and for Spark the JVM and its Python workers, sampled every 0.2 s) are
printed with the Spark/pandas ratio, and a least-squares line seconds = a + b·n per engine gives
the extrapolation to 50 000 000 entities (on this machine: one Spark executor of ``local[2]``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grade as bench
from stores import benchmark_stores

COUNTRY = 50_000_000


def tree_mib() -> float:
    """Resident memory of this process and all its descendants."""
    import psutil

    me = psutil.Process()
    total = 0
    for proc in [me, *me.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def phase_link(root: Path, url: str) -> dict:
    """What ``grade.py``'s train phase does before training, for the sizes that reuse a champion."""
    from credit_engine import linking
    from credit_engine.store.db import make_engine

    bench.settings_for(root, url)
    with make_engine(url).begin() as conn:
        return {"linked": linking.resolve_masked_debtors(conn)["linked"]}


def phase_grade(champion_dir: Path, url: str, compute: str, partition_size: int, master: str) -> dict:
    from credit_engine.grading import batch
    from credit_engine.scoring import registry
    from credit_engine.store.db import make_engine

    settings = bench.settings_for(champion_dir, url)
    champion = registry.load_champion(settings)
    peak, done = [tree_mib()], threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak.append(tree_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    report = batch.grade_all(
        make_engine(url),
        settings,
        bench.AS_OF,
        champion,
        actor="benchmark",
        compute=compute,
        partition_size=partition_size,
        spark_master=master,
    )
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return {
        "wall_s": wall,
        "seconds": report.seconds,
        "entities": sum(report.counts.values()),
        "peak_tree_mib": max(peak),
        "model_version": report.model_version,
    }


def child(*args: str) -> dict:
    """One phase of this benchmark in its own process, so that each peak memory is its own."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"phase {args[1]} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares seconds = a + b·n: (a, b)."""
    import numpy as np

    n, s = np.array(points, dtype=float).T
    b, a = np.polyfit(n, s, 1)
    return float(a), float(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="250000,500000,1000000", help="entities per run, comma-separated")
    parser.add_argument("--postgres", default=os.environ.get("CREDIT_ENGINE_TEST_POSTGRES_URL") or bench.POSTGRES_URL)
    parser.add_argument(
        "--champion",
        type=Path,
        help="folder of the champion (MLflow store and models): reused "
        "if it holds one, else trained on the first size and kept there",
    )
    parser.add_argument("--partition-size", type=int, default=250_000)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--phase", choices=["link", "grade"], help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=["pandas", "spark"], help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "link":
        print(json.dumps(phase_link(args.root, args.url)))
        return
    if args.phase == "grade":
        print(json.dumps(phase_grade(args.root, args.url, args.engine, args.partition_size, args.spark_master)))
        return

    from credit_engine.synth import synthesise

    sizes = [int(s) for s in args.sizes.split(",")]
    say = lambda text: print(text, flush=True)  # noqa: E731 - long runs: show each step as it ends
    say(
        f"spark benchmark: sizes {', '.join(f'{n:,}' for n in sizes)}, PostgreSQL, partitions of "
        f"{args.partition_size:,}, Spark {args.spark_master}, as of {bench.AS_OF}; {os.cpu_count()} CPUs "
        "(wall clock; other work on the machine adds noise)"
    )
    results: dict[str, list[tuple[int, dict]]] = {"pandas": [], "spark": []}
    with tempfile.TemporaryDirectory() as tmp:
        champion = args.champion or Path(tmp) / "champion"
        for n in sizes:
            root = Path(tmp) / f"n{n}"
            started = time.perf_counter()
            synthesise(root / "province", entities=n, seed=bench.SEED, as_of=bench.AS_OF)
            say(f"\n{n:,} entities: synth {time.perf_counter() - started:.1f} s")
            with benchmark_stores(root, args.postgres) as targets:
                url = dict(targets)["postgresql"]
                r = bench.child("--phase", "ingest", "--root", str(root), "--url", url)
                say(f"  ingest {r['ingest_s']:.1f} s: {r['facts']:,} facts")
                if (champion / "var" / "mlflow.db").exists():
                    r = child("--phase", "link", "--root", str(root), "--url", url)
                    say(f"  link: {r['linked']:,} masked IDs linked; champion reused from {champion}")
                else:
                    r = bench.child("--phase", "train", "--root", str(champion), "--url", url)
                    say(f"  link and train {r['link_s'] + r['train_s']:.1f} s: champion kept in {champion}")
                for compute in ("pandas", "spark"):
                    g = child(
                        "--phase",
                        "grade",
                        "--engine",
                        compute,
                        "--root",
                        str(champion),
                        "--url",
                        url,
                        "--partition-size",
                        str(args.partition_size),
                        "--spark-master",
                        args.spark_master,
                    )
                    results[compute].append((n, g))
                    steps = ", ".join(f"{k} {v:.1f}" for k, v in g["seconds"].items())
                    say(
                        f"  {compute:<6}: {g['wall_s']:8.1f} s  {g['entities'] / g['wall_s']:>8,.0f} entities/s  "
                        f"peak {g['peak_tree_mib']:>7,.0f} MiB  ({steps}; model {g['model_version']})"
                    )
                ratio = results["spark"][-1][1]["wall_s"] / results["pandas"][-1][1]["wall_s"]
                say(f"  spark / pandas: {ratio:.2f}x")
    report(results)


def report(results: dict[str, list[tuple[int, dict]]]) -> None:
    sizes = [n for n, _ in results["pandas"]]
    print(f"\n{'entities':>12}{'pandas s':>11}{'pandas MiB':>12}{'spark s':>10}{'spark MiB':>11}{'spark/pandas':>14}")
    for (n, p), (_, s) in zip(results["pandas"], results["spark"]):
        print(
            f"{n:>12,}{p['wall_s']:>11.1f}{p['peak_tree_mib']:>12,.0f}{s['wall_s']:>10.1f}"
            f"{s['peak_tree_mib']:>11,.0f}{s['wall_s'] / p['wall_s']:>14.2f}"
        )
    if len(set(sizes)) < 2:
        print("(one size: no fit)")
        return
    print(f"\nleast squares seconds = a + b·n, extrapolated to {COUNTRY:,} entities (this machine):")
    for compute, points in results.items():
        a, b = fit([(n, g["wall_s"]) for n, g in points])
        at = a + b * COUNTRY
        print(f"  {compute:<6}: a = {a:7.1f} s, b = {b * 1e6:7.1f} s per million  ->  {at:,.0f} s = {at / 3600:.1f} h")


if __name__ == "__main__":
    main()
