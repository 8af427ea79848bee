"""Classification speed of a million USCCs and a million resident IDs (the ingest's inner loop).

    python benchmarks/identifiers.py

Prints seconds for the vectorised classifiers, and the scalar classifier on a sample scaled to
a million as the baseline measured in the same run.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from stdnum.cn import ric, uscc

from credit_engine.identifiers import USCC_ALPHABET, classify_code, classify_codes, classify_id, classify_ids, mask_ids

N = 1_000_000


def timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def main() -> None:
    rng = np.random.default_rng(7)
    bodies = [
        "91" + "".join(rng.choice(list("0123456789"), 6)) + "".join(rng.choice(list(USCC_ALPHABET), 9))
        for _ in range(2000)
    ]
    codes = [b + uscc.calc_check_digit(b) for b in bodies] + [
        "310000400735611",
        "91350211M0000XUF46",
        "00000000000000000X",
        "",
    ]
    code_values = pd.Series(rng.choice(np.array(codes, dtype=object), N))
    ids = []
    for i in range(3000):
        body = f"2301{2 + i % 8:02d}{1990 + i % 15}0{1 + i % 9}1{i % 10}{i % 1000:03d}"
        ids.append(body + ric.calc_check_digit(body + "0"))
    id_values = pd.Series(rng.choice(np.array(ids + ["230102900101123", "230102199001******"], dtype=object), N))

    sample = 20_000
    rows = [
        (
            "classify_codes",
            timed(classify_codes, code_values),
            timed(lambda: [classify_code(v) for v in code_values[:sample]]) * N / sample,
        ),
        (
            "classify_ids",
            timed(classify_ids, id_values),
            timed(lambda: [classify_id(v) for v in id_values[:sample]]) * N / sample,
        ),
        ("mask_ids", timed(mask_ids, id_values), float("nan")),
    ]
    print(f"{'step':<16}{'vectorised s':>14}{'scalar s (scaled)':>20}{'speed-up':>10}   ({N:,} values)")
    for name, fast, slow in rows:
        print(f"{name:<16}{fast:>14.2f}{slow:>20.2f}{slow / fast:>10.1f}")


if __name__ == "__main__":
    main()
