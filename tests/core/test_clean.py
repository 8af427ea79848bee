"""Cleaning of the contract's defects: dates, nulls, money, categories."""

from __future__ import annotations

import pandas as pd
import pytest

from credit_engine.sources.clean import map_codes, normalise_categories, parse_dates, parse_money_yuan, text

DATES = {
    "2015年7月10日": "2015-07-10",
    "2019年07月13日": "2019-07-13",
    "20190709": "2019-07-09",
    "2017-7-7": "2017-07-07",
    "2019-6-25 0:00:00": "2019-06-25",
    "2019/6/25": "2019-06-25",
    "1568180781000": "2019-09-11",  # epoch ms, read in Beijing time
    "２０２０－０１－０２": "2020-01-02",
}
SENTINELS = ["1900-1-1 0:00:00", "9999-9-9", "2099-12-31 00:00:00", "无处罚期限", "", "/", "无", "暂无", "null", "\n"]


@pytest.mark.parametrize(("raw", "expected"), DATES.items())
def test_every_date_shape(raw: str, expected: str) -> None:
    dates, problems = parse_dates(pd.Series([raw]))
    assert str(dates[0].date()) == expected and pd.isna(problems[0])


@pytest.mark.parametrize("raw", SENTINELS)
def test_sentinels_and_nulls_mean_no_date(raw: str) -> None:
    dates, problems = parse_dates(pd.Series([raw]))
    assert pd.isna(dates[0]) and pd.isna(problems[0])


def test_bad_dates_are_reported_not_guessed() -> None:
    dates, problems = parse_dates(pd.Series(["2019-02-30", "yesterday"]))
    assert dates.isna().all()
    assert problems.tolist() == ["impossible calendar date: '2019-02-30'", "not a date: 'yesterday'"]


def test_null_spellings() -> None:
    assert text(pd.Series(["", "/", "无", "暂无", "null", "\n", " 值 "])).tolist()[:6] == [pd.NA] * 6
    assert text(pd.Series([" 值 "]))[0] == "值"


@pytest.mark.parametrize(
    ("raw", "unit", "yuan"),
    [
        ("罚款2000元", "元", 2000),
        ("罚款金额:8万元", "元", 80_000),
        ("0.5", "万元", 5000),
        ("10000", "元", 10_000),
        ("罚款1,200.50元", "万元", 1200.5),
        ("罚款金额：3万", "元", 30_000),
    ],
)
def test_money_normalised_to_yuan(raw: str, unit: str, yuan: float) -> None:
    assert parse_money_yuan(pd.Series([raw]), unit)[0] == pytest.approx(yuan)


def test_categories_split_and_normalised() -> None:
    vocab = ("警告", "罚款", "没收违法所得", "其他")
    out = normalise_categories(pd.Series(["罚款、没收违法所得", "没收违法所得;警告", "责令改正", ""]), vocab)
    assert out.tolist()[:3] == ["罚款、没收违法所得", "警告、没收违法所得", "其他"] and pd.isna(out[3])


def test_codes_or_text() -> None:
    assert map_codes(pd.Series(["01", "1", "特许", "06"]), {"01": "普通", "02": "特许", "06": "其他"}).tolist() == [
        "普通",
        "普通",
        "特许",
        "其他",
    ]


@pytest.mark.parametrize(
    ("raw", "yuan"),
    [
        ("依据第34条规定，罚款5000元", 5000),
        ("没收违法所得1000元，罚款2万元", 20_000),
        ("1e-05", 0.1),
    ],
)
def test_the_fine_is_the_amount_after_fakuan_not_the_first_number(raw: str, yuan: float) -> None:
    assert parse_money_yuan(pd.Series([raw]), "万元")[0] == pytest.approx(yuan)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("202311", "not a date: '202311'"),
        ("201979", "not a date: '201979'"),
        ("0001-01-01", "implausible year: '0001-01-01'"),
        ("1899-12-31", "implausible year: '1899-12-31'"),
    ],
)
def test_short_digit_runs_and_ancient_years_are_not_dates(raw: str, problem: str) -> None:
    dates, problems = parse_dates(pd.Series([raw]))
    assert pd.isna(dates[0]) and problems[0] == problem
