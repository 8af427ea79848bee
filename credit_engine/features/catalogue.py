"""The feature catalogue: each indicator's name, Chinese label, group, meaning and expected
direction, declared once beside the code that computes it (``indicators``) and turned into the
catalogue table, the frame schema and the models' monotone constraints from there."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa

#: RULES.md §1: the five indicator groups of 国市监信发〔2022〕6号.
GROUPS = {
    "basic": "企业基础属性信息",
    "dynamic": "企业动态信息",
    "supervision": "监管信息",
    "related": "关联关系信息",
    "social": "社会评价信息",
}
Group = Literal["basic", "dynamic", "supervision", "related", "social"]


@dataclass(frozen=True)
class Feature:
    name: str
    label_zh: str
    meaning: str
    #: +1: a higher value means higher risk; -1: lower risk; 0: no direction imposed on the model
    direction: Literal[-1, 0, 1]
    categorical: bool = False
    group: Group = "basic"  # set by ``indicator_group``


Compute = Callable[..., dict[str, np.ndarray]]
FEATURES: list[Feature] = []
GROUP_FUNCTIONS: list[tuple[Group, Compute, tuple[str, ...]]] = []


def indicator_group(group: Group, *features: Feature) -> Callable[[Compute], Compute]:
    """Register a function computing ``features`` (a dict of arrays named as declared)."""

    def register(compute: Compute) -> Compute:
        declared = [Feature(**{**asdict(f), "group": group}) for f in features]
        FEATURES.extend(declared)
        GROUP_FUNCTIONS.append((group, compute, tuple(f.name for f in declared)))
        return compute

    return register


def feature_names() -> list[str]:
    return [f.name for f in FEATURES]


def catalogue() -> pd.DataFrame:
    """The catalogue as a table (logged with every model and shown to analysts)."""
    rows = [{**asdict(f), "group_zh": GROUPS[f.group]} for f in FEATURES]
    return pd.DataFrame(rows, columns=["name", "label_zh", "group", "group_zh", "meaning", "direction", "categorical"])


def _none_negative(frame: pd.DataFrame) -> pd.Series:
    """Per column: no value below zero (missing values pass). The failing columns are the
    ``False`` entries of the error's ``check_output``."""
    return pd.Series(~(frame.to_numpy(dtype=float) < 0).any(axis=0), index=frame.columns)


@functools.cache
def schema() -> pa.DataFrameSchema:
    """Every feature present, in declared order and nothing else; all float; none negative
    (counts, ages, codes); missing values allowed. Three frame-wide checks, built once: pandera's
    per-column validation cost a single-entity re-grade 10.4 ms with a check per column and
    still 3.8 ms with none; these take 0.6 ms."""
    names = feature_names()
    return pa.DataFrameSchema(
        checks=[
            pa.Check(
                lambda frame: list(frame.columns) == names, error=f"the columns must be the features, in order: {names}"
            ),
            pa.Check(lambda frame: bool((frame.dtypes == np.float64).all()), error="every feature must be float64"),
            pa.Check(_none_negative, error="a feature is negative: counts, ages and codes never are"),
        ]
    )
