"""Files that once lost everything to one bad record (issue 39 item 6): each record is refused
alone, with its reason, and the rest of the file lands."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from credit_engine.ingest import ingest_file, ingest_paths
from credit_engine.settings import Settings
from tests.helpers import make_uscc, write_csv

AB = ["统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期"]
CODES = [make_uscc(n) for n in range(1, 51)]


def rows() -> list[dict[str, str]]:
    return [
        {
            "统一社会信用代码": code,
            "企业名称": f"哈尔滨第{n}商贸有限公司",
            "列入经营异常名录原因": "通过登记的住所无法联系",
            "列入日期": "2022-07-01",
        }
        for n, code in enumerate(CODES, 1)
    ]


def quarantine(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query("SELECT row_number, reason_code, reason, raw_json FROM quarantine", conn)


def test_a_record_nested_2000_deep_is_refused_alone(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows()[:3]]
    lines.insert(1, '{"统一社会信用代码": ' + "[" * 2000 + "]" * 2000 + "}")
    path = tmp_path / "ab.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_paths([path], engine, settings)[0]
    assert (report.status, report.rows_read, report.rows_accepted, report.facts_new) == ("ingested", 4, 3, 3)
    q = quarantine(engine).iloc[0]
    assert (q["row_number"], q["reason_code"]) == (2, "malformed_row") and "nested too deep" in q["reason"]


def test_a_record_with_more_fields_than_any_kind_is_refused(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    wide = {**rows()[0], **{f"k{i}": "v" for i in range(20_000)}}
    lines = [json.dumps(wide, ensure_ascii=False)] + [json.dumps(r, ensure_ascii=False) for r in rows()[1:3]]
    path = tmp_path / "ab.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_paths([path], engine, settings)[0]
    assert (report.status, report.rows_accepted) == ("ingested", 2)
    q = quarantine(engine).iloc[0]
    assert q["row_number"] == 1 and "20,004 fields, more than any source kind has" in q["reason"]
    with engine.connect() as conn:
        header = json.loads(conn.exec_driver_sql("SELECT header_json FROM source_file").scalar_one())
    assert len(header) == 4  # the refused record's keys are no part of the file's header


def test_one_stray_byte_in_a_utf8_file_refuses_only_its_row(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ab.csv", AB, [list(r.values()) for r in rows()])
    data = path.read_bytes()
    at = data.index("第7商贸".encode()) + len("第7".encode())
    path.write_bytes(data[:at] + b"\xff" + data[at:])  # row 7: one byte that is no UTF-8
    report = ingest_paths([path], engine, settings)[0]
    assert (report.status, report.encoding, report.rows_read, report.rows_accepted) == ("ingested", "utf-8", 50, 49)
    q = quarantine(engine).iloc[0]
    assert q["row_number"] == 7 and f"byte {at} of the file is not UTF-8" in q["reason"]
    with engine.connect() as conn:
        names = {json.loads(d)["name"] for (d,) in conn.exec_driver_sql("SELECT detail_json FROM fact").all()}
    assert "哈尔滨第8商贸有限公司" in names and len(names) == 49  # the others read as written, not as GB18030


def test_one_stray_byte_in_a_utf8_jsonl_file_refuses_only_its_line(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "ab.jsonl"
    data = ("\n".join(json.dumps(r, ensure_ascii=False) for r in rows()) + "\n").encode()
    at = data.index("第3商贸".encode())
    path.write_bytes(data[:at] + b"\x80" + data[at:])
    report = ingest_paths([path], engine, settings)[0]
    assert (report.status, report.rows_accepted) == ("ingested", 49)
    assert quarantine(engine)["row_number"].tolist() == [3]


def test_a_second_ingest_of_the_same_file_at_the_same_time_reports_unchanged(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "ab.csv", AB, [list(r.values()) for r in rows()])
    reports, errors = [], []

    def run() -> None:
        try:
            reports.append(ingest_file(path, engine, settings))
        except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.status for r in reports) == ["ingested", "unchanged"]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM fact").scalar() == 50
