"""A batch reads the store once and hands out each USCC span's history: each must hold what the
single-entity path (``load_history``) reads for the span's entities, neighbourhood included."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from credit_engine.features import features_as_of, load_history
from credit_engine.features.spans import as_text, span_histories, uscc_spans
from credit_engine.ingest import ingest_paths
from credit_engine.settings import Settings
from credit_engine.synth import synthesise
from tests.core.test_linking import STAFF
from tests.helpers import REG_HEADER, REP_A, A, B, make_id, record_at, reg_rows, write_csv

AS_OF = date(2026, 6, 30)
RELATED = [
    "related_dishonest_enterprises",
    "legal_rep_other_enterprises",
    "key_persons_court_listed",
    "legal_rep_court_listed",
]


def comparable(facts: pd.DataFrame) -> pd.DataFrame:
    """Values as Python objects, nulls as None, detail fields as text (SQLite returns numbers)."""
    facts = facts.assign(extra=as_text(facts["extra"]), extra2=as_text(facts["extra2"])).astype(object)
    return facts.where(facts.notna(), None).reset_index(drop=True)


def test_span_histories_hold_what_load_history_reads_for_their_entities(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    synthesise(tmp_path / "prov", 600, seed=5, as_of=AS_OF)
    ingest_paths([tmp_path / "prov" / "sources"], engine, settings, backfill=True)
    told: list[int] = []
    with engine.connect() as conn:
        spans, total = uscc_spans(conn, 97)
        histories = list(span_histories(conn, AS_OF, spans, tmp_path / "spans", told.append))
        assert len(histories) == len(spans) == -(-total // 97)
        assert [u for h in histories for u in h.entities["uscc"]] == sorted(
            conn.exec_driver_sql("SELECT uscc FROM entity").scalars()
        )  # every entity once, spans in order
        related = []
        for history in histories:
            reference = load_history(conn, AS_OF, AS_OF, usccs=history.entities["uscc"].tolist())
            features = features_as_of(history, AS_OF)
            pd.testing.assert_frame_equal(features, features_as_of(reference, AS_OF))
            for kind, facts in reference.facts.items():  # the span's own facts, exactly
                own = facts[facts["e"] >= 0]
                mine = history.kind(kind)[history.kind(kind)["e"] >= 0]
                assert mine["id"].tolist() == own["id"].tolist(), kind
                pd.testing.assert_frame_equal(comparable(mine), comparable(own), obj=kind)
            related.append(features[RELATED].sum())
    assert (sum(related) > 0).all()  # the indicators that read other spans' facts were exercised
    assert told and told == sorted(told)  # rows read, as the stream went


def test_a_neighbour_enterprise_s_newer_legal_representative_reaches_the_span(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """张三 leads A, and led B until 赵 was appointed there: A's legal representative then holds no
    role elsewhere. A's span must see B's newer appointment, though 赵 has nothing to do with A."""
    record_at(monkeypatch, "2018-06-01")
    registration = reg_rows()
    registration[1][3:5] = ["张三", REP_A]
    ingest_paths(
        [
            write_csv(tmp_path / "reg.csv", REG_HEADER, registration),
            write_csv(tmp_path / "staff.csv", STAFF, [[B, "赵", make_id(72), "法定代表人", "2021-01-01", ""]]),
        ],
        engine,
        settings,
    )
    with engine.connect() as conn:
        spans, _ = uscc_spans(conn, 1)
        histories = {h.entities["uscc"].iloc[0]: h for h in span_histories(conn, AS_OF, spans, tmp_path / "spans")}
        single = load_history(conn, AS_OF, AS_OF, usccs=[A])
    assert len(histories) == 3
    held = features_as_of(histories[A], AS_OF).loc[A, "legal_rep_other_enterprises"]
    assert held == features_as_of(single, AS_OF).loc[A, "legal_rep_other_enterprises"] == 0


@pytest.mark.parametrize("value", ['文书,第"1"号\n附件', "", "NA", "NULL", "\\N", None])
def test_text_fields_come_back_as_stored(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    """Rows leave the store by a bulk path of their own on each backend (ADBC's binary copy on
    PostgreSQL): separators, quotes, line breaks, an empty string and words that readers take for
    null must come back as they are stored, and null as null."""
    record_at(monkeypatch, "2018-06-01")
    ingest_paths([write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())], engine, settings)
    with engine.begin() as conn:
        assert conn.execute(text("UPDATE fact SET document_no = :v"), {"v": value}).rowcount > 0
    with engine.connect() as conn:
        spans, _ = uscc_spans(conn, 2)
        histories = list(span_histories(conn, AS_OF, spans, tmp_path / "spans"))
    stored = [v for h in histories for facts in h.facts.values() for v in facts["document_no"]]
    assert stored and all(v == value if value is not None else pd.isna(v) for v in stored)
