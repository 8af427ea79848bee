"""The grading batch under Spark: the same per-partition pandas function, on a cluster.

Exchange by Parquet, not JDBC: the driver already knows how to read the partitions' histories
from the store (``span_histories``: one pass, on SQLite or PostgreSQL), and writing
grades back through ``Store.insert_frame`` keeps the one transaction with the audit row. So:

1. the driver exports each USCC span's history to ``<exchange>/entities`` and ``<exchange>/facts``
   (one file each per span, a ``part`` column naming the span);
2. Spark co-groups both by ``part`` and runs ``batch.grade_partition`` on each group with the
   broadcast champion (``applyInPandas``), writing grade rows to ``<exchange>/grades``;
3. the driver reads the grade files back, one at a time, into the store.

On a cluster ``<exchange>`` must be a folder mounted at the same path on the driver and every
executor (NFS, or HDFS/S3 through a FUSE mount): the driver writes and reads it as local files. Datetimes travel as int64 microseconds: neither Spark's session
time zone nor Arrow's nanosecond pandas conversion touch them, so they round-trip exactly.

PySpark is an optional extra, imported only here and only when the Spark engine runs.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine

from credit_engine.features import spans as span_files
from credit_engine.features.history import DATES, History, history_of
from credit_engine.features.spans import as_text, from_micros, span_histories, to_micros
from credit_engine.grading import batch
from credit_engine.scoring import registry

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from credit_engine.settings import Settings

MISSING = "the Spark engine needs the `spark` extra: pip install 'credit-engine[spark]' and a Java 17 runtime"

ENTITIES = pa.schema([pa.field("part", pa.int32()), *span_files.ENTITIES])
FACTS = pa.schema([pa.field("part", pa.int32()), *span_files.FACTS])
GRADES = pa.schema(
    [
        ("uscc", pa.string()),
        ("as_of", pa.string()),
        ("grade", pa.string()),
        ("model_grade", pa.string()),
        ("score", pa.float64()),
        ("reasons_json", pa.string()),
        ("features_json", pa.string()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("rule_set_id", pa.string()),
    ]
)
#: ``GRADES`` as the DDL schema ``applyInPandas`` wants.
GRADES_DDL = ", ".join(f"{f.name} {'double' if f.type == pa.float64() else 'string'}" for f in GRADES)


def require() -> None:
    """Fail early, with what to install, when PySpark is not there."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(MISSING) from exc


def session(master: str) -> SparkSession:
    """A Spark session for the batch; in local mode its Python workers are this interpreter
    (PySpark takes the workers' interpreter from ``PYSPARK_PYTHON``, default ``python3``)."""
    require()
    from pyspark.sql import SparkSession

    if master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    builder = (
        SparkSession.builder.master(master)
        .appName("credit-engine grade")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )  # the CLI draws its own progress bar
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def export(history: History, part: int, folder: Path) -> int:
    """Write one span's history (entities, and fact versions of every kind in ``id`` order)."""
    entities = to_micros(history.entities, ("established_on",)).assign(part=part)
    facts = pd.concat([f for f in history.facts.values() if len(f)] or [history.kind("role")]).sort_values("id")
    facts = to_micros(facts, DATES).assign(
        part=part, extra=lambda f: as_text(f["extra"]), extra2=lambda f: as_text(f["extra2"])
    )
    for name, frame, schema in (("entities", entities, ENTITIES), ("facts", facts, FACTS)):
        (folder / name).mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
        pq.write_table(table, folder / name / f"part-{part:05d}.parquet")
    return len(entities)


def history_from(entities: pd.DataFrame, facts: pd.DataFrame, as_of: date) -> History:
    """The ``History`` of one span, rebuilt from its exchanged rows (Spark does not keep order)."""
    entities = from_micros(entities.drop(columns="part"), ("established_on",))
    facts = from_micros(facts.drop(columns="part"), DATES)
    return history_of(
        entities.sort_values("uscc").reset_index(drop=True),
        facts.sort_values("id").reset_index(drop=True),
        as_of,
        as_of,
    )


def grade_group(entities: pd.DataFrame, facts: pd.DataFrame, champion: registry.Champion, as_of: date) -> pd.DataFrame:
    """What each Spark task runs: one span's grade rows; text as Python objects, because PySpark
    cannot send a pandas column backed by a chunked Arrow array (a large span's JSON text)."""
    rows = batch.grade_partition(history_from(entities, facts, as_of), champion, as_of)[GRADES.names]
    return rows.astype({f.name: object for f in GRADES if f.type == pa.string()})


def grade_spans(
    engine: Engine,
    settings: Settings,
    champion: registry.Champion,
    as_of: date,
    spans: list[tuple[str, str | None]],
    total: int,
    seconds: dict[str, float],
    tell: batch.Progress,
    master: str | None,
    exchange: Path | None,
) -> Callable[[Connection], Iterator[pd.DataFrame]]:
    """Export the spans, grade them on Spark, and return the reader of the grade rows for
    ``batch.grade_all``'s write."""
    folder = Path(exchange) if exchange else Path(tempfile.mkdtemp(prefix="credit-engine-spark-"))
    for name in ("entities", "facts", "grades"):  # files of an earlier run would be graded again
        shutil.rmtree(folder / name, ignore_errors=True)
    started, done = time.perf_counter(), 0
    with engine.connect() as conn, settings.scratch("spans-") as scratch:
        histories = span_histories(conn, as_of, spans, Path(scratch), lambda rows: tell("read", rows, None))
        for part, history in enumerate(histories):
            done += export(history, part, folder)
            tell("export", done, total)
    seconds["export"] = time.perf_counter() - started

    started = time.perf_counter()
    spark = session(master or "local[2]")
    spark.conf.set("spark.sql.shuffle.partitions", str(max(1, len(spans))))  # one task per span
    shared = spark.sparkContext.broadcast(champion)
    grades = folder / "grades"
    if spans:
        entities = spark.read.parquet(str(folder / "entities"))
        facts = spark.read.parquet(str(folder / "facts"))
        rows = (
            entities.groupBy("part")
            .cogroup(facts.groupBy("part"))
            .applyInPandas(lambda e, f: grade_group(e, f, shared.value, as_of), schema=GRADES_DDL)
        )
        rows.write.mode("overwrite").parquet(str(grades))
    seconds["spark"] = time.perf_counter() - started

    def read_back(conn: Connection) -> Iterator[pd.DataFrame]:
        for path in sorted(grades.glob("*.parquet")):
            yield pq.read_table(path, schema=GRADES).to_pandas()
        if not exchange:
            shutil.rmtree(folder)

    return read_back
