"""Grade every entity with the champion, re-grade one at once, explain a stored grade.

Model reason codes come from LightGBM's ``pred_contrib``, about a millisecond a row: for a
province that would dominate the batch, so a grade stores the exact feature vector and the
model version, and the codes are computed when someone reads the grade (``explain``), from that
vector and that version — the same answer the batch would have stored.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, Engine, bindparam, text

from credit_engine.features import History, features_as_of, load_history
from credit_engine.features.spans import span_histories, uscc_spans
from credit_engine.grading.classes import grade, reason_codes
from credit_engine.rules import rules_for
from credit_engine.scoring import registry
from credit_engine.settings import Settings
from credit_engine.sources import jsontext
from credit_engine.store.repository import Store, now_utc, stamp


@dataclass(frozen=True)
class GradeReport:
    batch_id: str
    as_of: date
    model_version: str
    rule_set_id: str
    counts: dict[str, int]
    seconds: dict[str, float]


#: The columns of ``grade_frame``, in its order.
GRADE_COLUMNS = (
    "uscc",
    "as_of",
    "grade",
    "model_grade",
    "score",
    "reasons_json",
    "features_json",
    "model_name",
    "model_version",
    "rule_set_id",
)


def grade_frame(features: pd.DataFrame, champion: registry.Champion, as_of: date) -> pd.DataFrame:
    """Grade rows for ``features`` (indexed by USCC), ready for the grade table; none for none
    (a span of a past date whose entities were all established after it)."""
    rules = rules_for(as_of)
    if features.empty:
        return pd.DataFrame(columns=GRADE_COLUMNS)
    graded = grade(features, champion.model.risk(features), champion.cutoffs, rules)
    return pd.DataFrame(
        {
            "uscc": features.index.astype(str),
            "as_of": as_of.isoformat(),
            "grade": graded["grade"].to_numpy(),
            "model_grade": graded["model_grade"].to_numpy(),
            "score": graded["score"].to_numpy(dtype=float),
            "reasons_json": graded["reasons_json"].to_numpy(),
            "features_json": _feature_json(features[champion.model.columns_]),
            "model_name": registry.MODEL_NAME,
            "model_version": champion.version,
            "rule_set_id": rules.id,
        }
    )


def _feature_json(features: pd.DataFrame) -> np.ndarray:
    """The feature vectors as JSON arrays, formatted alike in a batch and in a re-grade, in the
    model's column order: the exact vector it saw, whatever the catalogue becomes later."""
    return jsontext.number_arrays(features).to_numpy(zero_copy_only=False)


#: Entities graded together: a partition's history and features fit comfortably in memory.
PARTITION_SIZE = 250_000
#: Told the step ("read": rows read, total unknown; "grade", "export", "write": entities done so
#: far, and their total).
Progress = Callable[[str, int, int | None], None]


def grade_partition(
    history: History, champion: registry.Champion, as_of: date, seconds: dict[str, float] | None = None
) -> pd.DataFrame:
    """Grade rows of the entities of one partition's history: the per-partition function both
    engines run (``seconds``, when given, adds the time of the features and of the scoring)."""
    started = time.perf_counter()
    features = features_as_of(history, as_of)[history.existing_on(as_of)]
    middle = time.perf_counter()
    rows = grade_frame(features, champion, as_of)
    if seconds is not None:
        seconds["features"] += middle - started
        seconds["score_and_grade"] += time.perf_counter() - middle
    return rows


def grade_all(
    engine: Engine,
    settings: Settings,
    as_of: date,
    champion: registry.Champion | None = None,
    actor: str = "grade",
    compute: Literal["pandas", "spark"] = "pandas",
    partition_size: int = PARTITION_SIZE,
    progress: Progress | None = None,
    spark_master: str | None = None,
    exchange: Path | None = None,
) -> GradeReport:
    """Every entity as of ``as_of``, a partition (USCC span) at a time so that memory stays bounded,
    computed by pandas here or by Spark (``compute``, see ``grading.spark``; ``spark_master`` and
    the Parquet ``exchange`` folder are its own); all rows are written in one transaction with the
    audit row."""
    if compute == "spark":
        from credit_engine.grading import spark

        spark.require()
    champion = champion or registry.load_champion(settings)
    seconds: dict[str, float] = defaultdict(float)
    tell = progress or (lambda step, done, total: None)
    with engine.connect() as conn:
        spans, total = uscc_spans(conn, partition_size)

    def pandas_parts(conn: Connection) -> Iterator[pd.DataFrame]:
        """Each span's rows; its history is freed before the rows are written."""
        with settings.scratch("spans-") as folder:
            histories = span_histories(conn, as_of, spans, Path(folder), lambda rows: tell("read", rows, None))
            done = 0
            while True:
                started = time.perf_counter()
                history = next(histories, None)
                seconds["load"] += time.perf_counter() - started
                if history is None:
                    return
                rows = grade_partition(history, champion, as_of, seconds)
                del history
                done += len(rows)
                tell("grade", done, total)
                yield rows

    if compute == "spark":
        parts = spark.grade_spans(
            engine, settings, champion, as_of, spans, total, seconds, tell, spark_master, exchange
        )
    else:
        parts = pandas_parts
    return _write(engine, parts, champion, as_of, actor, seconds, tell, total)


def _write(
    engine: Engine,
    parts: Callable[[Connection], Iterator[pd.DataFrame]],
    champion: registry.Champion,
    as_of: date,
    actor: str,
    seconds: dict[str, float],
    tell: Progress,
    total: int,
) -> GradeReport:
    """Insert the grade rows of every partition and the audit row, in one transaction."""
    batch_id, moment, rule_set = uuid.uuid4().hex, now_utc(), rules_for(as_of).id
    tally: Counter[str] = Counter()
    with engine.begin() as conn:
        store = Store(conn)
        for rows in parts(conn):
            started = time.perf_counter()
            store.insert_frame("grade", rows.assign(batch_id=batch_id, graded_at=stamp(moment)))
            tally.update(rows["grade"].value_counts().to_dict())
            seconds["write"] += time.perf_counter() - started
            tell("write", tally.total(), total)
        counts = {g: int(tally[g]) for g in sorted(tally)}
        store.audit(
            moment,
            actor,
            "grade_batch",
            batch_id,
            {"as_of": as_of.isoformat(), "model_version": champion.version, "rule_set": rule_set, "counts": counts},
        )
    return GradeReport(batch_id, as_of, champion.version, rule_set, counts, dict(seconds))


def regrade(conn: Connection, champion: registry.Champion, uscc: str, as_of: date, actor: str, why: str) -> dict:
    """Grade one entity at once (after a repair or an objection decision), inside the caller's
    transaction, so the new grade lands with the change that caused it."""
    history = load_history(conn, as_of, as_of, usccs=[uscc])
    if uscc not in set(history.entities["uscc"]):
        raise LookupError(f"no entity {uscc}")
    if not history.existing_on(as_of).all():
        raise LookupError(f"{uscc} was established after {as_of}")
    features = features_as_of(history, as_of).loc[[uscc]]
    row = grade_frame(features, champion, as_of)
    moment = now_utc()
    batch_id = uuid.uuid4().hex
    store = Store(conn)
    store.insert_frame("grade", row.assign(batch_id=batch_id, graded_at=stamp(moment)))
    store.audit(
        moment,
        actor,
        "regrade",
        uscc,
        {"as_of": as_of.isoformat(), "why": why, "grade": row["grade"].iloc[0], "model_version": champion.version},
    )
    return {**row.iloc[0].to_dict(), "batch_id": batch_id}


def grade_history(conn: Connection, uscc: str) -> list[dict]:
    """Every grade of one entity, newest first."""
    rows = conn.execute(
        text(
            "SELECT as_of, grade, model_grade, score, model_version, rule_set_id, batch_id, graded_at "
            "FROM grade WHERE uscc = :u ORDER BY as_of DESC, id DESC"
        ),
        {"u": uscc},
    ).mappings()
    return [dict(r) for r in rows]


#: An entity's grades, latest first: all of them, or those for :d or earlier. Built once.
_GRADES_OF = {
    held_on: text(
        "SELECT * FROM grade WHERE uscc = :u"
        + (" AND as_of <= :d" if held_on else "")
        + " ORDER BY as_of DESC, id DESC"
    )
    for held_on in (False, True)
}


def latest_grade(conn: Connection, uscc: str, as_of: date | None = None) -> dict | None:
    """The grade an entity held on ``as_of`` (its latest grade for that date or earlier)."""
    params = {"u": uscc, **({"d": as_of} if as_of else {})}
    row = conn.execute(_GRADES_OF[as_of is not None], params).mappings().first()
    return dict(row) if row else None


@lru_cache(maxsize=8)
def _version(tracking_uri: str, model_dir: str, version: str) -> registry.Champion:
    return registry.load_version(Settings(mlflow_tracking_uri=tracking_uri, model_dir=model_dir), version)


def explain(settings: Settings, grade_row: dict, top: int = 5, champion: registry.Champion | None = None) -> list[dict]:
    """Model reason codes of a stored grade, from its feature vector and its exact model version
    (``champion``, when it is that version, saves loading it again)."""
    if champion is not None and champion.version == grade_row["model_version"]:
        model = champion.model
    else:
        model = _version(settings.tracking_uri, str(settings.model_dir), grade_row["model_version"]).model
    values = np.array([np.nan if v is None else v for v in json.loads(grade_row["features_json"])], dtype=float)
    contributions = model.contributions(values.reshape(1, -1))[0, :-1]
    return reason_codes(contributions, values, top, names=list(model.columns_))


#: Each entity's grade held on :d — its latest grade for that date or earlier. A re-grade of one
#: entity is a batch of one, so "the latest batch" would not be the province's grades.
HELD_ON = """
    SELECT uscc, grade, score, as_of, model_version, reasons_json FROM (
        SELECT uscc, grade, score, as_of, model_version, reasons_json,
               ROW_NUMBER() OVER (PARTITION BY uscc ORDER BY as_of DESC, id DESC) AS rank_in_entity
        FROM grade WHERE as_of <= :d) ranked
    WHERE rank_in_entity = 1
"""


def _held_on(conn: Connection, as_of: date | None) -> date:
    day = as_of or conn.execute(text("SELECT MAX(as_of) FROM grade")).scalar()
    if day is None:
        raise LookupError("no grades yet: run `credit-engine grade` first")
    return day if isinstance(day, date) else date.fromisoformat(str(day))


def export_grades(conn: Connection, as_of: date | None = None) -> pd.DataFrame:
    """Every entity's grade held on ``as_of`` (default: the latest graded date): uscc, grade,
    score, as_of, model_version, reasons (the stored class band and direct judgements, JSON)."""
    day = _held_on(conn, as_of)
    frame = pd.read_sql_query(
        text(f"SELECT * FROM ({HELD_ON}) t ORDER BY uscc").bindparams(bindparam("d", type_=Date)),
        conn,
        params={"d": day},
    )
    if frame.empty:
        raise LookupError(f"no grades on or before {day}")
    return frame.rename(columns={"reasons_json": "reasons"})


def list_grades(
    conn: Connection,
    as_of: date | None,
    grade: str | None = None,
    regions: tuple[str, ...] = (),
    industry: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict]]:
    """A page of entities with the grade each held on ``as_of``, filtered by class, region-code
    prefixes and industry-code prefix; returns the total and the page, ordered by USCC."""
    day = _held_on(conn, as_of)
    where, params = ["1 = 1"], {"d": day, "n": limit, "o": offset}
    if grade:
        where.append("t.grade = :g")
        params["g"] = grade
    if regions:
        where.append("(" + " OR ".join(f"e.region_code LIKE :r{i}" for i in range(len(regions))) + ")")
        params |= {f"r{i}": f"{r}%" for i, r in enumerate(regions)}
    if industry:
        where.append("e.industry_code LIKE :i")
        params["i"] = f"{industry}%"
    base = f"FROM ({HELD_ON}) t JOIN entity e ON e.uscc = t.uscc WHERE {' AND '.join(where)}"
    typed = lambda sql: text(sql).bindparams(bindparam("d", type_=Date))  # noqa: E731
    total = conn.execute(typed(f"SELECT COUNT(*) {base}"), params).scalar_one()
    rows = conn.execute(
        typed(
            f"SELECT t.uscc, e.name, e.region_code, e.industry_code, t.grade, t.score, t.as_of, t.model_version {base} "
            "ORDER BY t.uscc LIMIT :n OFFSET :o"
        ),
        params,
    ).mappings()
    return total, [dict(r) for r in rows]
