"""The name search's indexes on every backend: the pieces follow the names through registration
updates and the migration; prefix, part and typo searches answer through them, also when a piece
is held by too many names to be read."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from alembic import command
from sqlalchemy import Connection, Engine

from credit_engine import search
from credit_engine.store.db import alembic_config, upgrade
from credit_engine.store.repository import Store
from tests.conftest import BACKENDS, scratch_store

MOMENT = datetime(2026, 12, 1, tzinfo=UTC)
NAMES = {
    "91230103MA1B000001": "哈尔滨市鑫盛科技有限公司",
    "91230103MA1B000002": "哈尔滨市鑫盛商贸有限公司",
    "91230103MA1B000003": "大庆市恒源科技有限公司",
    "91230103MA1B000004": "哈尔滨市道里区瑞祥食品店",
}


def _entities(names: dict[str, str], approved_on: date = date(2026, 1, 1)) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "uscc": list(names),
            "code_status": "valid",
            "entity_type": "enterprise",
            "region_code": "230103",
            "registered": True,
            "name": list(names.values()),
            "approved_on": approved_on,
        }
    )


def _write(engine: Engine, names: dict[str, str], full: bool = True, approved_on: date = date(2026, 1, 1)) -> None:
    with engine.begin() as conn:
        Store(conn).upsert_entities(_entities(names, approved_on), MOMENT, full=full)


def _index(conn: Connection) -> set[tuple[str, str]]:
    return set(conn.exec_driver_sql("SELECT gram, uscc FROM name_gram").all())


def _expected(conn: Connection) -> set[tuple[str, str]]:
    names = conn.exec_driver_sql("SELECT uscc, name FROM entity").all()
    return {(piece, uscc) for uscc, name in names for piece in search.name_grams(name)}


def _found(engine: Engine, query: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(hit.uscc, hit.match) for hit in search.by_name(conn, query)]


def test_the_pieces_follow_the_names_a_registration_sets(engine: Engine) -> None:
    _write(engine, NAMES)
    first = "91230103MA1B000001"
    with engine.connect() as conn:
        assert _index(conn) == _expected(conn) and ("鑫盛", first) in _index(conn)
        assert ("公司", first) not in _index(conn)  # legal-form pieces are not indexed
    _write(engine, {first: "哈尔滨市宏福建材有限公司"}, approved_on=date(2026, 6, 1))  # renamed
    _write(engine, {first: "旧名称有限公司"}, approved_on=date(2025, 1, 1))  # an older export: no change
    _write(engine, {first: "罚单上的名称", "91230103MA1B000009": "新出现的名称"}, full=False)  # other kinds add only
    with engine.connect() as conn:
        index = _index(conn)
        assert index == _expected(conn)
        assert {g for g, u in index if u == first} == search.name_grams("哈尔滨市宏福建材有限公司")
        assert ("出现", "91230103MA1B000009") in index
    assert _found(engine, "宏福建材") == [(first, "contains")]
    assert first not in {uscc for uscc, _ in _found(engine, "鑫盛科技")}


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])  # SQLite has one writer
def test_two_ingests_naming_one_entity_at_once_leave_its_pieces_whole(backend: str, tmp_path) -> None:
    """The second waits for the first: it used to read the names before the first committed, then
    fail on pieces both added, or leave the first name's pieces behind."""
    uscc, failures, done = "91230103MA1B000001", [], threading.Event()
    with scratch_store(backend, tmp_path) as engine:
        with engine.connect() as first, first.begin():
            Store(first).upsert_entities(_entities({uscc: "哈尔滨市鑫盛科技有限公司"}), MOMENT, full=True)

            def second() -> None:
                try:
                    _write(engine, {uscc: "哈尔滨市宏福建材有限公司"}, approved_on=date(2026, 6, 1))
                except Exception as error:  # reported below
                    failures.append(error)
                done.set()

            thread = threading.Thread(target=second)
            thread.start()
            time.sleep(0.5)
            assert not done.is_set()
        thread.join(30)
        assert not failures
        with engine.connect() as conn:
            assert _index(conn) == _expected(conn)
            assert {g for g, _ in _index(conn)} == search.name_grams("哈尔滨市宏福建材有限公司")


def test_the_migration_indexes_the_names_already_stored(engine: Engine) -> None:
    command.downgrade(alembic_config(engine), "0008")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO entity (uscc, code_status, entity_type, region_code, name, registered, "
            "updated_at) VALUES ('91230103MA1B000001', 'valid', 'enterprise', '230103', "
            "'哈尔滨市鑫盛科技有限公司', TRUE, '2026-12-01 00:00:00')"
        )
    upgrade(engine)
    with engine.connect() as conn:
        assert _index(conn) == _expected(conn) != set()


def test_prefix_part_and_typo_through_the_indexes(engine: Engine) -> None:
    _write(engine, NAMES)
    # in code-point order of the names: 商 (U+5546) before 科 (U+79D1)
    assert _found(engine, "哈尔滨市鑫盛") == [("91230103MA1B000002", "prefix"), ("91230103MA1B000001", "prefix")]
    assert _found(engine, "哈尔滨市鑫盛科") == [("91230103MA1B000001", "prefix")]
    assert _found(engine, "恒源科技") == [("91230103MA1B000003", "contains")]
    with engine.connect() as conn:
        sizes = search._piece_sizes(conn, "恒源科技集团")
        assert sizes["技集"] == 0 and search._containing(conn, "恒源科技集团", 20, sizes) == []
    assert _found(engine, "某某") == []  # no piece held: not even a fuzzy candidate
    assert _found(engine, "大庆市恒原科技")[0] == ("91230103MA1B000003", "fuzzy")
    assert _found(engine, "瑞祥食品店铺")[0] == ("91230103MA1B000004", "fuzzy")


@pytest.mark.parametrize(("common", "budget"), [(0, 5_000), (1, 5_000), (1, 1)])
def test_pieces_held_by_too_many_names_are_left_out_yet_the_answers_stay(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, common: int, budget: int
) -> None:
    """With every piece common (0) a part is found by reading names in order and a typo among a
    sample of the names; with the pieces two names share common (1) the rarer ones select, also
    when the typo's candidates come from the rarest piece alone (budget 1)."""
    _write(engine, NAMES)
    monkeypatch.setattr(search, "COMMON_PIECE", common)
    monkeypatch.setattr(search, "FUZZY_BUDGET", budget)
    assert _found(engine, "鑫盛") == [("91230103MA1B000002", "contains"), ("91230103MA1B000001", "contains")]
    assert _found(engine, "鑫盛商贸") == [("91230103MA1B000002", "contains")]
    assert _found(engine, "市鑫盛商茂")[0] == ("91230103MA1B000002", "fuzzy")


def test_a_part_without_rare_pieces_reads_a_bounded_number_of_names(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(engine, NAMES)
    monkeypatch.setattr(search, "COMMON_PIECE", 0)
    assert _found(engine, "恒源科技") == [("91230103MA1B000003", "contains")]
    monkeypatch.setattr(search, "SCAN_NAMES", 2)  # the first two names stored: neither holds 恒源
    with engine.connect() as conn:
        assert search._containing(conn, "恒源科技", 20, search._piece_sizes(conn, "恒源科技")) == []
        assert search._containing(conn, "有限公司", 20, {}) != []  # no indexed piece at all


def test_a_prefix_range_ends_just_after_the_prefix() -> None:
    assert search._after_prefix("哈尔滨") == "哈尔滩"
    assert search._after_prefix("a\ud7ff") == "a\ue000"
    assert search._after_prefix("a\U0010ffff") == "b"


@pytest.mark.parametrize("common", [10_000, 0])
def test_a_search_counts_every_match_and_pages_prefixes_first(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, common: int
) -> None:
    """Through the rare pieces (10 000) and, with every piece common (0), through the name index's
    prefix range and a sample: the same count and the same pages."""
    names = {
        f"91230103MA1B{i:06d}": f"{'哈尔滨市' if i % 3 else '黑龙江哈尔滨市'}鑫盛{i:03d}号有限公司" for i in range(25)
    }
    _write(engine, names)
    monkeypatch.setattr(search, "COMMON_PIECE", common)
    with engine.connect() as conn:
        pages = [search.find_by_name(conn, "哈尔滨市", 10, offset) for offset in (0, 10, 20)]
        fuzzy = search.find_by_name(conn, "哈尔滨市鑫盛O12号", 2)
    assert [p.total for p in pages] == [25, 25, 25] and not any(p.more for p in pages)
    hits = [h for p in pages for h in p.hits]
    assert sorted(h.uscc for h in hits) == sorted(names)
    starting = sorted(u for u, n in names.items() if n.startswith("哈尔滨市"))
    assert [h.uscc for h in hits[: len(starting)]] == sorted(starting, key=lambda u: (names[u], u))
    assert {h.match for h in hits[: len(starting)]} == {"prefix"} and {h.match for h in hits[len(starting) :]} == {
        "contains"
    }
    assert fuzzy.total >= len(fuzzy.hits) == 2 and {h.match for h in fuzzy.hits} == {"fuzzy"}
