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
    Flag,
    build,
    flags_as_of,
    latest_legal_rep,
    legal_rep_bars,
    masked_digits_agree,
    person_record,
    related_listed,
    resolve_masked_debtors,
    roles_as_of,
)
from credit_engine.settings import Settings
from credit_engine.synth import synthesise
from tests.helpers import REG_HEADER, REP_A, A, B, C, make_id, make_uscc, record_at, reg_rows, write_csv

COURT = [
    "被执行人姓名/名称",
    "身份证号码/组织机构代码",
    "被执行人性质",
    "案号",
    "立案时间",
    "移除日期",
    "失信被执行人行为具体情形",
]
DEBT = "因所负数额较大债务到期未清偿"
STAFF = ["统一社会信用代码", "姓名", "证件号码", "职务", "任职起始日期", "任职终止日期"]
WANG_1, WANG_2 = make_id(61, birth="19950101"), make_id(62, birth="19950101")
AS_OF = date(2026, 6, 30)


def flagged(conn: Connection, name: str, day: date) -> list[Flag]:
    """The flags on ``day`` whose name starts with ``name``."""
    return [f for f in flags_as_of(conn, day) if f.flag.startswith(name)]


@pytest.fixture
def graph(engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    record_at(monkeypatch, "2018-06-01")  # known before every date the tests ask about
    ingest_paths(
        [
            write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows()),
            write_csv(
                tmp_path / "staff.csv",
                STAFF,
                [
                    [B, "王五", WANG_1, "监事", "2019-01-01", ""],
                    [C, "王五", WANG_2, "董事", "2019-01-01", "2022-06-30"],
                ],
            ),
            write_csv(
                tmp_path / "court.csv",
                COURT,
                [
                    ["张三", REP_A, "自然人", "（2023）执1号", "2023-04-04", "2024-01-01", DEBT],
                    ["张三", REP_A[:10] + "****" + REP_A[-4:], "自然人", "（2023）执2号", "2023-05-05", "", DEBT],
                    ["王五", WANG_1[:12] + "******", "自然人", "（2023）执3号", "2023-05-05", "", DEBT],
                ],
            ),
        ],
        engine,
        settings,
    )
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
        rows = dict(
            conn.exec_driver_sql(
                "SELECT document_no, COALESCE(person_key, '') || '|' || COALESCE(flags, '') FROM fact "
                "WHERE kind = 'court' AND superseded_at IS NULL"
            ).all()
        )
    full = rows["（2023）执1号"].split("|")[0]
    assert rows["（2023）执2号"] == f"{full}|known_time_derived,person_resolved_from_masked"  # name, 14 digits agree
    assert (
        rows["（2023）执3号"] == "|known_time_derived,person_ambiguous"
    )  # two 王五 share the 12 visible digits: never guessed
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
    assert any(key.startswith("court:") for key in during[0].facts) and any(
        key.startswith("role:") for key in during[0].facts
    )


@pytest.mark.parametrize(
    ("masked", "other", "shared"),
    [
        ("230102199501******", "2301021995****0306", 10),
        ("2301021995****0306", "2301021995****0306", 14),
        ("2301021995****0307", "2301021995****0306", -1),
        ("230102", "2301021995****0306", -1),
    ],
)
def test_masked_forms_compare_only_where_both_show_a_digit(masked: str, other: str, shared: int) -> None:
    assert masked_digits_agree(masked, other) == shared


def test_legal_rep_bars_and_related_enterprises(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_at(monkeypatch, "2018-06-01")
    zhao = make_id(70)
    pen = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_JDRQ", "CF_CFJG"]
    se = ["统一社会信用代码", "企业名称", "列入严重违法失信企业名单原因", "列入日期", "移出日期"]
    registration = reg_rows()
    registration[1][3:5] = ["赵", zhao]  # 赵 leads B (registered 2019-07-09) and is a director of C
    ingest_paths(
        [
            write_csv(tmp_path / "reg.csv", REG_HEADER, registration),
            write_csv(tmp_path / "staff.csv", STAFF, [[C, "赵", zhao, "董事", "2019-01-01", ""]]),
            write_csv(tmp_path / "pen.csv", pen, [["乙", B, "R-1", "吊销营业执照", "2021-03-01", "局"]]),
            write_csv(
                tmp_path / "se.csv",
                se,
                [[C, "丙", "被列入经营异常名录届满3年仍未履行相关义务的", "2022-01-10", "2023-06-01"]],
            ),
        ],
        engine,
        settings,
    )
    with engine.connect() as conn:
        bars = legal_rep_bars(conn, date(2022, 1, 1))
        expired = legal_rep_bars(conn, date(2024, 3, 1))
        related = flagged(conn, "related_enterprise", date(2022, 6, 1))
        related_after = flagged(conn, "related_enterprise", date(2023, 6, 1))
        zhao_key = bars.loc[bars["uscc"] == B, "person_key"].iloc[0]
        record = person_record(conn, zhao_key, date(2022, 6, 1))
    assert list(zip(bars["uscc"], bars["ground"], bars["until"].astype(str))) == [
        (B, "licence_revoked_or_closed", "2024-03-01")
    ]
    assert "第一百七十八条" in bars["basis"].iloc[0] and "第十二条" in bars["basis"].iloc[0]
    assert expired.empty
    # C is on the serious list; B shares 赵 with it, so B is flagged as related — until C's removal
    assert [(f.uscc, f.flag) for f in related] == [(B, "related_enterprise_dishonest")]
    assert related_after == []
    assert record["masked_id"] == zhao[:10] + "****" + zhao[-4:] and zhao not in str(record)
    assert {(r["uscc"], r["role"]) for r in record["roles"]} == {(B, "legal_representative"), (C, "director")}
    assert [
        (b["ground"], b["until"], b["because_of"], b["other_enterprises_only"]) for b in record["legal_rep_bars"]
    ] == [("licence_revoked_or_closed", "2024-03-01", B, False)]


def test_a_later_appointment_replaces_the_legal_representative(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_at(monkeypatch, "2018-06-01")
    zhao = make_id(71)
    ingest_paths(
        [
            write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows()),  # B: 李四 since 2019-07-09
            write_csv(tmp_path / "staff.csv", STAFF, [[B, "赵", zhao, "法定代表人", "2021-01-01", ""]]),
        ],
        engine,
        settings,
    )
    with engine.connect() as conn:
        before, after = (roles_as_of(conn, date(y, 6, 1)) for y in (2020, 2022))
    rep = lambda roles: roles[(roles["uscc"] == B) & (roles["role"] == "legal_representative")]  # noqa: E731
    assert len(rep(before)) == len(rep(after)) == 1
    assert rep(before)["person_key"].iloc[0] != rep(after)["person_key"].iloc[0]


def test_a_bar_names_the_legal_representative_the_roles_name(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two legal representatives appointed the same day: the later row is the one at the time, for
    the bars as for the roles (24 rows: enough for an unstable sort to reorder equal starts)."""
    record_at(monkeypatch, "2018-06-01")
    codes = [make_uscc(100 + i) for i in range(12)]
    pen = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_JDRQ", "CF_CFJG"]
    ingest_paths(
        [
            write_csv(
                tmp_path / "reg.csv",
                REG_HEADER,
                [
                    [
                        code,
                        f"哈尔滨{i}号有限公司",
                        "有限责任公司",
                        "甲",
                        make_id(200 + i),
                        "10",
                        "2019-07-09",
                        "F5211",
                        "道里区",
                        "道里分局",
                        "存续",
                        "",
                        "零售",
                        "",
                    ]
                    for i, code in enumerate(codes)
                ],
            ),
            write_csv(
                tmp_path / "staff.csv",
                STAFF,
                [[code, "乙", make_id(300 + i), "法定代表人", "2019-07-09", ""] for i, code in enumerate(codes)],
            ),
            write_csv(
                tmp_path / "pen.csv",
                pen,
                [["企业", code, f"R-{i}", "吊销营业执照", "2021-03-01", "局"] for i, code in enumerate(codes)],
            ),
        ],
        engine,
        settings,
    )
    with engine.connect() as conn:
        bars = legal_rep_bars(conn, date(2022, 1, 1))
        roles = roles_as_of(conn, date(2021, 3, 1))
    reps = roles[roles["role"] == "legal_representative"].set_index("uscc")["person_key"]
    assert sorted(bars["uscc"]) == sorted(codes)
    assert dict(zip(bars["uscc"], bars["person_key"])) == reps[codes].to_dict()
    with engine.connect() as conn:  # the later row: the appointment from the staff file
        staff = dict(
            conn.execute(
                text(
                    "SELECT subject_uscc, person_key FROM fact WHERE kind = 'role' "
                    "AND category = 'legal_representative' AND id IN (SELECT MAX(id) FROM fact "
                    "WHERE kind = 'role' AND category = 'legal_representative' "
                    "GROUP BY subject_uscc)"
                )
            ).all()
        )
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
    roles = pd.DataFrame(
        {
            "uscc": rng.choice(np.array([A, B, C, None], dtype=object), n),
            "person_key": [f"p{i}" for i in range(n)],
            "role": rng.choice(["legal_representative", "director", "supervisor"], n),
            "start": starts.where(rng.random(n) > 0.2),  # some unknown; equal starts are common
        },
        index=np.arange(n) * 3 + 1,
    )
    pd.testing.assert_frame_equal(latest_legal_rep(roles), _latest_legal_rep_by_pandas(roles))
    shuffled = roles.sample(frac=1, random_state=seed)  # an index out of order comes back in order
    pd.testing.assert_frame_equal(latest_legal_rep(shuffled), _latest_legal_rep_by_pandas(shuffled))


def _related_listed_by_pandas(
    roles: pd.DataFrame, listings: pd.DataFrame, listed_roles: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The rule in plain pandas: each role joined to the listings of the other enterprises its
    person holds a role in, once per (enterprise, listed enterprise, person)."""
    columns = ["uscc", "person_key", "role", "fact_key"]
    listed_roles = roles[columns] if listed_roles is None else listed_roles[columns]
    sources = listed_roles.merge(listings[["uscc", "kind", "fact_key"]], on="uscc", suffixes=("", "_listing"))
    related = roles[columns].merge(
        sources[["person_key", "uscc", "kind", "fact_key_listing"]], on="person_key", suffixes=("", "_listed")
    )
    return related[related["uscc"] != related["uscc_listed"]].drop_duplicates(["uscc", "uscc_listed", "person_key"])


@pytest.mark.parametrize("seed", range(60))
def test_related_listed_enterprises_are_the_rule_on_random_roles(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(0, 25)), int(rng.integers(0, 6))
    enterprises, persons = [f"u{i}" for i in range(6)], [f"p{i}" for i in range(5)]
    text = "str" if seed % 3 else object  # pandas' text, or Python objects as some readers give
    roles = pd.DataFrame(
        {
            "uscc": pd.Series(rng.choice(enterprises, n), dtype=text),
            "person_key": pd.Series(rng.choice(persons, n), dtype=text),
            "role": pd.Series(rng.choice(["legal_representative", "director"], n), dtype=text),
            "start": pd.Timestamp("2020-01-01"),
            "fact_key": pd.Series([f"f{i}" for i in range(n)], dtype=text),
        },
        index=rng.permutation(n) * 3,
    )
    listings = pd.DataFrame(
        {
            "uscc": pd.Series(rng.choice(enterprises, m), dtype=text),
            "kind": pd.Series(rng.choice(["court", "serious"], m), dtype=text),
            "fact_key": pd.Series([f"l{i}" for i in range(m)], dtype=text),
        }
    )
    listed_roles = roles.sample(frac=0.7, random_state=seed) if seed % 2 else None  # as build passes them
    pd.testing.assert_frame_equal(
        related_listed(roles, listings, listed_roles),
        _related_listed_by_pandas(roles, listings, listed_roles),
        check_index_type=False,
    )


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


def test_a_serious_listing_never_removed_ends_after_its_three_years(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SAMR Order 44: the entry leaves the list and its measures lift once 3 years have passed,
    though the source never records a removal: no forced D, no related-enterprise flag after."""
    from credit_engine.features import features_as_of, load_history

    record_at(monkeypatch, "2018-06-01")
    zhao = make_id(72)
    se = ["统一社会信用代码", "企业名称", "列入严重违法失信企业名单原因", "列入日期", "移出日期"]
    registration = reg_rows()
    registration[1][3:5] = ["赵", zhao]  # 赵 leads B and is a director of C
    ingest_paths(
        [
            write_csv(tmp_path / "reg.csv", REG_HEADER, registration),
            write_csv(tmp_path / "staff.csv", STAFF, [[C, "赵", zhao, "董事", "2019-01-01", ""]]),
            write_csv(tmp_path / "se.csv", se, [[C, "丙", "因提供虚假材料被撤销登记", "2020-03-01", ""]]),
        ],
        engine,
        settings,
    )
    last_day, ended = date(2023, 2, 28), date(2023, 3, 1)
    with engine.connect() as conn:
        history = load_history(conn, last_day, ended)
        related = [(f.uscc, f.flag) for d in (last_day, ended) for f in flagged(conn, "related_enterprise", d)]
    on, off = features_as_of(history, last_day), features_as_of(history, ended)
    assert on.loc[C, "serious_active"] == 1 and off.loc[C, "serious_active"] == 0
    assert on.loc[B, "related_dishonest_enterprises"] == 1 and off.loc[B, "related_dishonest_enterprises"] == 0
    assert related == [(B, "related_enterprise_dishonest")]  # on the last day only


def test_only_a_large_debt_unpaid_when_due_bars_a_court_listed_person(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Company Law Art.178(5): the court list bars only for 因所负数额较大债务到期未清偿."""
    record_at(monkeypatch, "2018-06-01")
    rep_b = reg_rows()[1][4]
    ingest_paths(
        [
            write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows()),
            write_csv(
                tmp_path / "court.csv",
                COURT,
                [
                    [
                        "张三",
                        REP_A,
                        "自然人",
                        "（2023）执1号",
                        "2023-04-04",
                        "",
                        DEBT,
                    ],  # holds: A's legal representative
                    [
                        "李四",
                        rep_b,
                        "自然人",
                        "（2023）执2号",
                        "2023-04-04",
                        "",
                        "违反财产报告制度",
                    ],  # another ground: no bar
                ],
            ),
        ],
        engine,
        settings,
    )
    with engine.connect() as conn:
        during = flagged(conn, "court_listed", date(2023, 6, 1))
    assert [(f.uscc, f.flag) for f in during] == [(A, "court_listed_legal_representative")]


def _bar_world(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    penalty: str = "责令关闭",
    events: list[list[str]] | None = None,
) -> str:
    """赵 leads B and is a director of C; B gets ``penalty`` on 2021-03-01 or 赵 a ``person_bar`` event."""
    record_at(monkeypatch, "2018-06-01")
    zhao = make_id(70)
    registration = reg_rows()
    registration[1][3:5] = ["赵", zhao]
    files = [
        write_csv(tmp_path / "reg.csv", REG_HEADER, registration),
        write_csv(tmp_path / "staff.csv", STAFF, [[C, "赵", zhao, "董事", "2019-01-01", ""]]),
    ]
    if penalty:
        files.append(
            write_csv(
                tmp_path / "pen.csv",
                ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_JDRQ", "CF_CFJG"],
                [["乙", B, "R-1", penalty, "2021-03-01", "局"]],
            )
        )
    if events:
        files.append(
            write_csv(
                tmp_path / "bars.csv",
                ["姓名", "证件号码", "限制事由", "起算日期", "罪名", "统一社会信用代码"],
                [["赵", zhao, *e] for e in events],
            )
        )
    ingest_paths(files, engine, settings)
    return zhao


@pytest.mark.parametrize(("penalty", "barred"), [("责令关闭", True), ("吊销营业执照", True), ("罚款", False)])
def test_an_enterprise_ordered_closed_bars_its_legal_representative(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, penalty: str, barred: bool
) -> None:
    """Company Law Art.178(4), 登记管理条例 Art.12(4): 吊销营业执照 and 责令关闭, 3 years from that date."""
    _bar_world(engine, settings, tmp_path, monkeypatch, penalty)
    with engine.connect() as conn:
        bars = legal_rep_bars(conn, date(2022, 1, 1))
        flags = flagged(conn, "barred_director", date(2022, 1, 1))  # 赵 is a director of C
        later = legal_rep_bars(conn, date(2024, 3, 1))
    assert list(bars["ground"]) == (["licence_revoked_or_closed"] if barred else [])
    assert [(f.uscc, f.flag) for f in flags] == ([(C, "barred_director")] if barred else [])
    assert later.empty


@pytest.mark.parametrize(
    ("ground", "offence", "since", "barred_until"),
    [
        ("刑罚执行完毕", "职务侵占罪", "2020-05-01", "2025-05-01"),  # (2): 5 years after the sentence
        ("缓刑考验期满", "挪用资金罪", "2021-05-01", "2023-05-01"),  # (2): 2 years after probation
        ("刑罚执行完毕", "交通肇事罪", "2020-05-01", None),  # not an Art.178(2) offence
        ("破产清算完结", "", "2021-05-01", "2024-05-01"),  # (3): from the liquidation's completion
        ("以欺诈手段取得登记被撤销登记", "", "2021-05-01", "2024-05-01"),  # 实施细则 Art.71
    ],
)
def test_person_bar_events_run_their_own_periods(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ground: str,
    offence: str,
    since: str,
    barred_until: str | None,
) -> None:
    _bar_world(engine, settings, tmp_path, monkeypatch, penalty="", events=[[ground, since, offence, ""]])
    with engine.connect() as conn:
        bars = legal_rep_bars(conn, date.fromisoformat(since))
        flags = flagged(conn, "barred", date.fromisoformat(since))
    assert [str(u) for u in bars["until"]] == ([barred_until] if barred_until else [])
    if barred_until and "欺诈" not in ground:  # 赵 leads B and directs C: both roles barred
        assert sorted((f.uscc, f.flag) for f in flags) == [(B, "barred_legal_representative"), (C, "barred_director")]
    if barred_until and "欺诈" in ground:  # Art.71 bars leading an enterprise, not directing one
        assert [(f.uscc, f.flag) for f in flags] == [(B, "barred_legal_representative")]
    with engine.connect() as conn:
        assert (
            legal_rep_bars(
                conn, date.fromisoformat(barred_until or since) + (date(2000, 1, 2) - date(2000, 1, 1))
            ).empty
            or not barred_until
        )


def test_the_serious_list_transfer_bars_other_enterprises_only(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """企业信息公示暂行条例 Art.18 (Art.17 before 2024-05-01): the legal representative of the listed
    enterprise may not lead ANOTHER enterprise for 3 years; the listed one itself is not flagged."""
    record_at(monkeypatch, "2018-06-01")
    zhao = make_id(70)
    registration = reg_rows()
    registration[1][3:5] = ["赵", zhao]  # 赵 leads B ...
    registration[2][3:5] = ["赵", zhao]  # ... and C
    se = ["统一社会信用代码", "企业名称", "列入严重违法失信企业名单原因", "列入日期", "移出日期"]
    ingest_paths(
        [
            write_csv(tmp_path / "reg.csv", REG_HEADER, registration),
            write_csv(
                tmp_path / "se.csv", se, [[B, "乙", "被列入经营异常名录届满3年仍未履行相关义务的", "2024-06-01", ""]]
            ),
        ],
        engine,
        settings,
    )
    with engine.connect() as conn:
        flags = flagged(conn, "barred_legal", date(2025, 1, 1))
        bars = legal_rep_bars(conn, date(2025, 1, 1))
    assert [(f.uscc, f.flag) for f in flags] == [(C, "barred_legal_representative")]  # not B itself
    assert "第十八条" in bars["basis"].iloc[0] and bars["other_only"].iloc[0]
