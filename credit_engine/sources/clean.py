"""Vectorised cleaning of the defects real source files carry (DATA_CONTRACT.md, "Defects").

Every function takes and returns pandas Series aligned on the input index, so a whole file is
cleaned in a few passes of compiled code rather than a Python loop per row.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

#: Spellings of "no value" seen in real exports (defect 7).
NULL_SPELLINGS = frozenset({"", "/", "无", "暂无", "null", "none", "nan", "-", "--", "—", "n/a"})

#: Dates meaning "none" or "no end" (defect 6).
DATE_SENTINELS = frozenset({"1900-01-01", "9999-09-09", "9999-12-31", "2099-12-31", "1899-12-30"})
DATE_TEXT_SENTINELS = frozenset({"无处罚期限", "长期", "永久", "长期有效", "无期限"})

_YMD = re.compile(
    r"^(?P<y>\d{4})\s*[年\-/.]\s*(?P<m>\d{1,2})\s*[月\-/.]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[\sT]+\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?)?$"
)
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_EPOCH_MS = re.compile(r"^\d{12,13}$")
_COMMON_SHAPES = ("%Y-%m-%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d")

_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ（）：．－＿／　",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz():.-_/ ",
)


def text(values: pd.Series) -> pd.Series:
    """Strip whitespace (including a lone newline) and turn null spellings into NA."""
    s = values.astype("string").str.strip()
    return s.mask(s.str.lower().isin(NULL_SPELLINGS))


def fold_fullwidth(values: pd.Series) -> pd.Series:
    return values.str.translate(_FULLWIDTH)


def fold_fullwidth_text(value: str) -> str:
    return value.translate(_FULLWIDTH)


def fold_name(value: str | None) -> str:
    """A name as compared with a registered one: full-width and half-width forms folded (NFKC),
    every space removed; "" for a missing name."""
    if not isinstance(value, str):
        return ""
    return "".join(unicodedata.normalize("NFKC", value).split())


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse every date shape of the contract.

    Returns ``(dates, problems)``: ``dates`` is datetime64 (NaT for empty, sentinel or bad),
    ``problems`` holds a message for values that are present but not a valid date, else NA.
    """
    s = fold_fullwidth(text(values))
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[s]")
    problems = pd.Series(pd.NA, index=s.index, dtype="string")
    present = s.notna() & ~s.isin(DATE_TEXT_SENTINELS)
    if not present.any():
        return out, problems

    # Fast path: most files write one or two shapes; strptime in C handles them, and only the
    # rest go through the regular expressions below.
    eight_digits = s.str.fullmatch(r"\d{8}").fillna(False)
    for shape in _COMMON_SHAPES:
        todo = present & out.isna() & (eight_digits if shape == "%Y%m%d" else ~eight_digits)
        if not todo.any():
            continue
        out[todo] = pd.to_datetime(s[todo], format=shape, errors="coerce").astype("datetime64[s]")
    present_before = present
    present = present & out.isna()
    if not present.any():
        iso = out.dt.strftime("%Y-%m-%d")
        implausible = out.dt.year < 1900
        problems[implausible & ~iso.isin(DATE_SENTINELS)] = "implausible year: '" + s[implausible].astype(str) + "'"
        return out.mask(iso.isin(DATE_SENTINELS) | implausible), problems
    parts = s[present].str.extract(_YMD)
    compact = s[present].str.extract(_COMPACT)
    parts = parts.fillna(compact)
    have = parts["y"].notna()
    ymd = parts[have].astype("int64")
    built = (
        pd.to_datetime({"year": ymd["y"], "month": ymd["m"], "day": ymd["d"]}, errors="coerce").astype("datetime64[s]")
        if len(ymd)
        else pd.Series(dtype="datetime64[s]")
    )
    out.loc[built.index] = built

    epoch = s[present][~have]
    epoch = epoch[epoch.str.fullmatch(_EPOCH_MS)]
    if len(epoch):
        stamps = pd.to_datetime(epoch.astype("int64"), unit="ms", utc=True)
        out.loc[epoch.index] = (
            stamps.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).dt.normalize().astype("datetime64[s]")
        )

    iso = out.dt.strftime("%Y-%m-%d")
    implausible = out.dt.year < 1900
    out = out.mask(iso.isin(DATE_SENTINELS) | implausible)
    bad = present_before & out.isna() & ~iso.isin(DATE_SENTINELS)
    problems[bad] = "not a date: '" + s[bad].astype(str) + "'"
    calendar_bad = bad & s.index.isin(built[built.isna()].index)
    problems[calendar_bad] = "impossible calendar date: '" + s[calendar_bad].astype(str) + "'"
    problems[implausible & ~iso.isin(DATE_SENTINELS)] = "implausible year: '" + s[implausible].astype(str) + "'"
    return out, problems


_AMOUNT = r"(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)\s*(?P<unit>万元|万|元)"
_FINE = re.compile(r"罚款[^0-9，,。;；]{0,8}" + _AMOUNT.replace("(?P<unit>万元|万|元)", "(?P<unit>万元|万|元)?"))
_MONEY_WITH_UNIT = re.compile(_AMOUNT)


def parse_money_yuan(values: pd.Series, default_unit: str) -> pd.Series:
    """Amounts in yuan from ``罚款2000元``, ``罚款金额:8万元``, ``0.5`` (in a 万元 column), ``10000``.

    An explicit unit in the text wins; a bare number takes the column's ``default_unit``
    ("万元" or "元"). Returns float64 with NaN where no amount is given.
    """
    s = fold_fullwidth(text(values))
    found = s.str.extract(_FINE)  # "没收违法所得1000元，罚款2万元": the fine is what follows 罚款
    anywhere = s.str.extract(_MONEY_WITH_UNIT)  # else any amount that states its unit
    found = found.where(found["num"].notna(), anywhere)
    plain = pd.to_numeric(s.str.replace(",", "", regex=False), errors="coerce").astype("float64")  # "0.5", "1e-05"
    number = (
        pd.to_numeric(found["num"].str.replace(",", "", regex=False), errors="coerce").astype("float64").fillna(plain)
    )
    unit = found["unit"].fillna(default_unit)
    factor = np.where(unit.str.startswith("万").fillna(False), 10_000.0, 1.0)
    return (number * factor).astype("float64")


def normalise_categories(values: pd.Series, vocabulary: tuple[str, ...]) -> pd.Series:
    """Normalise multi-valued category text (``罚款、没收违法所得``) to the vocabulary, joined by ``、``.

    Tokens outside the vocabulary become ``其他``; order follows the vocabulary so the same set
    always gives the same string.
    """
    s = text(values).fillna("")
    tokens = s.str.split(r"\s*[、;；,，/|]\s*", regex=True)

    def norm(parts: list[str]) -> str:
        found = {p for p in parts if p}
        known = [v for v in vocabulary if v in found or any(v in p for p in found)]
        if found and not known:
            known = ["其他"]
        elif any(not any(v in p for v in vocabulary) for p in found) and "其他" not in known:
            known.append("其他")
        return "、".join(known)

    return tokens.map(norm).replace("", pd.NA).astype("string")


def map_codes(values: pd.Series, codes: dict[str, str]) -> pd.Series:
    """Category fields given as codes (``01``) or as text (``普通``): return the text form."""
    s = text(values)
    return s.map(lambda v: codes.get(v, codes.get(v.zfill(2), v)) if isinstance(v, str) else v).astype("string")
