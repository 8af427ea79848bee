"""The automatic end of publicity (``workflows.sweep.sweep``) over a province of 1 000 000 entities.

    python benchmarks/workflows_sweep.py [--entities 1000000] [--postgres URL] [--check] [--profile]

Builds a store directly (no synth/ingest: bulk ``Store.insert_frame``, COPY on PostgreSQL): the
entities, ~0.6 penalties each (双公示 categories and fines from 50 yuan to millions, decisions
2018–2026, 2 % on natural persons), a few % on the serious list (some already removed) and facts
of other kinds (registration, licence, abnormal list, inspection, court) that the sweep must not
touch; every fact a current version 1, recorded in the past. Then, each step in its own child
process so that each peak RSS is that step's own:

* baseline — the unavoidable read: ``SELECT id, kind, category, amount_yuan, event_date FROM fact
  WHERE superseded_at IS NULL AND kind IN ('penalty','serious')`` into pandas (3 reads, median);
* sweep    — ``sweep(engine, 2026-11-28)`` twice: the first run ends many facts, the second
  (idempotent) ends none; examined facts, ended facts, seconds and facts examined per second;
  ``--profile`` runs the first one under cProfile and prints where the time goes;
* check    — (``--check``) correctness: 200 random swept facts read through ``records.record_as_of``
  show ``publicity_ended``; no current, not swept penalty/serious fact has ended under
  ``records.publicity_on``; every swept fact had ended under ``publicity_on`` before the sweep,
  with the same end date, and its new version differs only in the sweep's columns; other kinds
  are untouched.

SQLite file (in a temporary folder under /tmp) by default; ``--postgres URL`` runs on a scratch
schema of that server instead, created and dropped by the run.
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
from datetime import date, datetime
from pathlib import Path

from stores import benchmark_stores

AS_OF = date(2026, 11, 28)
SEED = 7
BLOCK = 200_000  # entities generated and inserted at a time (bounded memory while building)
#: Recorded times lie before this instant (naive UTC): the store learned every fact in the past.
RECORDED_BEFORE = datetime(2026, 11, 27, 12)
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SWEPT_SQL = (
    "SELECT id, kind, category, amount_yuan, event_date FROM fact "
    "WHERE superseded_at IS NULL AND kind IN ('penalty','serious')"
)

#: 处罚类别 of market-regulation penalties (joined with 、 as ingest normalises them), with weights.
PENALTY_MIX = {
    "罚款": 46,
    "罚款、没收违法所得": 16,
    "警告": 9,
    "警告、罚款": 7,
    "通报批评": 3,
    "没收违法所得、没收非法财物": 3,
    "警告、没收违法所得": 2,
    "吊销营业执照": 3,
    "责令停产停业": 1.5,
    "责令停产停业、罚款": 1.5,
    "暂扣许可证件": 1,
    "吊销许可证件、罚款": 1,
    "限制开展生产经营活动": 0.5,
    "责令关闭": 0.5,
    "降低资质等级": 0.5,
    "限制从业、罚款": 0.5,
    "行政拘留": 0.2,
    "其他": 2,
}
SERIOUS_GROUNDS = {
    "abnormal_three_years": 70,
    "life_and_health": 8,
    "fair_competition": 6,
    "intellectual_property": 4,
    "refuses_decision": 5,
    "false_registration": 4,
    "other": 3,
}
REGIONS = (
    "330102",
    "330105",
    "330106",
    "330108",
    "330109",
    "330110",
    "330111",
    "330122",
    "330127",
    "330182",
    "330203",
    "330205",
    "330206",
    "330211",
    "330212",
    "330281",
    "330302",
    "330303",
    "330402",
    "330421",
)
AUTHORITIES = tuple(
    f"杭州市{d}区市场监督管理局" for d in ("上城", "拱墅", "西湖", "滨江", "萧山", "余杭", "临平", "钱塘")
) + ("浙江省市场监督管理局", "宁波市市场监督管理局", "温州市市场监督管理局")
FACT_COLUMNS = (
    "fact_key",
    "version",
    "kind",
    "subject_uscc",
    "person_key",
    "person_masked_id",
    "person_name",
    "event_date",
    "end_date",
    "publicity_end",
    "published",
    "severity",
    "amount_yuan",
    "document_no",
    "authority",
    "category",
    "status",
    "flags",
    "detail_json",
    "raw_json",
    "content_hash",
    "rule_set_id",
    "source_row",
    "recorded_at",
)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- building the store ---------------------------------------------------------------------------


def _usccs(start: int, n: int, rng) -> list[str]:
    """Enterprise USCCs (91, a region, a 9-digit organisation code) with a valid GB 32100 check."""
    import numpy as np

    region = np.array(REGIONS)[rng.integers(0, len(REGIONS), n)]
    first17 = np.char.add(
        np.char.add("91", region),
        np.char.zfill(((np.arange(start, start + n) * 7919 + 100_000_007) % 10**9).astype(str), 9),
    )
    digits = np.frombuffer("".join(first17.tolist()).encode(), dtype=np.uint8).reshape(n, 17) - ord("0")
    check = (31 - (digits.astype(np.int64) @ np.array(USCC_WEIGHTS)) % 31) % 31
    return [body + USCC_ALPHABET[c] for body, c in zip(first17.tolist(), check.tolist())]


def _days(rng, n: int, start: date, end: date, power: float = 1.0):
    """n days in [start, end]; power < 1 puts more of them near the end (a growing register)."""
    import numpy as np

    span = (end - start).days
    return np.datetime64(start, "D") + (rng.random(n) ** power * span).astype("timedelta64[D]")


def _recorded(rng, event_days):
    """Recorded a few days to two months after the event, never after RECORDED_BEFORE, as text."""
    import numpy as np
    import pandas as pd

    n = len(event_days)
    lag = rng.integers(1, 60, n).astype("timedelta64[D]") + rng.integers(0, 86_400, n).astype("timedelta64[s]")
    at = np.minimum(
        event_days.astype("datetime64[s]") + np.timedelta64(8, "h") + lag, np.datetime64(RECORDED_BEFORE, "s")
    )
    return pd.Series(at).dt.strftime("%Y-%m-%d %H:%M:%S.000000")


def _hashes(rng, n: int):
    import numpy as np

    return np.char.mod("%016x", rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64))


def _json_rows(**columns) -> list[str]:
    """One JSON object per row from equally long columns (None values dropped, as ingest does)."""
    names = list(columns)
    return [
        json.dumps({k: v for k, v in zip(names, values) if v is not None}, ensure_ascii=False)
        for values in zip(*columns.values())
    ]


def _raw_rows(*columns) -> list[str]:
    """The source row's cells (``raw_json`` is a JSON list in header order)."""
    return [json.dumps(list(values), ensure_ascii=False) for values in zip(*columns)]


def _facts(kind: str, rng, n: int, **columns):
    """A fact frame of ``n`` current version-1 rows with every column of FACT_COLUMNS."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {
            "version": np.ones(n, dtype=np.int64),
            "kind": kind,
            "status": "active",
            "content_hash": _hashes(rng, n),
            "source_row": rng.integers(1, 200_000, n),
        }
    )
    for name in FACT_COLUMNS:
        if name in columns:
            frame[name] = columns[name]
        elif name not in frame:
            frame[name] = None
    for name in ("event_date", "end_date", "publicity_end"):
        frame[name] = pd.to_datetime(frame[name])
    if "published" not in columns:
        frame["published"] = True
    frame["amount_yuan"] = frame["amount_yuan"].astype(float)
    return frame[list(FACT_COLUMNS)]


def _tiering(categories, amounts, decided):
    """(severity, published, publicity_end, rule_set_id) as ingest stores them: the rules in force
    on the decision date (``sources.penalties_licences``), one ``tier_penalty`` per distinct case."""
    import numpy as np
    import pandas as pd

    from credit_engine.rules import load_rule_sets
    from credit_engine.rules.penalty import tier_penalty

    sets = load_rule_sets()
    starts = np.array([s.effective_from for s in sets], dtype="datetime64[D]")
    which = np.maximum(np.searchsorted(starts, decided, side="right") - 1, 0)
    cache: dict = {}
    severity, published, months = [], [], []
    for cats, amount, w in zip(categories.tolist(), amounts.tolist(), which.tolist()):
        key = (cats, None if amount != amount else amount, w)
        if key not in cache:
            t = tier_penalty(cats.split("、"), key[1], date(2020, 1, 1), False, sets[w])
            cache[key] = (
                t.tier.value,
                t.published,
                getattr(sets[w].penalty.tiers, t.tier.value).publicity_months.value,
            )
        s, p, m = cache[key]
        severity.append(s)
        published.append(p)
        months.append(m if p else -1)
    months = np.array(months)
    stamps = pd.to_datetime(pd.Series(decided))
    total = stamps.dt.year.to_numpy() * 12 + stamps.dt.month.to_numpy() - 1 + np.maximum(months, 0)
    first = pd.to_datetime(pd.DataFrame({"year": total // 12, "month": total % 12 + 1, "day": 1}))
    day = np.minimum(stamps.dt.day.to_numpy(), first.dt.days_in_month.to_numpy())
    end = (first + pd.to_timedelta(day - 1, unit="D")).where(months >= 0)
    return severity, published, end, np.array([s.id for s in sets])[which]


def _block(rng, start: int, n: int) -> tuple:
    """Entities start..start+n and all their facts."""
    import numpy as np
    import pandas as pd

    usccs = np.array(_usccs(start, n, rng))
    founded = _days(rng, n, date(1995, 1, 1), date(2026, 10, 31), 0.6)
    entity = pd.DataFrame(
        {
            "uscc": usccs,
            "code_status": "uscc",
            "entity_type": "enterprise",
            "region_code": [u[2:8] for u in usccs],
            "name": [f"浙江测试{i}有限公司" for i in range(start, start + n)],
            "market_type": "有限责任公司",
            "legal_rep_name": "张*",
            "registered_capital_yuan": np.round(rng.lognormal(13, 1.5, n), -3),
            "established_on": pd.to_datetime(founded),
            "industry_code": rng.choice(["F5191", "C1311", "I6510", "L7212", "E4710"], n),
            "address": "浙江省杭州市西湖区文三路1号",
            "authority": rng.choice(AUTHORITIES, n),
            "reg_status": "存续",
            "registered": True,
            "updated_at": "2026-11-01 00:00:00.000000",
        }
    )
    frames = [
        _facts(
            "registration",
            rng,
            n,
            fact_key=np.char.add("registration:", usccs),
            subject_uscc=usccs,
            event_date=founded,
            authority=entity["authority"].to_numpy(),
            recorded_at=_recorded(rng, founded),
            detail_json=_json_rows(
                name=entity["name"].tolist(),
                market_type=["有限责任公司"] * n,
                established_on=pd.Series(founded).astype(str).tolist(),
                reg_status=["存续"] * n,
            ),
            rule_set_id="cn-2021-09-01",
        )
    ]

    # penalties: mostly none, some entities many (negative binomial, mean 0.6), 2 % on natural persons
    per = rng.negative_binomial(0.3, 0.3 / 0.9, n)
    owner = np.repeat(usccs, per)
    k = len(owner)
    persons = rng.random(k) < 0.02
    person_key = np.where(persons, np.char.mod("%032x", rng.integers(0, 2**62, k)), None)
    subject = np.where(persons, None, owner)
    mix = list(PENALTY_MIX)
    weights = np.array(list(PENALTY_MIX.values()), dtype=float)
    cats = np.array(mix)[rng.choice(len(mix), k, p=weights / weights.sum())]
    fined = np.char.find(cats, "罚款") >= 0
    fine = np.clip(rng.lognormal(np.log(5000), 1.9, k), 50, 5e7)
    rounding = rng.random(k)
    fine = np.select(
        [rounding < 0.55, rounding < 0.85],  # mostly round sums, some to the fen
        [np.maximum(np.round(fine, -3), 100), np.maximum(np.round(fine, -2), 50)],
        np.round(fine, 2),
    )
    amount = np.where(fined & (rng.random(k) >= 0.03), fine, np.nan)  # 3 % of fines of unknown amount
    decided = _days(rng, k, date(2018, 1, 1), date(2026, 11, 27), 0.85)
    severity, published, publicity_end, rule_ids = _tiering(cats, amount, decided)
    doc = [f"杭市监罚处〔{d[:4]}〕{start * 3 + i}号" for i, d in enumerate(np.datetime_as_string(decided).tolist())]
    flags = rng.choice(
        np.array([None, "uscc_check_failed", "category_missing", ""], dtype=object), k, p=[0.95, 0.02, 0.02, 0.01]
    )
    authority = rng.choice(AUTHORITIES, k)
    frames.append(
        _facts(
            "penalty",
            rng,
            k,
            fact_key=[f"penalty:{d}:{s}" for d, s in zip(doc, np.where(persons, person_key, owner))],
            subject_uscc=subject,
            person_key=person_key,
            person_masked_id=np.where(persons, "330106********123X", None),
            person_name=np.where(persons, "李*", None),
            event_date=decided,
            publicity_end=publicity_end,
            published=published,
            severity=severity,
            amount_yuan=amount,
            document_no=doc,
            authority=authority,
            category=cats,
            flags=flags,
            rule_set_id=rule_ids,
            recorded_at=_recorded(rng, decided),
            detail_json=_json_rows(
                party_name=[None if p else "浙江测试有限公司" for p in persons],
                violation_type=["销售不合格产品"] * k,
                facts_text=["经查，当事人销售的产品经抽样检验不合格，货值金额较小。"] * k,
                basis=["《中华人民共和国产品质量法》第四十九条"] * k,
                content=cats.tolist(),
                repairable_early=[True] * k,
            ),
            raw_json=_raw_rows(
                doc,
                cats.tolist(),
                np.char.mod("%.2f", np.nan_to_num(amount / 10_000)).tolist(),
                np.datetime_as_string(decided).tolist(),
                authority.tolist(),
                ["销售不合格产品"] * k,
                ["《中华人民共和国产品质量法》第四十九条"] * k,
            ),
        )
    )

    # 严重违法失信名单: 2.5 % of entities listed once, 0.3 % twice; 40 % already removed
    listed_once = rng.random(n) < 0.028
    twice = listed_once & (rng.random(n) < 0.11)
    owner = np.concatenate([usccs[listed_once], usccs[twice]])
    k = len(owner)
    listed = _days(rng, k, date(2016, 1, 1), date(2026, 11, 27), 0.9)
    listed[len(usccs[listed_once]) :] -= rng.integers(1, 30, int(twice.sum())).astype("timedelta64[D]")  # distinct keys
    removed = listed + rng.integers(365, 1500, k).astype("timedelta64[D]")
    removed = np.where((rng.random(k) < 0.4) & (removed < np.datetime64(AS_OF)), removed, np.datetime64("NaT"))
    grounds = list(SERIOUS_GROUNDS)
    gw = np.array(list(SERIOUS_GROUNDS.values()), dtype=float)
    frames.append(
        _facts(
            "serious",
            rng,
            k,
            fact_key=[f"serious:{u}:{d}" for u, d in zip(owner.tolist(), np.datetime_as_string(listed).tolist())],
            subject_uscc=owner,
            event_date=listed,
            end_date=removed,
            severity="serious",
            authority=rng.choice(AUTHORITIES, k),
            category=np.array(grounds)[rng.choice(len(grounds), k, p=gw / gw.sum())],
            rule_set_id="cn-2021-09-01",
            recorded_at=_recorded(rng, listed),
            detail_json=_json_rows(
                name=["浙江测试有限公司"] * k,
                reason=["被列入经营异常名录届满3年仍未履行相关义务"] * k,
                listed_by=["杭州市市场监督管理局"] * k,
            ),
        )
    )

    # kinds the sweep must not touch
    for kind, mean, start_day in (
        ("license", 0.5, date(2012, 1, 1)),
        ("abnormal", 0.1, date(2016, 1, 1)),
        ("inspection", 0.3, date(2019, 1, 1)),
        ("court", 0.02, date(2017, 1, 1)),
    ):
        owner = np.repeat(usccs, rng.poisson(mean, n))
        k = len(owner)
        event = _days(rng, k, start_day, date(2026, 11, 27), 0.8)
        ended = event + rng.integers(60, 1500, k).astype("timedelta64[D]")
        ended = np.where((rng.random(k) < 0.5) & (ended < np.datetime64(AS_OF)), ended, np.datetime64("NaT"))
        frames.append(
            _facts(
                kind,
                rng,
                k,
                fact_key=[f"{kind}:{u}:{start * 4 + i}" for i, u in enumerate(owner.tolist())],
                subject_uscc=owner,
                event_date=event,
                end_date=ended if kind != "inspection" else None,
                authority=rng.choice(AUTHORITIES, k),
                category=rng.choice(["普通", "登记", "annual_report", "合格"], k),
                recorded_at=_recorded(rng, event),
                rule_set_id="cn-2021-09-01",
                detail_json=_json_rows(result=["未发现问题"] * k),
            )
        )
    return entity, pd.concat(frames, ignore_index=True)


def phase_build(url: str, entities: int) -> dict:
    import numpy as np

    from credit_engine.store.db import make_engine, upgrade
    from credit_engine.store.repository import Store

    engine = make_engine(url)
    upgrade(engine)
    rng = np.random.default_rng(SEED)
    out = {"generate_s": 0.0, "insert_s": 0.0, "facts": {}}
    for start in range(0, entities, BLOCK):
        t = time.perf_counter()
        entity, facts = _block(rng, start, min(BLOCK, entities - start))
        out["generate_s"] += time.perf_counter() - t
        t = time.perf_counter()
        with engine.begin() as conn:
            store = Store(conn)
            store.insert_frame("entity", entity)
            for lo in range(0, len(facts), 500_000):
                store.insert_frame("fact", facts.iloc[lo : lo + 500_000])
        out["insert_s"] += time.perf_counter() - t
        for kind, count in facts["kind"].value_counts().items():
            out["facts"][kind] = out["facts"].get(kind, 0) + int(count)
    t = time.perf_counter()
    if engine.dialect.name == "postgresql":  # what autovacuum would have done after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE fact")
            conn.exec_driver_sql("VACUUM ANALYZE entity")
    out["analyze_s"] = time.perf_counter() - t
    out["peak_mib"] = peak_mib()
    return out


# -- the measured steps ---------------------------------------------------------------------------


def phase_baseline(url: str) -> dict:
    import pandas as pd
    from sqlalchemy import text

    from credit_engine.store.db import make_engine

    engine = make_engine(url)
    seconds = []
    for _ in range(3):
        t = time.perf_counter()
        with engine.connect() as conn:
            frame = pd.read_sql_query(text(SWEPT_SQL), conn)
        seconds.append(time.perf_counter() - t)
        rows = len(frame)
        del frame
    return {"seconds": seconds, "rows": rows, "peak_mib": peak_mib()}


def phase_sweep(url: str, profile: bool) -> dict:
    from credit_engine.store.db import make_engine
    from credit_engine.workflows.sweep import sweep

    engine = make_engine(url)
    out: dict = {"runs": []}
    for run in range(2):
        if profile and run == 0:
            import cProfile
            import io
            import pstats

            profiler = cProfile.Profile()
            report = profiler.runcall(sweep, engine, AS_OF)
            buffer = io.StringIO()
            pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(30)
            out["profile"] = buffer.getvalue()
        else:
            report = sweep(engine, AS_OF)
        out["runs"].append(
            {
                "examined": report.examined,
                "ended": report.ended,
                "seconds": report.seconds,
                "rule_set": report.rule_set_id,
                "peak_mib": peak_mib(),
            }
        )
    with engine.connect() as conn:
        out["versions"] = conn.exec_driver_sql("SELECT COUNT(*) FROM fact").scalar()
    return out


def phase_check(url: str) -> dict:
    """Correctness of the sweep just run (see the module docstring): counts, and a few examples of each problem."""
    from collections import Counter, defaultdict

    from sqlalchemy import select

    from credit_engine.records import PUBLICITY_ENDED_FLAG, Publicity, end_of_day, publicity_on, record_as_of
    from credit_engine.rules import rules_for
    from credit_engine.store.db import make_engine
    from credit_engine.store.models import Fact
    from credit_engine.store.repository import now_utc

    engine = make_engine(url)
    rules = rules_for(AS_OF)
    problems: dict[str, list[str]] = defaultdict(list)

    def problem(kind: str, text: str) -> None:
        problems[kind].append(text)

    def judged(row: dict) -> tuple[Publicity, date | None]:
        publicity, _, end = publicity_on(row, json.loads(row["detail_json"] or "{}"), AS_OF, rules)
        return publicity, end

    out: dict = {}
    with engine.connect() as conn:
        rows = [
            dict(r)
            for r in conn.execute(select(Fact.__table__).where(Fact.kind.in_(("penalty", "serious")))).mappings()
        ]
        others = conn.exec_driver_sql(
            "SELECT COUNT(*), SUM(CASE WHEN superseded_at IS NULL AND version = 1 THEN 1 ELSE 0 END) "
            "FROM fact WHERE kind NOT IN ('penalty', 'serious')"
        ).one()
        if others[0] != others[1]:
            problem("other kinds touched", f"{others[0] - others[1]} of {others[0]} facts not a current version 1")
        current = [r for r in rows if r["superseded_at"] is None]
        swept = [r for r in current if PUBLICITY_ENDED_FLAG in (r["flags"] or "")]
        old = {r["fact_key"]: r for r in rows if r["superseded_at"] is not None}
        out.update(current=len(current), swept=len(swept), superseded=len(old))
        keys = Counter(r["fact_key"] for r in current)
        if max(keys.values(), default=1) > 1:
            problem("two current versions", f"{sum(1 for v in keys.values() if v > 1)} fact keys")
        if set(old) != {r["fact_key"] for r in swept}:
            problem("superseded versions", f"{len(old)} superseded versions for {len(swept)} swept facts")

        # every swept fact had ended under publicity_on before the sweep, with the same end date,
        # and its new version is the old one but for the sweep's columns
        changed = {"id", "version", "flags", "publicity_end", "recorded_at", "superseded_at"}
        before: Counter = Counter()
        for row in swept:
            prev = old[row["fact_key"]]
            publicity, end = judged(prev)
            before[f"{row['kind']} {publicity.value}"] += 1
            if publicity is not Publicity.ENDED or end != row["publicity_end"]:
                problem(
                    f"swept {row['kind']} that was {publicity.value} (not ended) before the sweep"
                    if publicity is not Publicity.ENDED
                    else "swept with another end date than publicity_on's",
                    f"{row['fact_key']} ({row['category']}, amount {row['amount_yuan']}, event {row['event_date']}, "
                    f"end_date {row['end_date']}): publicity_on before: {publicity.value} {end}; "
                    f"swept publicity_end {row['publicity_end']}",
                )
            diff = [c for c in row if c not in changed and row[c] != prev[c]]
            flags = ",".join(f for f in ((prev["flags"] or "").split(",") + [PUBLICITY_ENDED_FLAG]) if f)
            if diff or row["version"] != prev["version"] + 1 or row["flags"] != flags:
                problem("new version not a copy", f"{row['fact_key']}: differs in {diff}, flags {row['flags']!r}")
        out["swept_publicity_before"] = dict(before)

        # no current fact that was not swept has ended under publicity_on
        after: Counter = Counter()
        for row in current:
            if PUBLICITY_ENDED_FLAG in (row["flags"] or ""):
                continue
            publicity, end = judged(row)
            after[f"{row['kind']} {publicity.value}"] += 1
            if publicity is Publicity.ENDED:
                problem(
                    "not swept but ended under publicity_on",
                    f"{row['kind']} {row['fact_key']} (event {row['event_date']}, end {end})",
                )
        out["not_swept_publicity"] = dict(after)

        # 200 random swept facts, read as the public would see them on the as-of date
        if now_utc() >= end_of_day(AS_OF):
            problem(
                "clock",
                f"the sweep's versions are recorded after the end of {AS_OF} (Beijing): record_as_of "
                f"{AS_OF} cannot show them; run the check on {AS_OF}",
            )
        entity_swept = [r for r in swept if r["subject_uscc"]]
        shown: Counter = Counter()
        for row in random.Random(SEED).sample(entity_swept, min(200, len(entity_swept))):
            record = record_as_of(conn, row["subject_uscc"], AS_OF)
            view = [f for f in record.facts if f.fact_key == row["fact_key"]]
            state = view[0].publicity.value if len(view) == 1 else f"{len(view)} versions shown"
            shown[state] += 1
            if state != Publicity.ENDED.value or view[0].publicity_end != row["publicity_end"] or view[0].version != 2:
                problem("record_as_of", f"{row['fact_key']} shown as {state}")
        out["record_as_of_sample"] = dict(shown)
    out["problems"] = {kind: {"count": len(items), "examples": items[:3]} for kind, items in problems.items()}
    return out


# -- driver ---------------------------------------------------------------------------------------


def child(*args: str) -> dict:
    """One step in its own process, so that each peak memory is that step's own."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"step {args[1]} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=POSTGRES_URL,
        default=None,
        metavar="URL",
        help=f"run on a scratch schema of this PostgreSQL server (default URL {POSTGRES_URL})",
    )
    parser.add_argument("--check", action="store_true", help="check the sweep's results (record_as_of, publicity_on)")
    parser.add_argument("--profile", action="store_true", help="run the first sweep under cProfile and print the top")
    parser.add_argument("--phase", choices=["build", "baseline", "sweep", "check"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run = {
            "build": lambda: phase_build(args.url, args.entities),
            "baseline": lambda: phase_baseline(args.url),
            "sweep": lambda: phase_sweep(args.url, args.profile),
            "check": lambda: phase_check(args.url),
        }[args.phase]
        print(json.dumps(run(), default=str))
        return

    say = lambda text: print(text, flush=True)  # noqa: E731 - long runs: show each step as it ends
    backend = "postgresql" if args.postgres else "sqlite"
    say(
        f"publicity sweep benchmark: {args.entities:,} entities, {backend}, as of {AS_OF}, seed {SEED}; "
        f"{os.cpu_count()} CPUs (wall clock; other work on the machine adds noise)"
    )
    with tempfile.TemporaryDirectory(prefix="sweep-bench-", dir="/tmp") as tmp:
        with benchmark_stores(Path(tmp), args.postgres) as targets:
            url = dict(targets)[backend]

            def step(name: str, *extra: str) -> dict:
                return child("--phase", name, "--url", url, "--entities", str(args.entities), *extra)

            t = time.perf_counter()
            b = step("build")
            build_s = time.perf_counter() - t
            facts = sum(b["facts"].values())
            say(
                f"build    : {build_s:8.1f} s  ({b['generate_s']:.1f} s generating, {b['insert_s']:.1f} s inserting, "
                f"{b['analyze_s']:.1f} s VACUUM ANALYZE)  {args.entities:,} entities, {facts:,} facts "
                f"({', '.join(f'{k} {v:,}' for k, v in sorted(b['facts'].items(), key=lambda kv: -kv[1]))})  "
                f"(peak {b['peak_mib']:,.0f} MiB)"
            )
            if backend == "sqlite":
                say(f"           SQLite file {os.path.getsize(Path(tmp) / 'bench.db') / 2**20:,.0f} MiB")
            base = step("baseline")
            bare = sorted(base["seconds"])[1]
            say(
                f"baseline : {bare:8.2f} s  bare read of the {base['rows']:,} current penalty/serious facts into pandas "
                f"(median of {', '.join(f'{s:.2f}' for s in base['seconds'])} s; {base['rows'] / bare:,.0f} rows/s)  "
                f"(peak {base['peak_mib']:,.0f} MiB)"
            )
            s = step("sweep", *(["--profile"] if args.profile else []))
            for i, r in enumerate(s["runs"]):
                say(
                    f"sweep #{i + 1} : {r['seconds']:8.2f} s  examined {r['examined']:,}, ended "
                    f"{', '.join(f'{k} {v:,}' for k, v in r['ended'].items())} ({sum(r['ended'].values()):,} in all)  "
                    f"{r['examined'] / r['seconds']:,.0f} facts examined/s  rules {r['rule_set']}  "
                    f"(peak so far {r['peak_mib']:,.0f} MiB)"
                )
            first, second = s["runs"]
            say(
                f"ratio    : sweep #1 / baseline {first['seconds'] / bare:6.1f}x   "
                f"sweep #2 (idempotent, nothing to end) / baseline {second['seconds'] / bare:6.1f}x   "
                f"({s['versions']:,} fact versions after both runs)"
            )
            if args.profile:
                say("\nprofile of sweep #1 (cProfile, cumulative):\n" + s["profile"])
            if args.check:
                c = step("check")
                say(
                    f"check    : {c['swept']:,} swept of {c['current']:,} current penalty/serious facts; before the sweep "
                    f"under publicity_on: {c['swept_publicity_before']}; not swept now: {c['not_swept_publicity']}; "
                    f"record_as_of on 200 swept: {c['record_as_of_sample']}"
                )
                say(
                    f"           {sum(p['count'] for p in c['problems'].values()):,} problem(s)"
                    + "".join(
                        f"\n           - {kind}: {p['count']:,}"
                        + "".join(f"\n               e.g. {e}" for e in p["examples"])
                        for kind, p in c["problems"].items()
                    )
                )


if __name__ == "__main__":
    main()
