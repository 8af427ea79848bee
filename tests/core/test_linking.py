"""Linking persons and enterprises as of a date, and the flags dishonesty raises along the links."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, text

from credit_engine.ingest import ingest_paths
from credit_engine.linking import (
    Flag, build, flags_as_of, latest_legal_rep, legal_rep_bars, masked_digits_agree, person_record, related_listed,
    resolve_masked_debtors, roles_as_of,
)
from credit_engine.settings import Settings
from credit_engine.synth import synthesise
from tests.helpers import A, B, C, REG_HEADER, REP_A, make_id, make_uscc, record_at, reg_rows, write_csv

COURT = ["被执行人姓名/名称", "身份证号码/组织机构代码", "被执行人性质", "案号", "立案时间", "移除日期"]
STAFF = ["统一社会信用代码", "姓名", "证件号码", "职务", "任职起始日期", "任职终止日期"]
WANG_1, WANG_2 = make_id(61, birth="19950101"), make_id(62, birth="19950101")
AS_OF = date(2026, 6, 30)


def flagged(conn: Connection, name: str, day: date) -> list[Flag]:
    """The flags on ``day`` whose name starts with ``name``."""
    return [f for f in flags_as_of(conn, day) if f.flag.startswith(name)]


@pytest.fixture
def graph(engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    record_at(monkeypatch, "2018-06-01")  # known before every date the tests ask about
    ingest_paths([
        write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows()),
        write_csv(tmp_path / "staff.csv", STAFF, [
            [B, "王五", WANG_1, "监事", "2019-01-01", ""],
            [C, "王五", WANG_2, "董事", "2019-01-01", "2022-06-30"],
        ]),
        write_csv(tmp_path / "court.csv", COURT, [
            ["张三", REP_A, "自然人", "（2023）执1号", "2023-04-04", "2024-01-01"],
            ["张三", REP_A[:10] + "****" + REP_A[-4:], "自然人", "（2023）执2号", "2023-05-05", ""],
            ["王五", WANG_1[:12] + "******", "自然人", "（2023）执3号", "2023-05-05", ""],
        ]),
    ], engine, settings)
    return engine


def test_roles_follow_their_periods(graph: Engine) -> None:
    with graph.connect() as conn:
        on_2022_01 = roles_as_of(conn, date(2022, 1, 1))
        on_2022_07 = roles_as_of(conn, date(2022, 7, 1))
    wang_2 = on_2022_01["role"].eq("director") & on_2022_01["uscc"].eq(C)
    assert wang_2.sum() == 1
    assert not (on_2022_07["role"].eq("director") & on_2022_07["uscc"].eq(C)).any()  # ended 2022-06-30


def test_a_masked_id_links_only_on_a_single_exact_match(graph: Engine) -> None:
    with graph.begin() as conn:
        assert resolve_masked_debtors(conn) == {"linked": 1, "ambiguous": 1}
        rows = dict(conn.exec_driver_sql(
            "SELECT document_no, COALESCE(person_key, '') || '|' || COALESCE(flags, '') FROM fact "
            "WHERE kind = 'court' AND superseded_at IS NULL").all())
    full = rows["（2023）执1号"].split("|")[0]
    assert rows["（2023）执2号"] == f"{full}|known_time_derived,person_resolved_from_masked"  # name, 14 digits agree
    assert rows["（2023）执3号"] == "|known_time_derived,person_ambiguous"  # two 王五 share the 12 visible digits: never guessed
    with graph.begin() as conn:
        assert resolve_masked_debtors(conn) == {"linked": 0, "ambiguous": 0}  # idempotent


def test_a_court_listed_legal_representative_flags_the_enterprise_until_the_listing_ends(graph: Engine) -> None:
    with graph.connect() as conn:
        before = flagged(conn, "court_listed", date(2023, 4, 3))
        during = flagged(conn, "court_listed", date(2023, 6, 1))
        after = flagged(conn, "court_listed", date(2024, 1, 1))
    assert before == [] and after == []
    assert [(f.uscc, f.flag) for f in during] == [(A, "court_listed_legal_representative")]
    assert "（2023）执1号" in during[0].basis and "第十二条" in during[0].basis
    assert any(key.startswith("court:") for key in during[0].facts) and any(key.startswith("role:") for key in during[0].facts)


@pytest.mark.parametrize(("masked", "other", "shared"), [
    ("230102199501******", "2301021995****0306", 10),
    ("2301021995****0306", "2301021995****0306", 14),
    ("2301021995****0307", "2301021995****0306", -1),
    ("230102", "2301021995****0306", -1),
])
def test_masked_forms_compare_only_where_both_show_a_digit(masked: str, other: str, shared: int) -> None:
    assert masked_digits_agree(masked, other) == shared


def test_legal_rep_bars_and_related_enterprises(engine: Engine, settings: Settings, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    record_at(monkeypatch, "2018-06-01")
    zhao = make_id(70)
    pen = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_JDRQ", "CF_CFJG"]
    se = ["统一社会信用代码", "企业名称", "列入严重违法失信企业名单原因", "列入日期", "移出日期"]
    registration = reg_rows()
    registration[1][3:5] = ["赵", zhao]  # 赵 leads B (registered 2019-07-09) and is a director of C
    ingest_paths([
        write_csv(tmp_path / "reg.csv", REG_HEADER, registration),
        write_csv(tmp_path / "staff.csv", STAFF, [[C, "赵", zhao, "董事", "2019-01-01", ""]]),
        write_csv(tmp_path / "pen.csv", pen, [["乙", B, "R-1", "吊销营业执照", "2021-03-01", "局"]]),
        write_csv(tmp_path / "se.csv", se, [[C, "丙", "被列入经营异常名录届满3年仍未履行相关义务的", "2022-01-10", "2023-06-01"]]),
    ], engine, settings)
    with engine.connect() as conn:
        bars = legal_rep_bars(conn, date(2022, 1, 1))
        expired = legal_rep_bars(conn, date(2024, 3, 1))
        related = flagged(conn, "related_enterprise", date(2022, 6, 1))
        related_after = flagged(conn, "related_enterprise", date(2023, 6, 1))
        zhao_key = bars.loc[bars["uscc"] == B, "person_key"].iloc[0]
        record = person_record(conn, zhao_key, date(2022, 6, 1))
    assert list(zip(bars["uscc"], bars["ground"], bars["until"].astype(str))) == [(B, "licence_revoked", "2024-03-01")]
    assert expired.empty
    # C is on the serious list; B shares 赵 with it, so B is flagged as related — until C's removal
    assert [(f.uscc, f.flag) for f in related] == [(B, "related_enterprise_dishonest")]
    assert related_after == []
    assert record["masked_id"] == zhao[:10] + "****" + zhao[-4:] and zhao not in str(record)
    assert {(r["uscc"], r["role"]) for r in record["roles"]} == {(B, "legal_representative"), (C, "director")}
    assert record["legal_rep_bars"] == [{"ground": "licence_revoked", "until": "2024-03-01", "because_of": B}]


def test_a_later_appointment_replaces_the_legal_representative(engine: Engine, settings: Settings, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    record_at(monkeypatch, "2018-06-01")
    zhao = make_id(71)
    ingest_paths([write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows()),  # B: 李四 since 2019-07-09
                  write_csv(tmp_path / "staff.csv", STAFF, [[B, "赵", zhao, "法定代表人", "2021-01-01", ""]])], engine, settings)
    with engine.connect() as conn:
        before, after = (roles_as_of(conn, date(y, 6, 1)) for y in (2020, 2022))
    rep = lambda roles: roles[(roles["uscc"] == B) & (roles["role"] == "legal_representative")]  # noqa: E731
    assert len(rep(before)) == len(rep(after)) == 1
    assert rep(before)["person_key"].iloc[0] != rep(after)["person_key"].iloc[0]


def test_a_bar_names_the_legal_representative_the_roles_name(engine: Engine, settings: Settings, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Two legal representatives appointed the same day: the later row is the one at the time, for
    the bars as for the roles (24 rows: enough for an unstable sort to reorder equal starts)."""
    record_at(monkeypatch, "2018-06-01")
    codes = [make_uscc(100 + i) for i in range(12)]
    pen = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_JDRQ", "CF_CFJG"]
    ingest_paths([
        write_csv(tmp_path / "reg.csv", REG_HEADER, [
            [code, f"哈尔滨{i}号有限公司", "有限责任公司", "甲", make_id(200 + i), "10", "2019-07-09", "F5211", "道里区",
             "道里分局", "存续", "", "零售", ""] for i, code in enumerate(codes)]),
        write_csv(tmp_path / "staff.csv", STAFF, [[code, "乙", make_id(300 + i), "法定代表人", "2019-07-09", ""]
                                                  for i, code in enumerate(codes)]),
        write_csv(tmp_path / "pen.csv", pen, [["企业", code, f"R-{i}", "吊销营业执照", "2021-03-01", "局"]
                                              for i, code in enumerate(codes)]),
    ], engine, settings)
    with engine.connect() as conn:
        bars = legal_rep_bars(conn, date(2022, 1, 1))
        roles = roles_as_of(conn, date(2021, 3, 1))
    reps = roles[roles["role"] == "legal_representative"].set_index("uscc")["person_key"]
    assert sorted(bars["uscc"]) == sorted(codes)
    assert dict(zip(bars["uscc"], bars["person_key"])) == reps[codes].to_dict()
    with engine.connect() as conn:  # the later row: the appointment from the staff file
        staff = dict(conn.execute(text("SELECT subject_uscc, person_key FROM fact WHERE kind = 'role' "
                                       "AND category = 'legal_representative' AND id IN (SELECT MAX(id) FROM fact "
                                       "WHERE kind = 'role' AND category = 'legal_representative' "
                                       "GROUP BY subject_uscc)")).all())
    assert reps[codes].to_dict() == {code: staff[code] for code in codes}


def _latest_legal_rep_by_pandas(roles: pd.DataFrame) -> pd.DataFrame:
    """The rule in plain pandas: per enterprise, the representative with the latest start (unknown
    earliest, equal starts to the later row); every other role kept; the rows in their order."""
    reps = roles["role"] == "legal_representative"
    ordered = roles[reps].assign(_start=pd.to_datetime(roles.loc[reps, "start"]))
    ordered = ordered.sort_values("_start", na_position="first", kind="stable")
    return pd.concat([roles[~reps], ordered.drop_duplicates("uscc", keep="last").drop(columns="_start")]).sort_index()


@pytest.mark.parametrize("seed", range(40))
def test_the_latest_legal_representative_is_the_rule_on_random_roles(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 30))
    starts = pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 4, n) * 100, unit="D"))
    roles = pd.DataFrame({
        "uscc": rng.choice(np.array([A, B, C, None], dtype=object), n),
        "person_key": [f"p{i}" for i in range(n)],
        "role": rng.choice(["legal_representative", "director", "supervisor"], n),
        "start": starts.where(rng.random(n) > 0.2),  # some unknown; equal starts are common
    }, index=np.arange(n) * 3 + 1)
    pd.testing.assert_frame_equal(latest_legal_rep(roles), _latest_legal_rep_by_pandas(roles))
    shuffled = roles.sample(frac=1, random_state=seed)  # an index out of order comes back in order
    pd.testing.assert_frame_equal(latest_legal_rep(shuffled), _latest_legal_rep_by_pandas(shuffled))


def _related_listed_by_pandas(roles: pd.DataFrame, listings: pd.DataFrame,
                              listed_roles: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rule in plain pandas: each role joined to the listings of the other enterprises its
    person holds a role in, once per (enterprise, listed enterprise, person)."""
    columns = ["uscc", "person_key", "role", "fact_key"]
    listed_roles = roles[columns] if listed_roles is None else listed_roles[columns]
    sources = listed_roles.merge(listings[["uscc", "kind", "fact_key"]], on="uscc", suffixes=("", "_listing"))
    related = roles[columns].merge(sources[["person_key", "uscc", "kind", "fact_key_listing"]], on="person_key",
                                   suffixes=("", "_listed"))
    return related[related["uscc"] != related["uscc_listed"]].drop_duplicates(["uscc", "uscc_listed", "person_key"])


@pytest.mark.parametrize("seed", range(60))
def test_related_listed_enterprises_are_the_rule_on_random_roles(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(0, 25)), int(rng.integers(0, 6))
    enterprises, persons = [f"u{i}" for i in range(6)], [f"p{i}" for i in range(5)]
    text = "str" if seed % 3 else object  # pandas' text, or Python objects as some readers give
    roles = pd.DataFrame({
        "uscc": pd.Series(rng.choice(enterprises, n), dtype=text), "person_key": pd.Series(rng.choice(persons, n), dtype=text),
        "role": pd.Series(rng.choice(["legal_representative", "director"], n), dtype=text),
        "start": pd.Timestamp("2020-01-01"), "fact_key": pd.Series([f"f{i}" for i in range(n)], dtype=text),
    }, index=rng.permutation(n) * 3)
    listings = pd.DataFrame({"uscc": pd.Series(rng.choice(enterprises, m), dtype=text),
                             "kind": pd.Series(rng.choice(["court", "serious"], m), dtype=text),
                             "fact_key": pd.Series([f"l{i}" for i in range(m)], dtype=text)})
    listed_roles = roles.sample(frac=0.7, random_state=seed) if seed % 2 else None  # as build passes them
    pd.testing.assert_frame_equal(related_listed(roles, listings, listed_roles),
                                  _related_listed_by_pandas(roles, listings, listed_roles), check_index_type=False)


def test_flags_built_in_small_spans_are_those_built_at_once(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    """Spans bound build's memory; they must not change a single flag."""
    synthesise(tmp_path / "prov", 600, seed=5, as_of=AS_OF)
    ingest_paths([tmp_path / "prov" / "sources"], engine, settings, backfill=True)

    told: list[tuple[int, int]] = []

    def built(span: int) -> tuple[dict[str, int], pd.DataFrame]:
        told.clear()
        with engine.begin() as conn:
            counts = build(conn, AS_OF, span, progress=lambda done, total: told.append((done, total)))
            flags = pd.read_sql_query("SELECT uscc, flag, basis, person_key, facts_json FROM link_flag", conn)
        return counts, flags.sort_values(list(flags.columns)).reset_index(drop=True)

    (whole, at_once), (parts, spanned) = built(10**9), built(7)
    assert parts == whole and {"barred_legal_representative", "related_enterprise_dishonest"} <= set(whole)
    pd.testing.assert_frame_equal(spanned, at_once)
    with engine.connect() as conn:
        entities = conn.execute(text("SELECT COUNT(*) FROM entity")).scalar_one()
    assert told == [(k, -(-entities // 7)) for k in range(1, -(-entities // 7) + 1)]  # one step per span


def test_a_serious_listing_never_removed_ends_after_its_three_years(engine: Engine, settings: Settings,
                                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SAMR Order 44: the entry leaves the list and its measures lift once 3 years have passed,
    though the source never records a removal: no forced D, no related-enterprise flag after."""
    from credit_engine.features import features_as_of, load_history

    record_at(monkeypatch, "2018-06-01")
    zhao = make_id(72)
    se = ["统一社会信用代码", "企业名称", "列入严重违法失信企业名单原因", "列入日期", "移出日期"]
    registration = reg_rows()
    registration[1][3:5] = ["赵", zhao]  # 赵 leads B and is a director of C
    ingest_paths([
        write_csv(tmp_path / "reg.csv", REG_HEADER, registration),
        write_csv(tmp_path / "staff.csv", STAFF, [[C, "赵", zhao, "董事", "2019-01-01", ""]]),
        write_csv(tmp_path / "se.csv", se, [[C, "丙", "因提供虚假材料被撤销登记", "2020-03-01", ""]]),
    ], engine, settings)
    last_day, ended = date(2023, 2, 28), date(2023, 3, 1)
    with engine.connect() as conn:
        history = load_history(conn, last_day, ended)
        related = [(f.uscc, f.flag) for d in (last_day, ended) for f in flagged(conn, "related_enterprise", d)]
    on, off = features_as_of(history, last_day), features_as_of(history, ended)
    assert on.loc[C, "serious_active"] == 1 and off.loc[C, "serious_active"] == 0
    assert on.loc[B, "related_dishonest_enterprises"] == 1 and off.loc[B, "related_dishonest_enterprises"] == 0
    assert related == [(B, "related_enterprise_dishonest")]  # on the last day only
