"""Issue 34, privacy: a small province whose source files carry identity numbers in every
free-text column of every source kind, spelled every way people write them (full-width, ×,
any space, dots, slashes, groups 6-4-4-4, a digit glued in front, the check digit left out).
No full number may be stored in free text or keys, the archived originals are encrypted, and
no public route or page shows one; public filings name only a published record."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from stdnum.cn import ric

from api import create_app
from credit_engine import archive
from credit_engine.ingest import ingest_paths
from credit_engine.keys import Role, create_key
from credit_engine.records import INTERNAL_KINDS, Publicity, current_record
from credit_engine.settings import Settings, get_settings
from credit_engine.sources.headers import recognise
from credit_engine.sources.reader import read_table
from credit_engine.synth import synthesise
from tests.conftest import BACKENDS, scratch_store

pytestmark = pytest.mark.xdist_group("privacy")
AS_OF = date(2026, 6, 30)

#: Canonical columns of free text, over every source kind (codes, dates, amounts, parsed
#: categories and results are not free text).
FREE_TEXT = {
    "name",
    "party_name",
    "penalty_name",
    "legal_rep_name",
    "address",
    "scope",
    "market_type",
    "authority",
    "listed_by",
    "reason",
    "facts_text",
    "basis",
    "content",
    "remark",
    "violation_type",
    "document_no",
    "document_name",
    "certificate",
    "project_name",
    "court",
    "case_no",
    "basis_doc",
    "conduct",
    "performance",
    "inspection_type",
    "licence_no",
    "data_source",
    "position",
    "task_no",
    "category_text",
}


def _id(region: str, born: str, seq: str) -> str:
    return region + born + seq + ric.calc_check_digit(region + born + seq + "0")


#: Valid IDs (one with the check character X, for × and Ｘ).
IDS = [
    _id("230102", "19850715", "432"),
    _id("110105", "19490101", "002"),
    _id("342301", "19640516", "322"),
    _id("440305", "20011231", "117"),
    _id("650102", "19770228", "981"),
    _id("230103", "19900101", "100"),
]
assert any(i.endswith("X") for i in IDS)


def _fullwidth(value: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in value)


SPELLINGS = [
    lambda i: i,
    _fullwidth,
    lambda i: i[:17] + ("×" if i[17] == "X" else i[17]),
    lambda i: i[:17] + ("Ｘ" if i[17] == "X" else i[17]),
    lambda i: f"{i[:6]}\u00a0{i[6:14]}\u00a0{i[14:]}",
    lambda i: f"{i[:6]}\u3000{i[6:14]}\u3000{i[14:]}",
    lambda i: "\u200b".join(i),
    lambda i: f"{i[:6]}.{i[6:14]}.{i[14:]}",
    lambda i: f"{i[:6]}/{i[6:10]}/{i[10:14]}/{i[14:]}",
    lambda i: f"{i[:6]} {i[6:10]} {i[10:14]} {i[14:]}",
    lambda i: "7" + i,
    lambda i: i[:17],
]


@dataclass
class Planted:
    engine: Engine
    settings: Settings
    client: TestClient
    keys: dict[str, str]
    sources: Path
    planted_columns: dict[str, set[str]]  # kind -> free-text columns planted


def leaks(body: str | bytes) -> list[str]:
    """The planted IDs whose 17 digits can be read in ``body``, whatever separators or widths."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="ignore")
    folded = body.translate({cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)})
    digits = "".join(c for c in folded if c.isdigit() or c == "*")
    return [i for i in IDS if i[:17] in digits]


def _plant(sources: Path) -> dict[str, set[str]]:
    """Rewrite every source file as UTF-8 CSV with an ID appended to each free-text cell."""
    planted: dict[str, set[str]] = {}
    for path in sorted(sources.iterdir()):
        table = read_table(path)
        match = recognise(table.header)
        frame = pd.concat([c.frame for c in table.chunks(1_000_000)])
        columns = planted.setdefault(match.kind.label, set())
        for j, (cell, column) in enumerate(match.columns.items()):
            if column not in FREE_TEXT:
                continue
            values = frame[cell].astype("object")
            full = values.notna() & (values.astype(str).str.strip() != "")
            if column == "remark":
                full[:] = True
            rows = [k for k, ok in enumerate(full.tolist()) if ok]
            for k in rows:
                spelled = SPELLINGS[(k + j) % len(SPELLINGS)](IDS[(k * 7 + j) % len(IDS)])
                values.iloc[k] = f"{'' if pd.isna(values.iloc[k]) else values.iloc[k]}（身份证{spelled}）"
            frame[cell] = values
            columns.add(column) if rows else None
        path.unlink()
        frame.to_csv(path.with_suffix(".csv"), index=False, encoding="utf-8")
    return planted


@pytest.fixture(scope="module", params=BACKENDS)
def planted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planted]:
    folder = tmp_path_factory.mktemp(f"privacy-{request.param}")
    patch = pytest.MonkeyPatch()
    patch.setenv("CREDIT_ENGINE_VAR_DIR", str(folder / "var"))
    patch.setenv("CREDIT_ENGINE_MODEL_DIR", str(folder / "models"))
    patch.setenv("CREDIT_ENGINE_PSEUDONYM_SECRET", "privacy-test-secret")
    patch.setenv("CREDIT_ENGINE_PUBLIC_RATE_LIMIT", "100000/minute")
    patch.setenv("CREDIT_ENGINE_CHAMPION_FOLLOW_SECONDS", "0")
    patch.delenv("CREDIT_ENGINE_MLFLOW_TRACKING_URI", raising=False)
    synthesise(folder / "prov", 120, seed=11, as_of=AS_OF)
    columns = _plant(folder / "prov" / "sources")
    with scratch_store(request.param, folder) as engine:
        patch.setenv("CREDIT_ENGINE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
        get_settings.cache_clear()
        settings = get_settings()
        reports = ingest_paths([folder / "prov" / "sources"], engine, settings)
        assert {r.status for r in reports} == {"ingested"}, [(r.path.name, r.error) for r in reports]
        with engine.begin() as conn:
            keys = {role: create_key(conn, Role(role), f"privacy-{role}")[1] for role in ("regulator", "inspection")}
        with TestClient(create_app(settings)) as client:
            yield Planted(engine, settings, client, keys, folder / "prov" / "sources", columns)
    patch.undo()
    get_settings.cache_clear()


def test_every_source_kind_has_planted_free_text(planted: Planted) -> None:
    """The fixture really plants: every kind but those without free text, many columns each."""
    assert {k for k, cols in planted.planted_columns.items() if cols} >= {
        "abnormal",
        "court",
        "inspection",
        "license v1",
        "license v2",
        "penalty v1",
        "penalty v2",
        "role",
        "registration",
        "serious",
        "tax",
    }
    assert len(set().union(*planted.planted_columns.values())) >= 20
    assert all(
        leaks(p.read_bytes())
        for p in planted.sources.iterdir()
        if "commitment" not in p.name and "complaint" not in p.name
    )


def _all_text(engine: Engine, table: str) -> str:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table}")).all()
    return json.dumps([[str(v) for v in row] for row in rows], ensure_ascii=False)


@pytest.mark.parametrize(
    "table", ["fact", "entity", "person", "entity_alias", "quarantine", "source_file", "audit_log", "name_gram"]
)
def test_no_full_identity_number_is_stored_in_free_text_or_keys(planted: Planted, table: str) -> None:
    """Item 6: fact keys built from a 文号 holding an ID, detail and raw JSON, names, addresses."""
    stored = _all_text(planted.engine, table)
    assert not leaks(stored), table
    if table in ("fact", "entity"):
        assert "****" in stored  # the planted numbers are there, masked


def test_the_archived_originals_are_encrypted_and_their_reads_audited(planted: Planted) -> None:
    with planted.engine.connect() as conn:
        files = conn.execute(text("SELECT sha256, archive_path FROM source_file")).all()
    assert files
    for sha, path in files:
        data = Path(path).read_bytes()
        assert data.startswith(archive.MAGIC) and not leaks(data) and "身份证".encode() not in data
    sha, path = files[0]
    with planted.engine.begin() as conn:
        with archive.read(conn, planted.settings, path, "tester", "evidence for a court") as original:
            assert hashlib.sha256(original.read_bytes()).hexdigest() == sha and leaks(original.read_bytes())
    with planted.engine.connect() as conn:
        audited = conn.execute(text("SELECT actor, detail_json FROM audit_log WHERE action = 'archive_read'")).all()
    assert [(a, json.loads(d)["why"]) for a, d in audited][-1] == ("tester", "evidence for a court")
    altered = bytearray(Path(path).read_bytes())
    altered[len(archive.MAGIC) + 40] ^= 1
    broken = Path(path).with_name("altered" + Path(path).name)
    broken.write_bytes(bytes(altered))
    other = planted.settings.model_copy(update={"archive_key": "A" * 43 + "="})
    for settings, target in ((planted.settings, broken), (other, Path(path))):
        with planted.engine.begin() as conn, pytest.raises(archive.ArchiveError):
            with archive.read(conn, settings, target, "tester", "check"):
                pass


def _entities(planted: Planted) -> list[tuple[str, str]]:
    with planted.engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(text("SELECT uscc, name FROM entity WHERE name IS NOT NULL ORDER BY uscc"))
        ]


def _public_pages(planted: Planted) -> Iterator[tuple[str, str]]:
    """Every public route and page, over every entity (path, body)."""
    client = planted.client
    for uscc, name in _entities(planted):
        for path in (f"/v1/public/entities/{uscc}", f"/entity/{uscc}", f"/v1/public/search?q={uscc}"):
            yield path, client.get(path).text
        for q in (name[:4], name[2:6]):
            yield f"search {q}", client.get("/v1/public/search", params={"q": q}).text
            yield f"page {q}", client.get("/", params={"q": q}).text
    draw_id = _draw(planted)
    for path in (
        f"/v1/public/draws/{draw_id}",
        f"/v1/public/draws/{draw_id}/frame",
        "/v1/public/plans",
        "/inspections",
        f"/inspections?draw={draw_id}",
    ):
        yield path, client.get(path).text
    ticket = _decided_case(planted)
    for path in (f"/v1/public/cases/{ticket}", f"/case/{ticket}"):
        yield path, client.get(path).text


def _draw(planted: Planted) -> int:
    """A full-coverage plan over the whole province, committed and revealed."""
    headers = {"X-API-Key": planted.keys["inspection"]}
    pool = [
        {"code": f"P-{i}", "name": f"检查员{i}", "department": "隐私测试局", "authority": "一分局"} for i in range(3)
    ]
    planted.client.put("/v1/inspections/inspectors", json=pool, headers=headers)
    plan = planted.client.post(
        "/v1/inspections/plans",
        headers=headers,
        json={
            "title": "隐私测试计划",
            "item": "企业公示信息抽查",
            "departments": ["隐私测试局"],
            "key_area": "食品",
            "scope": {"regions": ["23"]},
            "as_of": AS_OF.isoformat(),
        },
    )
    assert plan.status_code == 201, plan.text
    committed = planted.client.post(f"/v1/inspections/plans/{plan.json()['id']}/draws", json={}, headers=headers)
    planted.client.post(f"/v1/inspections/draws/{committed.json()['id']}/reveal", json={}, headers=headers)
    return committed.json()["id"]


def _published(planted: Planted) -> tuple[str, str]:
    with planted.engine.connect() as conn:
        for uscc, _ in _entities(planted):
            shown = current_record(conn, uscc).public_view()["records"]
            if any(r["kind"] == "penalty" for r in shown):
                return uscc, next(r["ref"] for r in shown if r["kind"] == "penalty")
    raise AssertionError("no published penalty")


def _decided_case(planted: Planted) -> str:
    """An objection whose regulator extended it and decided it with texts naming IDs (item 3)."""
    uscc, ref = _published(planted)
    regulator = {"X-API-Key": planted.keys["regulator"]}
    filed = planted.client.post(
        "/v1/public/objections",
        json={
            "uscc": uscc,
            "ref": ref,
            "ground": "error",
            "statement": f"当事人身份证{IDS[0]}有误",
            "objector": "王五",
        },
    )
    assert filed.status_code == 201, filed.text
    ticket = filed.json()["ticket"]
    extended = planted.client.post(
        f"/v1/cases/{ticket}/extension",
        headers=regulator,
        json={"working_days": 3, "reason": f"需核实当事人{SPELLINGS[4](IDS[1])}的身份"},
    )
    assert extended.status_code == 200, extended.text
    decided = planted.client.post(
        f"/v1/cases/{ticket}/decision",
        headers=regulator,
        json={"outcome": "upheld", "reasons": [f"经核实，当事人身份证号码{SPELLINGS[8](IDS[2])}，记录无误", IDS[3]]},
    )
    assert decided.status_code == 200, decided.text
    assert leaks(json.dumps(decided.json(), ensure_ascii=False))  # the regulator's own view keeps the texts
    return ticket


def test_no_public_route_or_page_shows_a_full_identity_number(planted: Planted) -> None:
    seen = 0
    for path, body in _public_pages(planted):
        assert not leaks(body), path
        seen += 1
    assert seen > 200


def test_stored_ids_are_masked_on_every_public_output_all_the_same(planted: Planted) -> None:
    """Item 1: rows stored before the at-rest masking (or by any path that misses it) still reach
    no public output whole: search, entity, draws and the inspections page pass one masking."""
    with planted.engine.begin() as conn:
        for k, (uscc, name) in enumerate(_entities(planted)):
            spelled = SPELLINGS[k % len(SPELLINGS)](IDS[k % len(IDS)])
            conn.execute(
                text("UPDATE entity SET name = :n, address = :a WHERE uscc = :u"),
                {"n": f"{name[:6]}{spelled}便利店", "a": f"测试街1号 身份证{spelled}", "u": uscc},
            )
    with planted.engine.connect() as conn:
        assert leaks(_all_text(planted.engine, "entity"))
    seen = 0
    for path, body in _public_pages(planted):
        assert not leaks(body), path
        seen += 1
    assert seen > 200


def test_public_filings_get_one_answer_for_every_reference_not_shown(planted: Planted) -> None:
    """Item 4: an internal record (tax), an unpublished warning, an ended publicity and a record
    that does not exist are told apart by nothing; a raw fact key is not a reference either."""
    with planted.engine.connect() as conn:
        kinds: dict[str, tuple[str, str, str]] = {}
        for uscc, _ in _entities(planted):
            for fact in current_record(conn, uscc).facts:
                if fact.kind in INTERNAL_KINDS:
                    kinds.setdefault("internal", (uscc, fact.fact_key, fact.ref))
                elif fact.publicity is Publicity.NOT_PUBLISHED:
                    kinds.setdefault("unpublished", (uscc, fact.fact_key, fact.ref))
                elif fact.publicity is Publicity.ENDED:
                    kinds.setdefault("ended", (uscc, fact.fact_key, fact.ref))
                elif fact.publicity is Publicity.PUBLISHED and fact.kind == "penalty":
                    kinds.setdefault("published", (uscc, fact.fact_key, fact.ref))
    assert {"internal", "unpublished", "ended", "published"} <= set(kinds), set(kinds)
    answers = set()
    for name, (uscc, key, ref) in kinds.items():
        for reference in (key,) if name == "published" else (key, ref):
            for path, body in (
                ("/v1/public/objections", {"ground": "error", "statement": "有误", "objector": "某"}),
                ("/v1/public/repairs", {"applicant": "某", "obligations_performed": True, "commitment_signed": True}),
            ):
                answer = planted.client.post(path, json={"uscc": uscc, "ref": reference, **body})
                answers.add((answer.status_code, answer.text))
    uscc = kinds["published"][0]
    for path, body in (
        ("/v1/public/objections", {"ground": "error", "statement": "有误", "objector": "某"}),
        ("/v1/public/repairs", {"applicant": "某", "obligations_performed": True, "commitment_signed": True}),
    ):
        answer = planted.client.post(path, json={"uscc": uscc, "ref": "0123456789abcdef", **body})
        answers.add((answer.status_code, answer.text))
    assert len(answers) == 1 and next(iter(answers))[0] == 422, answers


def test_regulators_decision_and_extension_texts_are_masked_on_the_public_ticket_view(planted: Planted) -> None:
    """Item 3: the ticket view (JSON and page) shows the regulator's reasons, IDs masked."""
    ticket = _decided_case(planted)
    body = planted.client.get(f"/v1/public/cases/{ticket}").json()
    assert body["extensions"][0]["reason"].startswith("需核实当事人1101051949****")
    assert body["reasons"][0].startswith("经核实，当事人身份证号码3423011964****") and "****" in body["reasons"][1]
    page = planted.client.get(f"/case/{ticket}").text
    assert not leaks(json.dumps(body, ensure_ascii=False)) and not leaks(page) and "****" in page
