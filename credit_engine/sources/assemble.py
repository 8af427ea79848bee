"""Turn cleaned columns into rows of the fact table, with their evidence and a content hash."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_engine.identifiers import Pseudonymiser, mask_ids_in_frame
from credit_engine.sources import jsontext
from credit_engine.sources.batch import FACT_COLUMNS
from credit_engine.sources.subjects import SubjectResolver

#: What makes two versions of a fact different; evidence (raw row, row number) does not.
HASHED = (
    "kind",
    "subject_uscc",
    "person_key",
    "person_masked_id",
    "person_name",
    "event_date",
    "end_date",
    "publicity_end",
    "published",
    "severity",
    "amount_yuan",
    "document_no",
    "authority",
    "category",
    "status",
    "flags",
    "detail_json",
)


#: Fact columns of free text (a 文号 or a name may hold a person's ID, and the key is built from
#: the 文号): masked as the ID columns are, before the content hash.
FREE_TEXT = frozenset({"fact_key", "document_no", "authority", "category", "person_name"})


@dataclass
class Source:
    """One file's rows: canonical columns, the raw cells as written, and header spellings."""

    frame: pd.DataFrame
    raw: pd.DataFrame
    labels: dict[str, str]  # canonical column -> header cell as written in the file

    def label(self, column: str) -> str:
        return self.labels.get(column, column)


@dataclass
class Context:
    resolver: SubjectResolver
    pseudonymiser: Pseudonymiser
    keep_encrypted_ids: bool


def content_hash(facts: pd.DataFrame) -> pd.Series:
    hashed = pd.util.hash_pandas_object(facts[list(HASHED)], index=False).to_numpy(dtype=np.uint64)
    return pd.Series(np.char.mod("%016x", hashed), index=facts.index, dtype="string")


def assemble(
    kind: str,
    source: Source,
    rows: pd.Index,
    columns: dict[str, object],
    detail: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Fact rows for ``rows``: given columns, defaults for the rest, detail and raw JSON, hash;
    identity numbers in free text, the detail and the key masked (``source.raw`` already is).

    ``rows`` are source row numbers; one may repeat when a row yields several facts, and then
    the columns given for it must already be aligned on ``rows``.
    """
    facts = pd.DataFrame(index=rows)
    for col in FACT_COLUMNS:
        facts[col] = _aligned(columns.get(col), rows)
    facts["kind"] = kind
    facts["status"] = _aligned(columns.get("status", "active"), rows)
    for col in ("event_date", "end_date", "publicity_end"):
        facts[col] = pd.to_datetime(facts[col]).astype("datetime64[s]")
    for col in (
        "fact_key",
        "subject_uscc",
        "person_key",
        "person_masked_id",
        "person_name",
        "severity",
        "document_no",
        "authority",
        "category",
        "flags",
        "rule_set_id",
    ):
        facts[col] = facts[col].astype("string")
    facts = mask_ids_in_frame(facts, keep=set(facts.columns) - FREE_TEXT)
    facts["amount_yuan"] = facts["amount_yuan"].astype("float64")
    facts["published"] = facts["published"].astype("boolean")
    facts["detail_json"] = jsontext.objects(mask_ids_in_frame(_aligned(detail, rows))) if detail is not None else pd.NA
    facts["detail_json"] = facts["detail_json"].astype("string")
    facts["raw_json"] = jsontext.arrays(source.raw.loc[rows])
    facts["source_row"] = rows.to_numpy(dtype="int64")
    facts["content_hash"] = content_hash(facts)
    return facts


def _aligned(value: object, rows: pd.Index) -> object:
    if isinstance(value, (pd.Series, pd.DataFrame)):
        if value.index.equals(rows):
            return value.set_axis(rows) if isinstance(value, pd.DataFrame) else value.to_numpy()
        return value.reindex(rows)
    return value
