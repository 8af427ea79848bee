"""The Spark engine grades exactly as the pandas engine: same model version, same as-of date,
same rows (Spark in local mode, on the small province of ``test_scoring``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from credit_engine.features import features_as_of
from credit_engine.features.spans import span_histories, uscc_spans
from credit_engine.grading import batch, spark
from pipelines.cli import app
from tests.core.conftest import AS_OF, batch_rows

pytestmark = pytest.mark.xdist_group("spark")  # its own province and Spark JVM: beside the scoring tests


def test_a_span_history_round_trips_through_the_parquet_exchange(province, tmp_path: Path) -> None:
    engine, _ = province
    with engine.connect() as conn:
        spans, _ = uscc_spans(conn, 1000)
        original = list(span_histories(conn, AS_OF, spans, tmp_path / "spans"))[1]
    spark.export(original, 1, tmp_path)
    rebuilt = spark.history_from(
        pq.read_table(tmp_path / "entities").to_pandas(), pq.read_table(tmp_path / "facts").to_pandas(), AS_OF
    )
    pd.testing.assert_frame_equal(rebuilt.entities, original.entities, check_dtype=False)
    for kind, facts in original.facts.items():
        for column in ("id", "e", "event_date", "end_date", "recorded_at", "superseded_at"):
            assert rebuilt.kind(kind)[column].tolist() == facts[column].tolist(), (kind, column)
    pd.testing.assert_frame_equal(features_as_of(rebuilt, AS_OF), features_as_of(original, AS_OF))


def test_spark_local_mode_grades_exactly_as_the_pandas_engine(province, champion, tmp_path: Path) -> None:
    engine, settings = province
    by_pandas = batch.grade_all(engine, settings, AS_OF, champion, partition_size=700)
    by_spark = batch.grade_all(
        engine,
        settings,
        AS_OF,
        champion,
        compute="spark",
        partition_size=700,
        spark_master="local[2]",
        exchange=tmp_path / "exchange",
    )
    expected, got = batch_rows(engine, by_pandas.batch_id), batch_rows(engine, by_spark.batch_id)
    assert len(got) == sum(by_pandas.counts.values()) and set(got["model_version"]) == {champion.version}
    pd.testing.assert_frame_equal(got, expected)  # uscc, grade, model_grade, score, reasons, features
    assert by_spark.counts == by_pandas.counts and {"export", "spark", "write"} <= set(by_spark.seconds)
    assert len(list((tmp_path / "exchange" / "entities").glob("*.parquet"))) == 4  # 2500 entities / 700


def test_without_pyspark_the_spark_engine_says_what_to_install(
    province, champion, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # makes `import pyspark` raise ImportError
    engine, settings = province
    with pytest.raises(RuntimeError, match=r"needs the `spark` extra: pip install 'credit-engine\[spark\]'"):
        batch.grade_all(engine, settings, AS_OF, champion, compute="spark")
    assert CliRunner().invoke(app, ["init"]).exit_code == 0  # the CLI's own store, so the refusal is Spark's
    result = CliRunner().invoke(app, ["grade", "--engine", "spark", "--as-of", "2026-06-30"])
    assert result.exit_code == 1 and "the Spark engine needs the `spark` extra" in " ".join(result.output.split())
