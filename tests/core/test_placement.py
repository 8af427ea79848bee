"""Placing a USCC that fails the check digit (RULES.md §6, issue 39): never a phantom entity."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from credit_engine.identifiers import CHECK_CHAR, OTHER_CHAR, TRANSPOSED, USCC_ALPHABET, classify_code, one_off_codes
from credit_engine.ingest import ingest_paths, requeue
from credit_engine.settings import Settings
from tests.helpers import REG_HEADER, A, B, C, make_uscc, reg_rows, write_csv

PEN = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_CFJG"]
NAME_A, NAME_B = "哈尔滨甲商贸有限公司", "哈尔滨乙食品有限公司"
PILOT = "91350211M0000XUF46"


def wrong_check(code: str) -> str:
    """``code`` with another check character."""
    return code[:17] + next(c for c in "0123456789ABCDEFGH" if c != code[17])


def other_char(code: str, position: int) -> str:
    """``code`` with the character at ``position`` (0-based, not 2-7, not 17) replaced."""
    return code[:position] + next(c for c in USCC_ALPHABET if c != code[position]) + code[position + 1 :]


def swapped(code: str, position: int) -> str:
    return code[:position] + code[position + 1] + code[position] + code[position + 2 :]


def pen(name: str, code: str, doc: str) -> list[str]:
    return [name, code, doc, "罚款", "0.1", "2024-03-01", "局"]


def reg(code: str, name: str) -> list[str]:
    return [code, name, "", "", "", "", "2016-01-01", "", "", "", "存续", "", "", ""]


def ingest(engine: Engine, settings: Settings, *paths: Path):
    return ingest_paths(list(paths), engine, settings)


def stored(engine: Engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(sql, conn)


def test_one_off_codes_are_every_single_typo_and_transposition() -> None:
    variants = one_off_codes(A)
    assert variants[wrong_check(A)] == CHECK_CHAR
    assert variants[other_char(A, 10)] == OTHER_CHAR
    position = next(i for i in range(8, 16) if A[i] != A[i + 1])
    assert variants[swapped(A, position)] == TRANSPOSED
    assert A not in variants and all(len(v) == 18 for v in variants)
    assert all(v[2:8].isdigit() for v in variants)  # the region code stays digits
    # a typo in the body always breaks the check digit: the weights are distinct and non-zero mod 31
    assert classify_code(other_char(A, 12)).kind == "uscc_check_failed"
    assert classify_code(swapped(A, position)).kind == "uscc_check_failed"


def test_a_check_failed_code_is_placed_on_the_registered_entity_or_waits(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    d_code = make_uscc(4)
    pilot_typo = other_char(A, 11)  # later registered under that very code (a pilot code)
    position = next(i for i in range(9, 16) if B[i] != B[i + 1])
    rows = [
        pen("甲", wrong_check(A), "P-1"),  # only the check character wrong: the one candidate, no name needed
        pen(" 哈尔滨甲商贸有限公司 ".replace("哈尔滨", "哈 尔 滨"), other_char(A, 14), "P-2"),  # name with spaces
        pen("哈尔滨乙食品有限公司".replace("有限", "有限"), swapped(B, position), "P-3"),  # transposition + name
        pen("哈尔滨丙科技", other_char(C, 10), "P-4"),  # another character, a name that is not C's: waits
        pen("丁", wrong_check(d_code), "P-5"),  # fits D, which is not registered yet: waits
        pen("甲", pilot_typo, "P-6"),  # no registered entity near enough with this name: waits
    ]
    ingest(engine, settings, write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows()))
    report = ingest(engine, settings, write_csv(tmp_path / "pen.csv", PEN, rows))[0]
    assert (report.rows_accepted, report.rows_corrected, report.rows_waiting) == (3, 3, 3)
    assert report.quarantined == {"uscc_check_failed_unplaced": 3}
    facts = stored(
        engine, "SELECT document_no, subject_uscc, flags, detail_json FROM fact WHERE kind = 'penalty'"
    ).set_index("document_no")
    assert facts.loc[["P-1", "P-2", "P-3"], "subject_uscc"].tolist() == [A, A, B]
    assert set(facts["flags"]) == {"uscc_corrected"}
    written = {doc: json.loads(d)["uscc_as_written"] for doc, d in facts["detail_json"].items()}
    assert written == {"P-1": wrong_check(A), "P-2": other_char(A, 14), "P-3": swapped(B, position)}
    entities = stored(engine, "SELECT uscc FROM entity")["uscc"]
    assert sorted(entities) == sorted([A, B, C])  # never a new entity from a check-failed code
    q = stored(engine, "SELECT row_number, reason_code, reason FROM quarantine").set_index("row_number")
    assert "fails the national check" in q.loc[4, "reason"] and other_char(C, 10) in q.loc[4, "reason"]

    # registration data arrives: D under its own code, and the typo of A as a registered (pilot) code
    ingest(
        engine,
        settings,
        write_csv(tmp_path / "reg2.csv", REG_HEADER, [reg(d_code, "丁公司"), reg(pilot_typo, "试点公司")]),
    )
    (again,) = requeue(engine, settings)
    assert (again.rows_read, again.rows_accepted) == (3, 2)
    facts = stored(engine, "SELECT document_no, subject_uscc, flags FROM fact WHERE kind = 'penalty'").set_index(
        "document_no"
    )
    assert (
        facts.loc["P-5", "subject_uscc"] == d_code and facts.loc["P-5", "flags"] == "uscc_corrected,known_time_derived"
    )
    assert facts.loc["P-6", "subject_uscc"] == pilot_typo
    assert facts.loc["P-6", "flags"] == "uscc_check_failed,known_time_derived"
    assert "P-4" not in facts.index
    open_rows = stored(engine, "SELECT row_number FROM quarantine WHERE resolved_at IS NULL")["row_number"].tolist()
    assert open_rows == [4]


def test_a_typo_fitting_two_registered_entities_is_never_guessed(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    typo = wrong_check(A)
    twin = other_char(typo, 12)  # registered under a check-failed code, one character from the typo
    ingest(engine, settings, write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows() + [reg(twin, "孪生公司")]))
    report = ingest(
        engine,
        settings,
        write_csv(
            tmp_path / "pen.csv",
            PEN,
            [
                pen("孪生公司", typo, "T-1"),  # A by its check character, the twin by one character and its name
                pen("甲", typo, "T-2"),  # A only: the twin's name is not the row's
            ],
        ),
    )[0]
    assert report.quarantined == {"uscc_check_failed_ambiguous": 1}
    q = stored(engine, "SELECT reason FROM quarantine")["reason"].iloc[0]
    assert A in q and twin in q and "never guessed" in q
    facts = stored(engine, "SELECT document_no, subject_uscc FROM fact WHERE kind = 'penalty'")
    assert facts.values.tolist() == [["T-2", A]]


def test_a_registered_pilot_code_places_rows_as_written(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    ingest(engine, settings, write_csv(tmp_path / "reg.csv", REG_HEADER, [reg(PILOT, "厦门试点公司")]))
    report = ingest(
        engine, settings, write_csv(tmp_path / "pen.csv", PEN, [pen("厦门试点公司", PILOT.lower(), "X-1")])
    )[0]
    assert (report.rows_accepted, report.rows_corrected) == (1, 0)
    fact = stored(engine, "SELECT subject_uscc, flags FROM fact WHERE kind = 'penalty'").iloc[0]
    assert (fact["subject_uscc"], fact["flags"]) == (PILOT, "uscc_check_failed")


def test_without_registration_data_a_check_failed_code_only_waits(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The old behaviour made a phantom entity of it (graded, flagged, in the public search)."""
    report = ingest(
        engine, settings, write_csv(tmp_path / "pen.csv", PEN, [pen("甲", wrong_check(A), "W-1"), pen("甲", A, "W-2")])
    )[0]
    assert report.quarantined == {"uscc_check_failed_unplaced": 1}
    assert stored(engine, "SELECT uscc FROM entity")["uscc"].tolist() == [A]


def test_a_legal_representative_with_an_invalid_or_missing_id_keeps_the_role_unverified(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    from tests.helpers import REP_A

    bad = REP_A[:-1] + ("0" if REP_A[-1] != "0" else "1")  # wrong check digit
    rows = [
        [A, "甲", "", "张三", bad, "", "2016-01-01", "", "", "", "存续", "", "", ""],
        [B, "乙", "", "李四", "", "", "2016-01-01", "", "", "", "存续", "", "", ""],
        [C, "丙", "", "", "", "", "2016-01-01", "", "", "", "存续", "", "", ""],
    ]  # no one named: no role
    report = ingest(engine, settings, write_csv(tmp_path / "reg.csv", REG_HEADER, rows))[0]
    assert (report.rows_accepted, report.persons_unverified) == (3, 2)
    roles = stored(
        engine,
        "SELECT subject_uscc, person_key, person_name, person_masked_id, flags, raw_json "
        "FROM fact WHERE kind = 'role' ORDER BY subject_uscc",
    ).set_index("subject_uscc")
    assert roles["person_key"].isna().all() and set(roles["flags"]) == {"person_unverified"}
    assert roles.loc[A, "person_masked_id"] == bad[:10] + "****" + bad[14:] and bad not in roles.loc[A, "raw_json"]
    assert pd.isna(roles.loc[B, "person_masked_id"]) and roles.loc[B, "person_name"] == "李四"
    assert stored(engine, "SELECT COUNT(*) AS n FROM person")["n"].iloc[0] == 0  # never a pseudonym of a bad number
