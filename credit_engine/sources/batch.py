"""What a source transform hands to the store: canonical frames plus the rows it refused."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa

FACT_COLUMNS = (
    "fact_key",
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
    "raw_json",
    "content_hash",
    "rule_set_id",
    "source_row",
)
ENTITY_COLUMNS = (
    "uscc",
    "code_status",
    "entity_type",
    "region_code",
    "name",
    "market_type",
    "legal_rep_name",
    "registered_capital_yuan",
    "established_on",
    "industry_code",
    "address",
    "authority",
    "reg_status",
    "approved_on",
    "business_scope",
    "registered",
)
PERSON_COLUMNS = ("pseudonym", "masked_id", "id_status", "name", "birth_date", "male", "encrypted_id")
ALIAS_COLUMNS = ("alias_kind", "alias", "uscc")

#: The schema every transform's facts must meet before they reach the store.
FACT_SCHEMA = pa.DataFrameSchema(
    {
        "fact_key": pa.Column(str, unique=True),
        "kind": pa.Column(
            str,
            pa.Check.isin(
                [
                    "penalty",
                    "license",
                    "abnormal",
                    "serious",
                    "court",
                    "registration",
                    "role",
                    "tax",
                    "inspection",
                    "commitment",
                    "complaint",
                    "person_bar",
                ]
            ),
        ),
        "subject_uscc": pa.Column(str, pa.Check.str_length(18, 18), nullable=True),
        "person_key": pa.Column(str, pa.Check.str_length(32, 32), nullable=True),
        "event_date": pa.Column("datetime64[s]", nullable=True),
        "end_date": pa.Column("datetime64[s]", nullable=True),
        "publicity_end": pa.Column("datetime64[s]", nullable=True),
        "amount_yuan": pa.Column(float, pa.Check.ge(0), nullable=True),
        "severity": pa.Column(str, pa.Check.isin(["minor", "general", "serious"]), nullable=True),
        "content_hash": pa.Column(str, pa.Check.str_length(16, 16)),
        "source_row": pa.Column(int, pa.Check.ge(1)),
    },
    checks=pa.Check(
        lambda df: df["subject_uscc"].notna() | df["person_key"].notna() | df["person_masked_id"].notna(),
        error="every fact needs a subject: an entity, a person or an unresolved masked person",
    ),
    coerce=False,
)


@dataclass
class Batch:
    facts: pd.DataFrame
    quarantine: pd.DataFrame  # index: row number; columns reason_code, reason
    entities: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ENTITY_COLUMNS)))
    persons: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(PERSON_COLUMNS)))
    aliases: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ALIAS_COLUMNS)))
    #: rows whose check-failed code was placed on a registered entity: row -> (as written, placed on)
    corrections: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: person rows kept by name and masked number, their identity number invalid or missing
    persons_unverified: int = 0


class Rejects:
    """Collects the first reason each row is refused; later reasons for the same row are ignored."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []
        self._rows: set[int] = set()

    def add(self, mask: pd.Series, code: str, reasons: pd.Series | str) -> None:
        rows = mask[mask.fillna(False).astype(bool)].index.difference(pd.Index(list(self._rows)))
        if rows.empty:
            return
        reason = reasons if isinstance(reasons, str) else reasons.reindex(rows).astype(str)
        part = pd.DataFrame({"reason_code": code, "reason": reason}, index=rows)
        self._parts.append(part)
        self._rows.update(rows.tolist())

    def keep(self, index: pd.Index) -> pd.Index:
        return index.difference(pd.Index(list(self._rows)), sort=False)

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame({"reason_code": pd.Series(dtype=str), "reason": pd.Series(dtype=str)})
        return pd.concat(self._parts).sort_index()
