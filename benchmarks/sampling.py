"""Weights and a 5 % draw from a frame of 3 000 000 entities (one province).

    python benchmarks/sampling.py [--entities 3000000] [--ratio 0.05] [--repeat 5]

The frame is built in memory (codes, classes A 30 % / B 45 % / C 17 % / D 8 % with 5 % ungraded,
a fifth inspected in the last two years), not through the ingest. Prints the weights time, the
exact systematic PPS draw against a bare ``numpy.random.Generator.choice(replace=False, p=π/n)``
on the same frame in the same run (median of ``--repeat``), and the one-off costs of committing
a draw: the canonical frame with its SHA-256, and the blinded keys of the published frame.
Targets (issue 7): weights < 5 s; draw < 0.5 s and at most 3x the bare choice.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from credit_engine.sampling import blinding, draw
from credit_engine.sampling.plan import Plan
from credit_engine.sampling.policy import resolve
from credit_engine.sampling.weights import UNIT, compute_weights

AS_OF = date(2026, 6, 30)


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median seconds over ``repeat`` runs, and the last result."""
    seconds, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), out


def frame(entities: int, rng: np.random.Generator) -> pd.DataFrame:
    codes = np.char.add("91230100MA", np.char.zfill(np.arange(entities).astype(str), 8))
    grade = rng.choice(np.array(["A", "B", "C", "D"], dtype=object), entities, p=[0.30, 0.45, 0.17, 0.08])
    grade[rng.random(entities) < 0.05] = None
    inspected = rng.random(entities) < 0.2
    last = np.datetime64(AS_OF, "D") - rng.integers(1, 730, entities).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "uscc": codes,
            "grade": grade,
            "last_inspected": np.where(inspected, last, np.datetime64("NaT")).astype("datetime64[s]"),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=3_000_000)
    parser.add_argument("--ratio", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    population = frame(args.entities, rng)
    plan = Plan(title="benchmark", item="登记事项检查", departments=("市场监管局",), as_of=AS_OF, base_ratio=args.ratio)
    terms = resolve(None, AS_OF)
    print(
        f"sampling benchmark: {args.entities:,} entities, base ratio {args.ratio:.0%}, policy {terms.policy.id}; "
        f"{os.cpu_count()} CPUs, numpy {np.__version__}; medians of {args.repeat} runs",
        flush=True,
    )

    weights_s, weights = timed(lambda: compute_weights(population, terms, plan), max(1, args.repeat // 2))
    units = weights.frame["pi_units"].to_numpy()
    n = weights.sample_size
    capped = int((weights.frame["reason"] == "frequency_cap").sum())
    print(
        f"weights : {weights_s:7.3f} s  Σπ = {int(units.sum()) / UNIT:,.9f} (planned {n:,}); {capped:,} capped by "
        f"frequency; π ≤ 1: {bool(units.max() <= UNIT)}  (target < 5 s: {'PASS' if weights_s < 5 else 'FAIL'})"
    )

    seeds = iter(range(10**6))

    def pps() -> np.ndarray:
        entities, _ = draw.streams(str(next(seeds)), "salt", "frame-hash")
        return draw.systematic_pps(units, entities)

    p = units / units.sum()
    choice_rng = np.random.default_rng(1)
    bare_s, _ = timed(lambda: choice_rng.choice(len(units), n, replace=False, p=p), args.repeat)
    draw_s, drawn = timed(pps, args.repeat)
    ratio = draw_s / bare_s
    print(
        f"draw    : {draw_s:7.3f} s  {len(drawn):,} distinct of {len(units):,}: {len(np.unique(drawn)) == n}  "
        f"(target < 0.5 s: {'PASS' if draw_s < 0.5 else 'FAIL'})"
    )
    print(f"baseline: {bare_s:7.3f} s  Generator.choice(replace=False, p=π/n), same frame, same n")
    print(f"ratio draw / baseline: {ratio:5.2f}x  (target <= 3x: {'PASS' if ratio <= 3 else 'FAIL'})")

    keys = population["uscc"].to_numpy(dtype="S")
    hash_s, data = timed(lambda: draw.canonical_frame(keys, units), 1)
    started = time.perf_counter()
    digest = draw.sha256(data)
    hash_s += time.perf_counter() - started
    print(f"commit  : canonical frame ({len(data) / 2**20:,.0f} MiB) + SHA-256 {hash_s:6.3f} s ({digest[:16]}…)")
    usccs = population["uscc"].to_numpy(dtype=str)
    blind_s, _ = timed(lambda: blinding.tokens(usccs, blinding.openings(blinding.new_key(), usccs)), 1)
    print(f"commit  : blinded keys of the published frame (keyed BLAKE2b + SHA-256 per entity) {blind_s:6.3f} s")
    verify_s, _ = timed(lambda: draw.draw_keys(data, "7", "salt"), 1)
    print(f"verify  : parse the frame and re-run the draw {verify_s:6.3f} s")


if __name__ == "__main__":
    main()
