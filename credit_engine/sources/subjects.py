"""Who a source row is about: an entity by its best code, or a natural person by pseudonym.

A row may carry its party's USCC, an old 15-digit registration number, a 9-digit organisation
code, a masked code, or several of these (DATA_CONTRACT defects 2-5 and 10). The best usable key
wins; old codes resolve through aliases learned from registration data and from rows that carry
both forms; a masked code resolves only when the party's name and the visible characters match
exactly one known entity. A code failing the check digit is never an entity by itself (RULES.md
§6): registration data is the authority for its own codes, and elsewhere such a code is placed on
the registered entity it names or was mistyped from, or refused until registration data can
place it. Anything else is refused with the precise reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from credit_engine.identifiers import (
    CHECK_CHAR,
    CodeKind,
    Pseudonymiser,
    classify_codes,
    classify_ids,
    mask_ids,
    masked_matches,
    one_off_codes,
)
from credit_engine.sources.batch import Rejects
from credit_engine.sources.clean import fold_name, text


class EntityDirectory(Protocol):
    """What subject resolution needs from the store (implemented in ``store.repository``)."""

    def uscc_for_aliases(self, alias_kind: str, aliases: list[str]) -> dict[str, set[str]]: ...

    def usccs_named(self, names: list[str]) -> dict[str, list[str]]: ...

    def registered_names(self, usccs: list[str]) -> dict[str, str | None]: ...


#: Flag of a row whose check-failed code was placed on the registered entity it was meant for.
CORRECTED_FLAG = "uscc_corrected"
#: Refusals of a check-failed code that registration data may yet place (``ingest.requeue``).
UNPLACED, AMBIGUOUS = "uscc_check_failed_unplaced", "uscc_check_failed_ambiguous"


ALIAS_OF_KIND = {CodeKind.REG_NO: "reg_no", CodeKind.ORG_CODE: "org_code"}


@dataclass
class Subjects:
    uscc: pd.Series  # resolved USCC or NA
    code_status: pd.Series  # CodeKind of the resolved USCC (uscc / uscc_check_failed)
    flags: pd.Series  # review flags, comma-joined, or NA
    aliases: pd.DataFrame  # alias_kind, alias, uscc learned from this file


class SubjectResolver:
    """One per file. Old codes resolve through the store as it was before the file, plus every
    alias the file has proved so far, in earlier chunks too: a file resolves the same way
    however it is cut into chunks."""

    def __init__(self, directory: EntityDirectory) -> None:
        self.directory = directory
        self._stored: dict[tuple[str, str], set[str]] = {}
        #: registered codes met so far -> their names; every code asked about
        self._registered: dict[str, str | None] = {}
        self._asked: set[str] = set()
        #: source row -> (code as written, registered code it was placed on), since ``corrections``
        self._corrections: dict[int, tuple[str, str]] = {}
        #: "kind:alias" -> the entity the file proved it names, or all of them when several
        self._proved: dict[str, str | frozenset[str]] = {}

    def resolve(
        self,
        frame: pd.DataFrame,
        rejects: Rejects,
        code_column: str,
        code_label: str,
        name_column: str | None = "party_name",
        alt_columns: tuple[str, ...] = ("reg_no", "org_code"),
        authority: bool = False,
    ) -> Subjects:
        """``authority``: the rows are registration data, whose codes are registered as written
        (a check-failed one included); elsewhere a check-failed code must be placed on a
        registered entity (``_place``) or wait in quarantine, never becoming an entity itself."""
        index = frame.index
        codes = text(frame[code_column]).fillna("")
        primary = classify_codes(codes)
        personal = is_personal_id(codes) & (primary["kind"] != CodeKind.USCC)
        rejects.add(
            personal,
            "personal_id_as_code",
            f"{code_label}: holds a natural person's identity number, not an entity code",
        )
        usable = primary["kind"].isin([CodeKind.USCC, CodeKind.USCC_CHECK_FAILED]) & ~personal
        uscc = primary["value"].where(usable).astype("string")
        flags = pd.Series(pd.NA, index=index, dtype="string")
        failed = usable & (primary["kind"] == CodeKind.USCC_CHECK_FAILED)
        outcome = pd.Series(pd.NA, index=index, dtype="string")
        if failed.any() and not authority:
            names = text(frame[name_column]) if name_column and name_column in frame else pd.Series(pd.NA, index=index)
            placed, outcome = self._place(primary.loc[failed, "value"], names[failed])
            outcome = outcome.reindex(index)
            uscc[failed] = placed
            corrected = (failed & placed.reindex(index).notna() & (uscc != primary["value"])).fillna(False)
            flags[corrected] = CORRECTED_FLAG
            self._corrections.update(
                zip(
                    index[corrected].tolist(),
                    zip(primary.loc[corrected, "value"].tolist(), uscc[corrected].tolist(), strict=True),
                    strict=True,
                )
            )

        learned = self._learn(uscc, frame, alt_columns)
        self._prove(learned)
        candidates = [(code_column, primary)] + [
            (col, classify_codes(text(frame[col]).fillna(""))) for col in alt_columns if col in frame
        ]
        for _column, checks in candidates:
            for kind, alias_kind in ALIAS_OF_KIND.items():
                todo = uscc.isna() & (checks["kind"] == kind)
                if not todo.any():
                    continue
                found = self._lookup(alias_kind, checks.loc[todo, "value"])
                hit = found.notna()
                uscc[hit[hit].index] = found[hit]
                flags[hit[hit].index] = f"resolved_from_{alias_kind}"
                ambiguous = found.isna() & checks.loc[todo, "value"].map(
                    lambda v, a=alias_kind: len(self._targets(a, v)) > 1
                )
                rejects.add(
                    ambiguous.reindex(index, fill_value=False),
                    "ambiguous_old_code",
                    f"{code_label}: the {alias_kind.replace('_', ' ')} is shared by several entities",
                )

        masked = uscc.isna() & (primary["kind"] == CodeKind.MASKED)
        if masked.any() and name_column and name_column in frame:
            found = self._resolve_masked(primary.loc[masked, "value"], text(frame.loc[masked, name_column]))
            hit = found.notna()
            uscc[hit[hit].index] = found[hit]
            flags[hit[hit].index] = "resolved_from_masked"

        self._reject_unresolved(uscc.isna(), primary, frame, code_label, rejects, outcome)
        status = classify_codes(uscc.fillna(""))["kind"].astype("string").where(uscc.notna())
        failed = (status == CodeKind.USCC_CHECK_FAILED).fillna(False)
        flags = flags.mask(failed & flags.isna(), "uscc_check_failed").mask(
            failed & flags.notna(), flags + ",uscc_check_failed"
        )
        return Subjects(uscc, status, flags, learned)

    def corrections(self) -> dict[int, tuple[str, str]]:
        """Rows placed by correction since the last call: row -> (code as written, code placed on)."""
        out, self._corrections = self._corrections, {}
        return out

    # -- check-failed codes (RULES.md §6) --------------------------------------------------------
    def _registered_among(self, codes: set[str]) -> set[str]:
        """Those of ``codes`` that registration data holds (the store is asked once per code)."""
        todo = sorted(codes - self._asked)
        if todo:
            self._registered.update(self.directory.registered_names(todo))
            self._asked.update(todo)
        return {code for code in codes if code in self._registered}

    def _place(self, codes: pd.Series, names: pd.Series) -> tuple[pd.Series, pd.Series]:
        """The registered entity each check-failed code names: the one registered under that very
        code; else the one whose code it repeats but for the check character; else one whose code
        it matches but for one other character or two swapped neighbours and whose name the row
        carries. Returns the codes placed on (NA where none or several) and, where none was
        placed, why: ``UNPLACED``, or ``AMBIGUOUS`` followed by the candidates."""
        distinct = set(codes)
        exact = self._registered_among(distinct)
        near = {c: one_off_codes(c) for c in distinct - exact}
        registered = self._registered_among({v for variants in near.values() for v in variants})
        hits = {c: [(v, variants[v]) for v in registered.intersection(variants)] for c, variants in near.items()}
        placed, why = [], []
        for code, name in zip(codes.tolist(), names.tolist(), strict=True):
            if code in exact:
                placed.append(code)
                why.append(pd.NA)
                continue
            row_name = fold_name(name)
            fits = sorted(
                v
                for v, how in hits[code]
                if how == CHECK_CHAR or (row_name and fold_name(self._registered[v]) == row_name)
            )
            placed.append(fits[0] if len(fits) == 1 else pd.NA)
            why.append(pd.NA if len(fits) == 1 else f"{AMBIGUOUS}:{', '.join(fits)}" if fits else UNPLACED)
        return (pd.Series(placed, index=codes.index, dtype="string"), pd.Series(why, index=codes.index, dtype="string"))

    # -- aliases -------------------------------------------------------------------------------
    def _learn(self, uscc: pd.Series, frame: pd.DataFrame, alt_columns: tuple[str, ...]) -> pd.DataFrame:
        """Aliases the file itself proves: every USCC embeds its organisation code; rows that
        carry a USCC beside old codes tie those codes to it (defect 10)."""
        known = uscc.dropna()
        parts = [pd.DataFrame({"alias_kind": "org_code", "alias": known.str.slice(8, 17), "uscc": known})]
        for col in alt_columns:
            if col not in frame:
                continue
            checks = classify_codes(text(frame.loc[known.index, col]).fillna(""))
            for kind, alias_kind in ALIAS_OF_KIND.items():
                hit = checks["kind"] == kind
                parts.append(
                    pd.DataFrame({"alias_kind": alias_kind, "alias": checks.loc[hit, "value"], "uscc": known[hit]})
                )
        learned = pd.concat(parts, ignore_index=True).drop_duplicates()
        return learned.astype({"alias_kind": str, "alias": str, "uscc": str})

    def _prove(self, learned: pd.DataFrame) -> None:
        """Add a chunk's aliases to the file's (one string per alias: the file's distinct codes
        can run to millions)."""
        keys = (learned["alias_kind"] + ":" + learned["alias"]).tolist()
        for key, uscc in zip(keys, learned["uscc"].tolist(), strict=True):
            known = self._proved.get(key)
            if known is None:
                self._proved[key] = uscc
            elif known != uscc:
                self._proved[key] = (known if isinstance(known, frozenset) else frozenset([known])) | {uscc}

    def _targets(self, alias_kind: str, value: str) -> set[str]:
        proved = self._proved.get(f"{alias_kind}:{value}")
        local = set() if proved is None else {proved} if isinstance(proved, str) else set(proved)
        return local | self._stored.get((alias_kind, value), set())

    def _lookup(self, alias_kind: str, values: pd.Series) -> pd.Series:
        """The single entity an old code names, from this file or the store; NA if none or several."""
        wanted = sorted(set(values))
        for value, targets in self.directory.uscc_for_aliases(alias_kind, wanted).items():
            self._stored[(alias_kind, value)] = targets

        def one(value: str) -> str | None:
            targets = self._targets(alias_kind, value)
            return next(iter(targets)) if len(targets) == 1 else None

        return values.map(one).astype("string")

    def _resolve_masked(self, codes: pd.Series, names: pd.Series) -> pd.Series:
        by_name = self.directory.usccs_named(sorted(set(names.dropna())))

        def one(code: str, name: object) -> str | None:
            if not isinstance(name, str):
                return None
            matches = [u for u in by_name.get(name, []) if masked_matches(code, u)]
            return matches[0] if len(matches) == 1 else None

        return pd.Series([one(c, n) for c, n in zip(codes, names)], index=codes.index, dtype="string")

    @staticmethod
    def _reject_unresolved(
        todo: pd.Series,
        checks: pd.DataFrame,
        frame: pd.DataFrame,
        label: str,
        rejects: Rejects,
        outcome: pd.Series,
    ) -> None:
        kind = checks["kind"]
        value = checks["value"]
        ambiguous = outcome.str.startswith(AMBIGUOUS).fillna(False)
        if ambiguous.any():
            rejects.add(
                todo & ambiguous,
                AMBIGUOUS,
                f"{label}: '"
                + value
                + "' fails the national check ("
                + checks["reason"]
                + ") and fits several registered entities ("
                + outcome.str.removeprefix(AMBIGUOUS + ":").fillna("")
                + "): never guessed",
            )
        unplaced = todo & (kind == CodeKind.USCC_CHECK_FAILED)
        if unplaced.any():
            rejects.add(
                unplaced,
                UNPLACED,
                f"{label}: '"
                + value
                + "' fails the national check ("
                + checks["reason"]
                + "), no registered entity holds it, and none it could be a typo of (one character, or two"
                " neighbours swapped, with the row's name) is registered: it waits for registration data",
            )
        rejects.add(
            todo & (kind == CodeKind.EMPTY), "missing_code", f"{label}: empty, and the row names no other usable code"
        )
        rejects.add(
            todo & (kind == CodeKind.PLACEHOLDER),
            "placeholder_code",
            f"{label}: '"
            + value
            + "' is a placeholder ("
            + checks["reason"]
            + "), and the row names no other usable code",
        )
        rejects.add(
            todo & (kind == CodeKind.MASKED),
            "masked_unresolved",
            f"{label}: masked code '" + value + "' matches no single known entity of that name",
        )
        for k, alias_kind in ALIAS_OF_KIND.items():
            rejects.add(
                todo & (kind == k),
                f"unknown_{alias_kind}",
                f"{label}: '" + value + f"' is a {alias_kind.replace('_', ' ')} that matches no known entity",
            )
        rejects.add(
            todo & (kind == CodeKind.INVALID),
            "invalid_code",
            f"{label}: '" + value + "' is not a valid code (" + checks["reason"] + ")",
        )
        rejects.add(todo, "unresolved_subject", f"{label}: no usable code")


def is_personal_id(values: pd.Series, masked: bool = False) -> pd.Series:
    """18-character resident IDs with a correct check digit (and, with ``masked``, masked values
    with only digits visible, which a masked all-digit USCC also looks like). Narrow on purpose:
    a 15-digit old registration number has the shape of a first-generation ID, and placeholders
    the shape of IDs with a bad check digit."""
    personal = pd.Series(False, index=values.index)
    shaped = values.str.fullmatch(r"[\d*]{17}[\dXx*]").fillna(False)  # only these can be IDs
    if not shaped.any():
        return personal
    candidates = values[shaped]
    kinds = classify_ids(candidates)["kind"]
    found = kinds.isin(["valid", "unknown_region"])
    if masked:
        found |= (kinds == "masked") & candidates.str.replace("*", "", regex=False).str.fullmatch(r"\d*[Xx]?").fillna(
            False
        )
    personal[candidates.index] = found.to_numpy(dtype=bool)
    return personal


@dataclass
class People:
    key: pd.Series  # pseudonym or NA
    masked: pd.Series  # display form of the ID, or NA
    checks: pd.DataFrame  # identifiers.classify_ids output
    persons: pd.DataFrame  # rows for the person table, one per source row (filter, then dedupe)


def people(ids: pd.Series, names: pd.Series, pseudonymiser: Pseudonymiser, keep_encrypted: bool) -> People:
    """Pseudonymise identity numbers; the raw number never leaves this function except encrypted."""
    checks = classify_ids(text(ids).fillna(""))
    usable = checks["kind"].isin(["valid", "unknown_region", "old15"])
    key = pd.Series(pd.NA, index=ids.index, dtype="string")
    if usable.any():
        numbers = checks.loc[usable, "value"]
        distinct = numbers.drop_duplicates()
        key[usable] = numbers.map(dict(zip(distinct, pseudonymiser.keys(distinct))))
    masked = mask_ids(checks["value"]).where(checks["kind"] != "empty").astype("string")
    persons = pd.DataFrame(
        {
            "pseudonym": key[usable],
            "masked_id": masked[usable],
            "id_status": checks.loc[usable, "kind"].astype(str),
            "name": text(names)[usable],
            "birth_date": checks.loc[usable, "birth_date"],
            "male": checks.loc[usable, "male"],
            "encrypted_id": (
                checks.loc[usable, "value"].map(pseudonymiser.encrypt)
                if keep_encrypted
                else pd.Series(pd.NA, index=key[usable].index)
            ),
        }
    )
    return People(key, masked, checks, persons)
