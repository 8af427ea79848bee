"""A deterministic synthetic Heilongjiang province, written in the real source formats.

``synthesise`` draws a latent world (entities, persons, roles, hidden risk), the events that
risk drives, damages the files with the defects of DATA_CONTRACT.md at low rates, and writes
``sources/`` for the ingest plus ``truth/`` (latent risk, inspection-problem probability, the
following year's inspections), which nothing in ``sources/`` reveals, and ``plans/`` (a 双随机
plan with its inspector pool). Same arguments, byte-identical output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from . import defects, tables
from .events import Events, build_events
from .ids import stream
from .outcomes import following_year
from .plans import write_plan
from .vocab import LICENCE_CLASS_TEXT
from .world import World, build_world
from .writers import write_table

__all__ = ["SynthReport", "synthesise"]


@dataclass(frozen=True)
class SynthReport:
    """What was written: file row counts (paths relative to ``out_dir``) and defect counts."""

    out_dir: Path
    entities: int
    persons: int
    files: dict[str, int]
    defects: dict[str, int]


def synthesise(out_dir: Path, entities: int, seed: int, as_of: date) -> SynthReport:
    """Write a synthetic province of ``entities`` market entities as of ``as_of``."""
    if entities < 10:
        raise ValueError("synthesise needs at least 10 entities")
    if as_of < date(2021, 1, 1):
        raise ValueError("as_of must be 2021-01-01 or later (the v2 penalty format starts in 2020)")
    out_dir = Path(out_dir)
    world = build_world(entities, seed, as_of)
    events = build_events(world, seed)
    lk = tables.Lookup(world)
    log: Counter[str] = Counter()
    files: dict[str, int] = {}
    for t in _source_tables(world, events, lk, seed):  # one at a time: memory stays bounded
        _damage(t, world, events, lk, stream(seed, "defects:" + t.path), log)
        files[t.path] = write_table(t, out_dir)
    files.update(_write_truth(world, out_dir))
    files.update(_write_following_year(world, out_dir, stream(seed, "following-year")))
    files.update(write_plan(out_dir, seed, as_of))
    return SynthReport(
        out_dir=out_dir,
        entities=len(world.entities),
        persons=len(world.persons),
        files=files,
        defects=dict(sorted(log.items())),
    )


def _source_tables(world: World, events: Events, lk: tables.Lookup, seed: int) -> Iterator[defects.Table]:
    yield tables.registration(world, lk)
    yield tables.personnel(world, lk)
    yield tables.penalty_v1(world, events, lk, stream(seed, "table:penalty_v1"))
    yield from tables.penalty_v2(events, lk, stream(seed, "table:penalty_v2"))
    yield from tables.licences(world, events, lk, stream(seed, "table:licence"))
    yield tables.abnormal(events, lk)
    yield tables.serious(events, lk)
    yield tables.court(world, events, lk)
    yield tables.tax(events, lk)
    yield tables.inspections(events, lk)
    yield tables.commitments(events, lk)
    yield tables.complaints(events, lk)


def _damage(
    t: defects.Table, world: World, events: Events, lk: tables.Lookup, rng: np.random.Generator, log: Counter[str]
) -> None:
    """Inject the defects that belong to this kind of file, then the generic ones."""
    org, regno, region = lk.org, lk.regno, lk.region_code
    bad_date_years = None
    if t.kind == "penalty_v1":
        pen = events.penalties[~events.penalties["v2"]]
        defects.add_legal_forms(t, ("CF_XDR_GSDJ", "CF_XDR_ZDM", "CF_XDR_SWDJ"), org, regno, region, rng, log)
        defects.money_as_text(
            t,
            "CF_JG",
            pen["fine"].to_numpy(),
            pen["tier"].to_numpy() == "fine",
            ("罚款金额:{wan}万元", "{yuan}"),
            rng,
            log,
        )
        bad_date_years = pen["year"].to_numpy()
    elif t.kind == "penalty_v2":
        defects.add_legal_forms(t, ("CF_XDR_GSZC", "CF_XDR_ZZJG", None), org, regno, region, rng, log)
        fine = _fines_of(t)
        defects.money_as_text(t, "CF_NR_FK", fine, fine > 0, ("罚款{yuan}元", "罚款金额:{wan}万元"), rng, log)
    elif t.kind == "licence_v1":
        defects.add_legal_forms(
            t, ("行政相对人代码_3", "行政相对人代码_2", "行政相对人代码_4"), org, regno, region, rng, log
        )
    elif t.kind == "licence_v2":
        defects.add_legal_forms(t, ("XK_XDR_GSZC", "XK_XDR_ZZJG", None), org, regno, region, rng, log)
        defects.category_as_text(t, "XK_XKLB", LICENCE_CLASS_TEXT, rng, log)
    elif t.kind == "court":
        defects.mask_person_ids(t, "身份证号码/组织机构代码", rng, log)
        log["court_minor"] += tables.add_minor_listings(t, world, lk)
    elif t.kind == "inspection":
        defects.choose_bad_lines(t, rng, log)
    elif t.kind == "registration":
        defects.spell_statuses(t, np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0]), log)  # type: ignore[attr-defined]  # numpy stub: default_rng's SeedSequence spawns
    if t.uscc:
        defects.corrupt_uscc(t, rng, world.entities["pilot"].to_numpy(), org, regno, log)
    defects.format_dates(t, rng, log, no_period=t.kind == "penalty_v2")
    if bad_date_years is not None:
        defects.impossible_dates(t, "CF_JDRQ", bad_date_years, rng, log)
    defects.spell_nulls(t, rng, log)


def _fines_of(t: defects.Table) -> np.ndarray:
    """Fine in yuan per row, read back from the 万元 column before it is damaged."""
    return np.array([0.0 if v is None else round(float(v) * 10_000) for v in t.columns["CF_NR_FK"]])


def _write_truth(world: World, out_dir: Path) -> dict[str, int]:
    """The hidden truth, outside ``sources/``."""
    truth = out_dir / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    ent = pd.DataFrame(
        {
            "uscc": world.entities["uscc"].to_numpy(),
            "latent_risk": world.entities["risk"].to_numpy(),
            "p_problem": world.entities["p_problem"].to_numpy(),
        }
    )
    per = pd.DataFrame(
        {"id_number": world.persons["id_no"].to_numpy(), "latent_risk": world.persons["risk"].to_numpy()}
    )
    ent.to_csv(truth / "entities.csv", index=False, float_format="%.6f", lineterminator="\n")
    per.to_csv(truth / "persons.csv", index=False, float_format="%.6f", lineterminator="\n")
    return {"truth/entities.csv": len(ent), "truth/persons.csv": len(per)}


def _write_following_year(world: World, out_dir: Path, rng: np.random.Generator) -> dict[str, int]:
    """The next year's inspections and the ceiling's score (``outcomes``), for judging only."""
    frame = following_year(world, rng)
    frame.to_csv(out_dir / "truth" / "following_year.csv", index=False, float_format="%.6f", lineterminator="\n")
    return {"truth/following_year.csv": len(frame)}
