"""The public name search at province scale: its indexes' cost at ingest and its latency.

    python benchmarks/search.py [--entities 3000000] [--queries 200] [--scans 10] [--postgres URL]

Draws a synthetic province's entities (names as ``synth`` makes them), writes them per backend
through the ingest's ``Store.upsert_entities`` in chunks of ``ingest_chunk_rows``, and prints the
time of those writes with the share spent keeping the name pieces (``name_gram``). Then, for
entities chosen at random, three queries as the public types them: the name's first six
characters (prefix), six characters from its middle (part) and the name with one
character wrong (typo), anywhere but in its last two. Each prints the median and p99 latency of ``search.by_name`` and how
often the entity is among the hits; the baseline is the search before the indexes, which read
every name with ``LIKE``, measured in the same run on the same store for ``--scans`` queries.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from sqlalchemy import Connection, text
from stores import benchmark_stores

from credit_engine import search
from credit_engine.settings import get_settings
from credit_engine.store.db import make_engine, upgrade
from credit_engine.store.repository import Store, now_utc
from credit_engine.synth.world import build_world


def entities(n: int, seed: int) -> pd.DataFrame:
    world = build_world(n, seed, date(2026, 6, 30))
    ent = world.entities
    return pd.DataFrame(
        {
            "uscc": ent["uscc"],
            "code_status": "valid",
            "entity_type": "enterprise",
            "region_code": world.regions.code[ent["region"].to_numpy()],
            "registered": True,
            "name": ent["name"],
            "address": ent["address"],
            "reg_status": "存续",
        }
    )


def load(url: str, frame: pd.DataFrame) -> tuple[float, float]:
    """Seconds writing the entities, and of those, seconds keeping the name pieces."""
    engine = make_engine(url)
    upgrade(engine)
    spent = [0.0]
    reindex = Store.reindex_names

    def timed(store: Store, before: dict, after: dict) -> None:
        start = time.perf_counter()
        reindex(store, before, after)
        spent[0] += time.perf_counter() - start

    Store.reindex_names = timed
    rows = get_settings().ingest_chunk_rows
    start = time.perf_counter()
    try:
        for first in range(0, len(frame), rows):
            with engine.begin() as conn:
                Store(conn).upsert_entities(frame.iloc[first : first + rows], now_utc(), full=True)
    finally:
        Store.reindex_names = reindex
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE entity; ANALYZE name_gram")
    engine.dispose()
    return time.perf_counter() - start, spent[0]


def scan_by_name(conn: Connection, query: str, limit: int = 20) -> list[str]:
    """The search before the indexes (f6eab08): ``LIKE`` over every name, fuzzy candidates by
    the pieces they share with the query."""
    like = search._like
    hits: dict[str, None] = {}
    for pattern in (f"{like(query)}%", f"%{like(query)}%"):
        rows = conn.execute(
            text("SELECT uscc FROM entity WHERE name LIKE :p ESCAPE '\\' ORDER BY name, uscc LIMIT :n"),
            {"p": pattern, "n": limit},
        ).all()
        hits.update(dict.fromkeys(uscc for (uscc,) in rows))
        if len(hits) >= limit:
            return list(hits)[:limit]
    if hits:
        return list(hits)
    pieces = sorted({query[i : i + 2] for i in range(len(query) - 1)})
    pieces = [p for p in pieces if p not in search.LEGAL_FORM_PIECES] or pieces
    matches = [f"name LIKE :p{i} ESCAPE '\\'" for i in range(len(pieces))]
    shared = " + ".join(f"(CASE WHEN {m} THEN 1 ELSE 0 END)" for m in matches)
    rows = conn.execute(
        text(f"SELECT uscc, name FROM entity WHERE {' OR '.join(matches)} ORDER BY {shared} DESC, name, uscc LIMIT :n"),
        {**{f"p{i}": f"%{like(p)}%" for i, p in enumerate(pieces)}, "n": search.FUZZY_CANDIDATES},
    ).all()
    ranked = process.extract(
        query, [r.name or "" for r in rows], scorer=fuzz.WRatio, limit=limit, score_cutoff=search.FUZZY_CUTOFF
    )
    return [rows[i].uscc for _, _, i in ranked]


def queries(frame: pd.DataFrame, count: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    rng = random.Random(seed)
    chosen = frame[frame["name"].str.len() >= 10].sample(count, random_state=seed)
    out: dict[str, list[tuple[str, str]]] = {"prefix": [], "part": [], "typo": []}
    for uscc, name in zip(chosen["uscc"], chosen["name"], strict=True):
        start = rng.randrange(1, len(name) - 6)
        out["prefix"].append((uscc, name[:6]))
        out["part"].append((uscc, name[start : start + 6]))
        wrong = rng.randrange(len(name) - 2)  # anywhere but the last two (公司, 店...)
        out["typo"].append((uscc, name[:wrong] + "某" + name[wrong + 1 :]))
    return out


def timings(conn: Connection, find, cases: list[tuple[str, str]]) -> tuple[float, float, float]:
    """Median and p99 ms, and the share of queries whose entity is among the hits."""
    spent, found = [], 0
    for uscc, query in cases:
        start = time.perf_counter()
        hits = find(conn, query)
        spent.append((time.perf_counter() - start) * 1000)
        found += uscc in hits
    return float(np.median(spent)), float(np.percentile(spent, 99)), found / len(cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--scans", type=int, default=10, help="queries of each kind for the baseline")
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL (a scratch schema)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    start = time.perf_counter()
    frame = entities(args.entities, args.seed)
    print(f"{len(frame):,} entities drawn in {time.perf_counter() - start:.1f} s")
    cases = queries(frame, args.queries, args.seed)
    indexed = lambda conn, q: [hit.uscc for hit in search.by_name(conn, q)]  # noqa: E731
    with tempfile.TemporaryDirectory() as folder, benchmark_stores(Path(folder), args.postgres) as stores:
        for backend, url in stores:
            total, pieces = load(url, frame)
            print(
                f"\n[{backend}] entities written in {total:.1f} s ({len(frame) / total:,.0f}/s), "
                f"of which keeping the name pieces {pieces:.1f} s ({pieces / total:.0%})"
            )
            engine = make_engine(url)
            with engine.connect() as conn:
                grams = conn.exec_driver_sql("SELECT COUNT(*) FROM name_gram").scalar_one()
                print(f"[{backend}] {grams:,} name pieces ({grams / len(frame):.1f} a name)")
                print(f"{'query':8} {'search':9} {'n':>4} {'p50 ms':>9} {'p99 ms':>9} {'found':>6}")
                for kind, kind_cases in cases.items():
                    for label, find, sample in (
                        ("indexed", indexed, kind_cases),
                        ("scan", scan_by_name, kind_cases[: args.scans]),
                    ):
                        p50, p99, found = timings(conn, find, sample)
                        print(f"{kind:8} {label:9} {len(sample):>4} {p50:>9.2f} {p99:>9.2f} {found:>6.0%}")
            engine.dispose()


if __name__ == "__main__":
    main()
