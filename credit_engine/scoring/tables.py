"""An analyst's table as analysts have it: CSV in UTF-8 (with or without a BOM) or GB18030, or
Parquet; a two-valued label of any type; identifier columns that must not become features."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: Label values taken as "the bad outcome" when ``--positive`` is not given, compared in lower case.
POSITIVE_GUESSES = ("bad", "1", "yes", "y", "true", "是", "default", "违约", "坏")
#: Their counterparts: a label whose other value is one of these confirms the guess.
NEGATIVE_GUESSES = ("good", "0", "no", "n", "false", "否", "non-default", "nondefault", "正常", "未违约", "好")
#: Column names that say "identifier": the last word (split at _ - . space or a camel-case step), as
#: in ``id``, ``customer_id``, ``LoanNo``, ``uscc`` (a first word only if id, uscc or uuid:
#: ``number_of_credits`` is a count).
ID_WORDS = ("id", "code", "uscc", "no", "number", "key", "rownames", "index", "uuid")
ID_PARTS_ZH = ("代码", "编号", "证号", "号码")


@dataclass(frozen=True)
class Label:
    column: str
    positive: str  # the value (as text) that is 1
    negative: str
    guessed: bool


def read_table(path: Path) -> pd.DataFrame:
    """Parquet, or CSV decoded as UTF-8 (a BOM dropped) and, failing that, as GB18030."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix not in (".csv", ".txt"):
        raise ValueError(f"{path.name}: a table must be .csv or .parquet")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, encoding=encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(f"{path.name}: neither UTF-8 nor GB18030 text")


def _text(value: object) -> str:
    """A label value as text: a whole float without its ".0", booleans as true/false."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def label_of(
    table: pd.DataFrame, column: str, positive: str | None = None, name: str = "table"
) -> tuple[Label, np.ndarray]:
    """The label as 0/1, its positive value given or guessed. A guess is made only when exactly
    one of the two values is a known "bad" spelling (or the other a known "good" one)."""
    if column not in table.columns:
        raise ValueError(f"{name}: no column {column} (columns: {', '.join(map(str, table.columns))})")
    raw = table[column]
    if raw.isna().any():
        raise ValueError(f"{name}: the label column {column} has {int(raw.isna().sum())} empty values")
    text = raw.map(_text)
    values = sorted(text.unique())
    if len(values) != 2:
        shown = ", ".join(values[:6]) + (" ..." if len(values) > 6 else "")
        raise ValueError(
            f"{name}: the label column {column} must hold exactly two values, it holds {len(values)}: {shown}"
        )
    if positive is not None:
        wanted = _text(positive)
        matches = [v for v in values if v == wanted or v.lower() == wanted.lower()]
        if not matches:
            raise ValueError(f"{name}: --positive {positive} is not a value of {column} ({' / '.join(values)})")
        chosen, guessed = matches[0], False
    else:
        chosen, guessed = _guess(values, column, name), True
    other = values[1] if chosen == values[0] else values[0]
    return Label(column, chosen, other, guessed), (text == chosen).to_numpy(dtype=int)


def _guess(values: list[str], column: str, name: str) -> str:
    low = [v.lower() for v in values]
    bad = [v for v, w in zip(values, low) if w in POSITIVE_GUESSES]
    good = [v for v, w in zip(values, low) if w in NEGATIVE_GUESSES]
    if len(bad) == 1 and bad[0] not in good:
        return bad[0]
    if len(good) == 1 and not bad:
        return values[1] if good[0] == values[0] else values[0]
    raise ValueError(
        f"{name}: cannot tell which value of {column} is the bad outcome ({' / '.join(values)}): "
        f"say it with --positive VALUE"
    )


def _named_like_id(column: str) -> bool:
    name = str(column)
    if any(part in name for part in ID_PARTS_ZH):
        return True
    words = [w.lower() for w in re.split(r"[_\-\s.]+|(?<=[a-z])(?=[A-Z])", name) if w]
    return bool(words) and (words[0] in ("id", "uscc", "uuid") or words[-1] in ID_WORDS)


def identifier_columns(X: pd.DataFrame, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """Columns to leave out, each with why: named like an identifier, or unique per row (text or
    whole numbers; a measured quantity may be unique by chance, so floats with fractions are kept)."""
    out = {}
    for column in X.columns:
        if column in keep:
            continue
        values = X[column]
        if _named_like_id(column):
            out[column] = "named like an identifier"
        elif len(X) > 1 and values.notna().all() and values.is_unique and _discrete(values):
            out[column] = "unique in every row"
    return out


def _discrete(values: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(values):
        return True
    numbers = values.to_numpy(dtype=float)
    return bool(np.all(numbers == np.round(numbers)))
