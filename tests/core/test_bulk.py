"""A first load defers the fact table's secondary indexes and puts them back, whatever happens."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from credit_engine.ingest import FileReport, ingest_file, ingest_paths
from credit_engine.settings import Settings
from credit_engine.store.bulk import DEFERRED_INDEXES, first_load
from credit_engine.store.db import upgrade
from tests.helpers import REG_HEADER, A, reg_rows, write_csv

PEN = [
    "CF_XDR_MC",
    "CF_XDR_SHXYM",
    "CF_XDR_GSZC",
    "CF_XDR_ZZJG",
    "CF_WSH",
    "CF_CFLB",
    "CF_NR",
    "CF_NR_FK",
    "CF_JDRQ",
    "CF_YXQ",
    "CF_CFJG",
]


def penalty(path: Path, document_no: str) -> Path:
    return write_csv(path, PEN, [["甲", A, "", "", document_no, "罚款", "", "0.5", "2024-05-01", "", "道里分局"]])


def deferred_in_place(engine: Engine) -> dict[str, bool]:
    found = inspect(engine)
    names = {i["name"] for i in found.get_indexes("fact")}
    state = {name: name in names for name in DEFERRED_INDEXES}
    if engine.dialect.name == "postgresql":
        state["source_file_fk"] = any(fk["referred_table"] == "source_file" for fk in found.get_foreign_keys("fact"))
    return state


def files(folder: Path) -> list[Path]:
    return [write_csv(folder / "reg.csv", REG_HEADER, reg_rows()), penalty(folder / "pen.csv", "LIVE-1")]


def test_first_load_defers_the_indexes_and_builds_them_at_its_end(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    seen: list[dict[str, bool]] = []
    reports = ingest_paths(files(tmp_path), engine, settings, on_file=lambda _: seen.append(deferred_in_place(engine)))
    assert [r.status for r in reports] == ["ingested", "ingested"]
    assert all(not any(state.values()) for state in seen)  # during the load: all deferred
    assert all(deferred_in_place(engine).values())
    with engine.connect() as conn:
        kinds = conn.execute(text("SELECT DISTINCT kind FROM fact WHERE subject_uscc = :u"), {"u": A}).scalars()
        assert "penalty" in set(kinds)
        if engine.dialect.name == "postgresql":  # the planner's statistics were gathered at the end
            analysed = conn.execute(text("SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"))
            assert {"fact", "entity", "person"} <= set(analysed.scalars())

    seen.clear()
    ingest_paths(
        [penalty(tmp_path / "pen2.csv", "LIVE-2")],
        engine,
        settings,
        on_file=lambda _: seen.append(deferred_in_place(engine)),
    )
    assert seen and all(all(state.values()) for state in seen)  # a live store keeps its indexes


def test_a_failed_load_puts_the_indexes_back(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    def crash(report: FileReport) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_paths(files(tmp_path), engine, settings, on_file=crash)
    assert all(deferred_in_place(engine).values())


def test_a_killed_load_is_repaired_by_the_next_ingest(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    reg, pen = files(tmp_path)
    load = first_load(engine)  # a first load that commits one file and is killed before its end
    load.__enter__()
    assert ingest_file(reg, engine, settings).status == "ingested"
    assert not any(deferred_in_place(engine).values())

    seen: list[dict[str, bool]] = []
    ingest_paths([pen], engine, settings, on_file=lambda _: seen.append(deferred_in_place(engine)))
    assert seen and all(all(state.values()) for state in seen)


def test_init_puts_back_what_a_killed_load_left_out(engine: Engine) -> None:
    load = first_load(engine)  # killed before its end
    assert load.__enter__() is True
    assert not any(deferred_in_place(engine).values())
    upgrade(engine)  # credit-engine init
    assert all(deferred_in_place(engine).values())


def test_the_restored_foreign_key_is_enforced(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    ingest_paths(files(tmp_path), engine, settings)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO fact (fact_key, version, kind, status, content_hash, recorded_at, source_file_id) "
            "VALUES ('orphan', 1, 'penalty', 'active', 'x', '2026-01-01', 999999)"
        )
