"""Identifiers: unified social credit codes (GB 32100-2015) and resident IDs (GB 11643).

Real exports mix lower-case, spaced, masked, placeholder and legacy codes in one column
(RULES.md §6, DATA_CONTRACT defects 1-5). Every value is classified with a precise reason so
that nothing is silently dropped; only USCC-shaped codes and valid IDs may become keys, and a
person's identity number is only ever used as a key through a keyed pseudonym.

Check digits come from python-stdnum. Its gaps are covered here: it rejects USCCs whose first
two characters are letters (GB 32100 allows them), it raises ``KeyError`` for an unknown county
inside a known province, and it accepts impossible birth years; the vectorised paths exist
because ingestion classifies millions of values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache

import numpy as np
import pandas as pd
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidComponent

#: GB 32100 character set: digits and capitals without I, O, S, V, Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK_CHARS = "10X98765432"
_DIGITS = frozenset("0123456789")
_UPPER_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: Birth years before this are typing errors or placeholders, not people holding an ID card.
EARLIEST_BIRTH_YEAR = 1850

_AL = "0-9A-HJ-NP-RTUWXY"
_USCC_RE = f"[{_AL}]{{2}}[0-9]{{6}}[{_AL}]{{10}}"
_ID18_RE = "[0-9]{17}[0-9X]"
_PLAIN_RE = "[0-9A-Za-z*]+"

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space fold to ASCII; hyphen-like marks and
# zero-width characters are dropped (whitespace is removed separately).
_TRANSLATION: dict[int, int | None] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_TRANSLATION |= {0x3000: 0x20}
_TRANSLATION |= dict.fromkeys(map(ord, "-\u2010\u2011\u2012\u2013\u2014\u2212\uff0d"))
_TRANSLATION |= dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


def normalise_code(raw: str | None) -> str:
    """Upper case, without spaces or hyphens, full-width characters folded; "" for missing."""
    if raw is None or (not isinstance(raw, str) and pd.api.types.is_scalar(raw) and pd.isna(raw)):
        return ""
    return "".join(str(raw).translate(_TRANSLATION).split()).upper()


def _normalise_series(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalise_code`: plain ASCII values take the fast path."""
    text = values.astype("str")
    plain = text.str.fullmatch(_PLAIN_RE).to_numpy(dtype=bool)
    out = text.str.upper().to_numpy(dtype=object, na_value="")
    odd = np.flatnonzero(~plain & text.notna().to_numpy())
    out[odd] = [normalise_code(v) for v in text.to_numpy(dtype=object)[odd]]
    return pd.Series(out, index=values.index, dtype="str")


def _char_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """ASCII strings of one length as an (n, width) uint8 matrix, for numpy arithmetic."""
    buffer = "".join(values.tolist()).encode("ascii")
    return np.frombuffer(buffer, dtype=np.uint8).reshape(-1, width)


def _lookup(alphabet: str) -> np.ndarray:
    """Byte → position in *alphabet* (-1 elsewhere)."""
    table = np.full(256, -1, dtype=np.int64)
    table[np.frombuffer(alphabet.encode(), dtype=np.uint8)] = np.arange(len(alphabet))
    return table


_USCC_LOOKUP = _lookup(USCC_ALPHABET)
_USCC_BYTES = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
_ID_CHECK_BYTES = np.frombuffer(_ID_CHECK_CHARS.encode(), dtype=np.uint8)


def _check_reason(got: str, expected: str) -> str:
    return f"check digit is '{got}', expected '{expected}'"


def masked_matches(masked: str, full: str) -> bool:
    """Whether *full* fits *masked*: same length, every visible character equal.

    Used to resolve a masked ID or USCC against known full ones; a *full* value that is itself
    masked never matches, since two masks cannot confirm each other.
    """
    pattern, candidate = normalise_code(masked), normalise_code(full)
    if len(pattern) != len(candidate) or "*" in candidate:
        return False
    return all(p in ("*", c) for p, c in zip(pattern, candidate))


# --------------------------------------------------------------------------------------------
# Unified social credit codes
# --------------------------------------------------------------------------------------------


class CodeKind(StrEnum):
    USCC = "uscc"
    USCC_CHECK_FAILED = "uscc_check_failed"
    REG_NO = "reg_no"
    ORG_CODE = "org_code"
    MASKED = "masked"
    PLACEHOLDER = "placeholder"
    INVALID = "invalid"
    EMPTY = "empty"


_CODE_KINDS = list(CodeKind)
_CODE_INDEX = {kind: i for i, kind in enumerate(_CODE_KINDS)}
_USCC_OK = "well-formed USCC, check digit correct"
_REG_NO = "15-digit registration number"
_ORG_CODE = "9-character organisation code (GB 11714)"
_EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """Outcome of classifying one value from a USCC column."""

    kind: CodeKind
    value: str
    reason: str

    @property
    def usable_as_key(self) -> bool:
        """Check-failed codes stay keys: legal pilot codes fail the check (flagged, not dropped)."""
        return self.kind in (CodeKind.USCC, CodeKind.USCC_CHECK_FAILED)


def uscc_check_digit(first17: str) -> str:
    """GB 32100 check character for the first 17 characters (letters allowed anywhere but 3-8)."""
    body = normalise_code(first17)
    problem = _uscc_format_problem(body + "0") if len(body) == 17 else f"length {len(body)}"
    if problem:
        raise ValueError(f"not the first 17 characters of a USCC: {problem}")
    return uscc.calc_check_digit(body)


def _uscc_format_problem(value: str) -> str:
    """Why an 18-character value is not USCC-shaped ("" when it is)."""
    for position, char in enumerate(value, start=1):
        if 3 <= position <= 8 and char not in _DIGITS:
            return f"character '{char}' at position {position} must be a digit (region code)"
        if char not in USCC_ALPHABET:
            return f"character '{char}' at position {position} is not in the USCC alphabet"
    return ""


def _is_digit_run(body: str, step: int) -> bool:
    digits = [int(c) for c in body if c in _DIGITS]
    return len(digits) == len(body) and all((b - a) % 10 == step % 10 for a, b in zip(digits, digits[1:]))


def _placeholder_reason(value: str) -> str:
    """Why a 9/15/18-character code is a placeholder ("" when it is not); the check char is ignored."""
    body = value[:-1]
    if len(set(body)) == 1:
        return "placeholder: one repeated character"
    if _is_digit_run(body, 1):
        return "placeholder: ascending digit run"
    if _is_digit_run(body, -1):
        return "placeholder: descending digit run"
    if len(value) == 18 and value.startswith("0" * 8):
        return "placeholder: first 8 characters are zero"
    return ""


def _classify_uscc_shaped(value: str) -> CodeCheck:
    problem = _uscc_format_problem(value)
    if problem:
        return CodeCheck(CodeKind.INVALID, value, problem)
    placeholder = _placeholder_reason(value)
    if placeholder:
        return CodeCheck(CodeKind.PLACEHOLDER, value, placeholder)
    expected = uscc.calc_check_digit(value[:17])
    if value[17] != expected:
        return CodeCheck(CodeKind.USCC_CHECK_FAILED, value, _check_reason(value[17], expected))
    return CodeCheck(CodeKind.USCC, value, _USCC_OK)


def _classify_legacy(value: str) -> CodeCheck:
    """15-digit registration numbers and 9-character organisation codes."""
    if len(value) == 15:
        kind, shaped, wanted = CodeKind.REG_NO, set(value) <= _DIGITS, _REG_NO
    else:
        kind, shaped = CodeKind.ORG_CODE, set(value[:8]) <= _UPPER_ALNUM and value[8] in "0123456789X"
        wanted = _ORG_CODE
    if not shaped:
        return CodeCheck(CodeKind.INVALID, value, f"{len(value)} characters but not a {wanted}")
    placeholder = _placeholder_reason(value)
    if placeholder:
        return CodeCheck(CodeKind.PLACEHOLDER, value, placeholder)
    return CodeCheck(kind, value, wanted)


def _masked_reason(value: str, lengths: tuple[int, ...], visible: frozenset[str]) -> str:
    """Reason for a value containing '*': "masked: …" when plausible, else why it is invalid."""
    if len(value) not in lengths:
        return f"masked value of length {len(value)}, expected {' or '.join(map(str, lengths))}"
    odd = sorted(set(value) - visible - {"*"})
    if odd:
        return f"masked value contains unexpected characters {''.join(odd)!r}"
    return f"masked: {value.count('*')} of {len(value)} characters hidden"


def _classify_normalised_code(value: str) -> CodeCheck:
    if not value:
        return CodeCheck(CodeKind.EMPTY, "", _EMPTY)
    if "*" in value:
        reason = _masked_reason(value, (18, 15, 9), _UPPER_ALNUM)
        return CodeCheck(CodeKind.MASKED if reason.startswith("masked:") else CodeKind.INVALID, value, reason)
    if len(value) == 18:
        return _classify_uscc_shaped(value)
    if len(value) in (15, 9):
        return _classify_legacy(value)
    reason = f"length {len(value)}, expected 18 (USCC), 15 (registration number) or 9 (organisation code)"
    return CodeCheck(CodeKind.INVALID, value, reason)


def classify_code(raw: str | None) -> CodeCheck:
    """Classify one value found in a USCC column."""
    return _classify_normalised_code(normalise_code(raw))


def _placeholders(chars: np.ndarray) -> np.ndarray:
    """Vectorised :func:`_placeholder_reason` != "" for rows of one length (18, 15 or 9)."""
    body = chars[:, :-1].astype(np.int16)
    repeated = (body == body[:, :1]).all(axis=1)
    digits = body - ord("0")
    all_digits = ((digits >= 0) & (digits <= 9)).all(axis=1)
    steps = np.diff(digits, axis=1) % 10
    runs = all_digits & ((steps == 1).all(axis=1) | (steps == 9).all(axis=1))
    zeros = (chars[:, :8] == ord("0")).all(axis=1) if chars.shape[1] == 18 else False
    return repeated | runs | zeros


#: Regular legacy codes settled by numpy: pattern, kind, length, reason (``_classify_legacy``).
_LEGACY = (("[0-9]{15}", CodeKind.REG_NO, 15, _REG_NO), ("[0-9A-Z]{8}[0-9X]", CodeKind.ORG_CODE, 9, _ORG_CODE))


def classify_codes(values: pd.Series) -> pd.DataFrame:
    """Vectorised :func:`classify_code`: columns kind, value, reason; index preserved.

    Well-formed USCCs are checked with numpy; only unusual values take the scalar path.
    """
    normalised = _normalise_series(values)
    norm = normalised.to_numpy(dtype=object)
    kinds = np.full(len(norm), -1, dtype=np.int8)
    reasons = np.empty(len(norm), dtype=object)
    rows = np.flatnonzero(normalised.str.fullmatch(_USCC_RE).to_numpy(dtype=bool))
    chars = _char_matrix(norm[rows], 18)
    positions = _USCC_LOOKUP[chars]
    expected = (31 - (positions[:, :17] @ _USCC_WEIGHTS) % 31) % 31
    regular = ~_placeholders(chars)
    good = regular & (positions[:, 17] == expected)
    kinds[rows[good]], reasons[rows[good]] = _CODE_INDEX[CodeKind.USCC], _USCC_OK
    failed = regular & ~good
    kinds[rows[failed]] = _CODE_INDEX[CodeKind.USCC_CHECK_FAILED]
    reasons[rows[failed]] = [
        _check_reason(chr(got), chr(want)) for got, want in zip(chars[failed, 17], _USCC_BYTES[expected[failed]])
    ]
    for pattern, kind, width, reason in _LEGACY:
        rows = np.flatnonzero((kinds < 0) & normalised.str.fullmatch(pattern).to_numpy(dtype=bool))
        regular = rows[~_placeholders(_char_matrix(norm[rows], width))]
        kinds[regular], reasons[regular] = _CODE_INDEX[kind], reason
    empty = (kinds < 0) & (normalised == "").to_numpy(dtype=bool)
    kinds[empty], reasons[empty] = _CODE_INDEX[CodeKind.EMPTY], _classify_normalised_code("").reason
    unusual = np.flatnonzero(kinds < 0)
    checks = {v: _classify_normalised_code(v) for v in dict.fromkeys(norm[unusual])}  # once per distinct value
    for i in unusual:
        check = checks[norm[i]]
        kinds[i], reasons[i] = _CODE_INDEX[check.kind], check.reason
    return pd.DataFrame(
        {
            "kind": pd.Categorical.from_codes(kinds, categories=[k.value for k in _CODE_KINDS]),
            "value": normalised,
            "reason": pd.array(reasons, dtype="str"),
        },
        index=values.index,
    )


#: How a code one typing error away from another differs from it (``one_off_codes``).
CHECK_CHAR, OTHER_CHAR, TRANSPOSED = "check_character", "other_character", "transposed"


def one_off_codes(code: str) -> dict[str, str]:
    """Every USCC-shaped code one typing error away from ``code``: one character replaced (the
    check character: ``CHECK_CHAR``; any other: ``OTHER_CHAR``) or two neighbours swapped
    (``TRANSPOSED``). The candidates a check-failed code may have been meant as (RULES.md §6);
    digits stay digits in the region code, so every candidate is USCC-shaped."""
    value = normalise_code(code)
    out: dict[str, str] = {}
    for i, char in enumerate(value):
        for other in "0123456789" if 2 <= i <= 7 else USCC_ALPHABET:
            if other != char:
                out.setdefault(value[:i] + other + value[i + 1 :], CHECK_CHAR if i == 17 else OTHER_CHAR)
    for i in range(len(value) - 1):
        swapped = value[:i] + value[i + 1] + value[i] + value[i + 2 :]
        if swapped != value and not _uscc_format_problem(swapped):
            out.setdefault(swapped, TRANSPOSED)
    return out


def check_note(code: str) -> str | None:
    """What a reader of a registered entity must be told when its own code fails the national
    check (an early pilot code, RULES.md §6); None for a code that passes."""
    check = classify_code(code)
    if check.kind is not CodeKind.USCC_CHECK_FAILED:
        return None
    return (
        f"this code fails the national check of GB 32100-2015 ({check.reason}); it is the code the "
        "registration data holds for this entity (early pilot codes are legal)"
    )


def _require_uscc_shape(code: str) -> str:
    value = normalise_code(code)
    problem = _uscc_format_problem(value) if len(value) == 18 else f"length {len(value)}, expected 18"
    if problem:
        raise ValueError(f"not a USCC: {problem}")
    return value


def org_code_of(uscc_code: str) -> str:
    """The embedded GB 11714 organisation code (characters 9-17)."""
    return _require_uscc_shape(uscc_code)[8:17]


def region_of(uscc_code: str) -> str:
    """The registration region code (characters 3-8)."""
    return _require_uscc_shape(uscc_code)[2:8]


_ENTITY_TYPES = {
    "91": "enterprise",
    "92": "individual_business",
    "93": "cooperative",
    "11": "government",
    "12": "public_institution",
}


def entity_type_of(uscc_code: str) -> str:
    """Entity type from the registration department and type characters (GB 32100 prefixes)."""
    return _type_of_prefix(_require_uscc_shape(uscc_code)[:2])


def entity_types(usccs: pd.Series) -> pd.Series:
    """Vectorised :func:`entity_type_of` for codes already classified as USCC-shaped."""
    prefixes = usccs.str.slice(0, 2)
    return prefixes.map({p: _type_of_prefix(p) for p in prefixes.dropna().unique()}).astype("string")


def _type_of_prefix(prefix: str) -> str:
    if prefix[0] == "5":
        return "social_organisation"
    return _ENTITY_TYPES.get(prefix, "other")


# --------------------------------------------------------------------------------------------
# Resident identity numbers
# --------------------------------------------------------------------------------------------


class IdKind(StrEnum):
    VALID = "valid"
    UNKNOWN_REGION = "unknown_region"
    OLD15 = "old15"
    BAD_CHECK = "bad_check"
    MASKED = "masked"
    INVALID = "invalid"
    EMPTY = "empty"


_ID_KINDS = list(IdKind)
_ID_INDEX = {kind: i for i, kind in enumerate(_ID_KINDS)}
_ID_KEY_KINDS = (IdKind.VALID, IdKind.UNKNOWN_REGION, IdKind.OLD15)
_ID_OK = "valid: birth date, check digit and region code correct"


@dataclass(frozen=True, slots=True)
class IdCheck:
    """Outcome of classifying one resident identity number (reasons never repeat the number)."""

    kind: IdKind
    value: str
    reason: str
    birth_date: date | None
    male: bool | None

    @property
    def usable_as_key(self) -> bool:
        return self.kind in _ID_KEY_KINDS


def _unknown_region_reason(region: str, year: int) -> str:
    return f"region code {region} is not known to python-stdnum for birth year {year}"


def _stdnum_knows_region(id18: str) -> bool:
    """stdnum's region check; it raises KeyError for an unknown county in a known province."""
    try:
        ric.get_birth_place(id18)
    except (InvalidComponent, KeyError):
        return False
    return True


def _not_a_date_reason(id18: str) -> str:
    return f"birth date {id18[6:14]} is not a calendar date"


def _early_reason(year: int) -> str:
    return f"birth year {year} is before {EARLIEST_BIRTH_YEAR}"


def _future_reason(born: str) -> str:
    return f"birth date {born} is in the future"


def _birth_problem(id18: str, today: date) -> str:
    """Why digits 7-14 are not a plausible birth date ("" when they are)."""
    try:
        born = ric.get_birth_date(id18)
    except InvalidComponent:
        return _not_a_date_reason(id18)
    if born.year < EARLIEST_BIRTH_YEAR:
        return _early_reason(born.year)
    if born > today:
        return _future_reason(born.isoformat())
    return ""


def _id_check(kind: IdKind, id18: str, reason: str) -> IdCheck:
    return IdCheck(kind, id18, reason, ric.get_birth_date(id18), int(id18[16]) % 2 == 1)


def _to_id18(id15: str) -> str:
    """First-generation IDs omit the century (always 19) and the check digit."""
    body = id15[:6] + "19" + id15[6:]
    return body + ric.calc_check_digit(body + "0")


def _classify_id15(value: str, today: date) -> IdCheck:
    if not set(value) <= _DIGITS:
        return IdCheck(IdKind.INVALID, value, "15-character ID must be all digits", None, None)
    id18 = _to_id18(value)
    problem = _birth_problem(id18, today)
    if problem:
        return IdCheck(IdKind.INVALID, value, problem, None, None)
    reason = "15-digit first-generation ID, converted to 18 digits"
    if not _stdnum_knows_region(id18):
        reason += "; " + _unknown_region_reason(id18[:6], int(id18[6:10]))
    return _id_check(IdKind.OLD15, id18, reason)


def _classify_id18(value: str, today: date) -> IdCheck:
    if re.fullmatch(_ID18_RE, value) is None:
        return IdCheck(IdKind.INVALID, value, "18-character ID must be 17 digits then a digit or X", None, None)
    problem = _birth_problem(value, today)
    if problem:
        return IdCheck(IdKind.INVALID, value, problem, None, None)
    expected = ric.calc_check_digit(value)
    if value[17] != expected:
        return IdCheck(IdKind.BAD_CHECK, value, _check_reason(value[17], expected), None, None)
    if not _stdnum_knows_region(value):
        return _id_check(IdKind.UNKNOWN_REGION, value, _unknown_region_reason(value[:6], int(value[6:10])))
    return _id_check(IdKind.VALID, value, _ID_OK)


def _classify_normalised_id(value: str, today: date) -> IdCheck:
    if not value:
        return IdCheck(IdKind.EMPTY, "", _EMPTY, None, None)
    if "*" in value:
        reason = _masked_reason(value, (18, 15), _DIGITS | {"X"})
        kind = IdKind.MASKED if reason.startswith("masked:") else IdKind.INVALID
        return IdCheck(kind, value, reason, None, None)
    if len(value) == 15:
        return _classify_id15(value, today)
    if len(value) == 18:
        return _classify_id18(value, today)
    return IdCheck(IdKind.INVALID, value, f"length {len(value)}, expected 18 or 15", None, None)


def classify_id(raw: str | None) -> IdCheck:
    """Classify one resident identity number (GB 11643), converting 15-digit IDs to 18 digits."""
    return _classify_normalised_id(normalise_code(raw), date.today())


@cache
def _region_years(region: str) -> tuple[tuple[int, int], ...] | None:
    """Birth years for which stdnum accepts *region*: None = every year, () = none.

    Mirrors ``stdnum.cn.ric.get_birth_place`` so the vectorised path can test millions of rows
    (a test checks the two agree for every region in stdnum's data).
    """
    info = {k: v for _, props in numdb.get("cn/loc").info(region) for k, v in props.items()}
    spans = []
    for county in info.get("county", "").split(",") if "county" in info else ():
        if not county.startswith("["):
            return None
        start, end = county[1:].split("]")[0].split("-")
        spans.append((int(start or 0), int(end or 9999)))
    return tuple(spans)


def _regions_known(regions: np.ndarray, years: np.ndarray) -> np.ndarray:
    unique, inverse = np.unique(regions, return_inverse=True)
    spans = [_region_years(f"{r:06d}") for r in unique.tolist()]
    width = max([len(s) for s in spans if s] + [1])
    starts = np.full((len(unique), width), 1, dtype=np.int64)
    ends = np.zeros((len(unique), width), dtype=np.int64)
    for i, span in enumerate(spans):
        for j, (start, end) in enumerate(span or ()):
            starts[i, j], ends[i, j] = start, end
    any_year = np.array([s is None for s in spans], dtype=bool)
    year = years[:, None]
    in_span = ((starts[inverse] <= year) & (year <= ends[inverse])).any(axis=1)
    return any_year[inverse] | in_span


def _birth_dates(digits: np.ndarray, today: date) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Birth dates (datetime64[D]), their years, whether each is a calendar date, and whether
    it is also plausible (see ``_birth_problem``)."""
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month - 1, 0, 11)]
    valid = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days + (leap & (month == 2)))
    months = ((year - 1970) * 12 + np.clip(month - 1, 0, 11)).astype("datetime64[M]")
    born = months.astype("datetime64[D]") + np.clip(day - 1, 0, 30).astype("timedelta64[D]")
    plausible = valid & (year >= EARLIEST_BIRTH_YEAR) & (born <= np.datetime64(today, "D"))
    return born, year, valid, plausible


def _id18_verdicts(ids: np.ndarray, today: date) -> tuple[np.ndarray, ...]:
    """Numpy verdicts for values shaped like 18-character IDs, in the scalar path's order:
    birth date (``_birth_problem``), check digit, region. Returns kind codes, reasons, birth
    dates and sex (meaningful where the kind is usable)."""
    chars = _char_matrix(ids, 18)
    digits = chars.astype(np.int64) - ord("0")
    dates, year, valid, plausible = _birth_dates(digits, today)
    expected = _ID_CHECK_BYTES[(digits[:, :17] @ _ID_WEIGHTS) % 11]
    good = plausible & (expected == chars[:, 17])
    codes = np.full(len(ids), _ID_INDEX[IdKind.INVALID], dtype=np.int8)
    reasons = np.empty(len(ids), dtype=object)
    reasons[~valid] = [_not_a_date_reason(v) for v in ids[~valid]]
    early = valid & (year < EARLIEST_BIRTH_YEAR)
    reasons[early] = [_early_reason(y) for y in year[early].tolist()]
    future = valid & ~early & ~plausible
    reasons[future] = [_future_reason(d) for d in dates[future].astype(str).tolist()]
    wrong = plausible & ~good
    codes[wrong] = _ID_INDEX[IdKind.BAD_CHECK]
    reasons[wrong] = [_check_reason(chr(got), chr(want)) for got, want in zip(chars[wrong, 17], expected[wrong])]
    regions = digits[good, :6] @ np.array([100000, 10000, 1000, 100, 10, 1])
    known = _regions_known(regions, year[good])
    codes[good] = np.where(known, _ID_INDEX[IdKind.VALID], _ID_INDEX[IdKind.UNKNOWN_REGION])
    reasons[good] = [
        _ID_OK if k else _unknown_region_reason(f"{r:06d}", y)
        for k, r, y in zip(known.tolist(), regions.tolist(), year[good].tolist())
    ]
    return codes, reasons, dates, digits[:, 16] % 2 == 1


def classify_ids(values: pd.Series) -> pd.DataFrame:
    """Vectorised :func:`classify_id`: columns kind, value, reason, birth_date, male."""
    today = date.today()
    normalised = _normalise_series(values)
    norm = normalised.to_numpy(dtype=object)
    out = norm.copy()
    kinds = np.full(len(norm), -1, dtype=np.int8)
    reasons = np.empty(len(norm), dtype=object)
    born = np.full(len(norm), np.datetime64("NaT"), dtype="datetime64[D]")
    male = np.zeros(len(norm), dtype=bool)
    rows = np.flatnonzero(normalised.str.fullmatch(_ID18_RE).to_numpy(dtype=bool))
    kinds[rows], reasons[rows], dates, males = _id18_verdicts(norm[rows], today)
    usable = np.isin(kinds[rows], [_ID_INDEX[k] for k in _ID_KEY_KINDS])
    born[rows[usable]], male[rows[usable]] = dates[usable], males[usable]
    for i in np.flatnonzero(kinds < 0):
        check = _classify_normalised_id(norm[i], today)
        kinds[i], reasons[i], out[i] = _ID_INDEX[check.kind], check.reason, check.value
        if check.birth_date is not None:
            born[i], male[i] = np.datetime64(check.birth_date, "D"), check.male
    usable = np.isin(kinds, [_ID_INDEX[k] for k in _ID_KEY_KINDS])
    return pd.DataFrame(
        {
            "kind": pd.Categorical.from_codes(kinds, categories=[k.value for k in _ID_KINDS]),
            "value": pd.array(out, dtype="str"),
            "reason": pd.array(reasons, dtype="str"),
            "birth_date": born.astype("datetime64[s]"),
            "male": pd.arrays.BooleanArray(male, ~usable),
        },
        index=values.index,
    )


# --------------------------------------------------------------------------------------------
# Display masking and pseudonyms
# --------------------------------------------------------------------------------------------


def mask_id(value: str) -> str:
    """Mask an ID for display, hiding the month and day of birth as public portals do.

    18 characters: first 10, "****", last 4 (``3423011964****3224``); 15 characters: first 8,
    "****", last 3 (the same information). Already-masked input is returned normalised; any
    other value is masked entirely, so the full number is never returned.
    """
    v = normalise_code(value)
    if "*" in v:
        return v
    if len(v) == 18:
        return v[:10] + "****" + v[14:]
    if len(v) == 15:
        return v[:8] + "****" + v[12:]
    return "*" * len(v)


#: Characters that may stand between the digits of an identity number written in free text:
#: spaces of every width (no-break, ideographic, thin...), zero-width marks, hyphens and dashes,
#: dots and slashes (``230102.19850715.4322``, ``230102/1985/0715/4322``).
_ID_SEPARATORS = (
    " \t\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
    "\\-\u2010-\u2015\u2212\ufe63\uff0d._/\\\\\u00b7\u2027\u30fb\uff0e\uff0f\uff3c"
)
_ID_DIGIT = "0-9\uff10-\uff19"
_ID_CHECK_X = "Xx\uff38\uff58\u00d7"
#: A run of digits, up to three separators between two of them, perhaps ending in an X-like mark.
_ID_RUN = re.compile(
    f"[{_ID_DIGIT}](?:[{_ID_SEPARATORS}]{{0,3}}[{_ID_DIGIT}])*(?:[{_ID_SEPARATORS}]{{0,3}}[{_ID_CHECK_X}])?"
)
#: Such a run with 15 digits or more: no shorter one can hold an identity number, and most runs of a
#: text (dates, amounts, document numbers) are shorter, so the masking looks only at these.
_LONG_ID_RUN = re.compile(
    f"[{_ID_DIGIT}](?:[{_ID_SEPARATORS}]{{0,3}}[{_ID_DIGIT}]){{14,}}(?:[{_ID_SEPARATORS}]{{0,3}}[{_ID_CHECK_X}])?"
)
_ID_CHAR = re.compile(f"[{_ID_DIGIT}{_ID_CHECK_X}]")
#: Province codes (GB/T 2260, the first two digits of a resident ID).
_PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
    ]
)


def _birth_plausible(digits: str, today: date) -> bool:
    """Whether eight digits are a birth date from ``EARLIEST_BIRTH_YEAR`` to today."""
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return born.year >= EARLIEST_BIRTH_YEAR and born <= today


def _id_at(chars: str, start: int, today: date) -> int:
    """Length (18, 17 or 15) of the identity number starting at ``chars[start]``, 0 for none.

    ``chars`` are a run's digits (and a final X). An 18-character number with a correct check
    digit, or 17 digits whose check digit can be computed (a plausible birth date in a known
    province), are found anywhere in the run, so a digit glued in front hides nothing; so is a
    15-digit first-generation number in a run of at most 16."""
    body = chars[start : start + 17]
    if len(body) == 17 and body.isdigit() and _birth_plausible(body[6:14], today):
        check = chars[start + 17 : start + 18]
        if check and check == ric.calc_check_digit(body + "0"):
            return 18
        if body[:2] in _PROVINCES:
            return 17
    old = chars[start : start + 15]
    if (
        len(chars) <= 16
        and len(old) == 15
        and old.isdigit()
        and old[:2] in _PROVINCES
        and _birth_plausible("19" + old[6:12], today)
    ):
        return 15
    return 0


def _masked(chars: str) -> str:
    return chars[:10] + "****" + chars[14:] if len(chars) == 17 else mask_id(chars)


def _mask_run(run: re.Match, today: date) -> str:
    """A run with each identity number in it masked. A run merely shaped like one is not: every
    page passes here, and a USCC of digits only (an old organisation code inside) is 18 digits."""
    text = run.group(0)
    spots = [(m.start(), m.group(0)) for m in _ID_CHAR.finditer(text)]
    chars = "".join(c for _, c in spots).translate(_TRANSLATION).upper().replace("\u00d7", "X")
    if len(chars) < 15:
        return text
    found, start = [], 0
    while start <= len(chars) - 15:
        size = _id_at(chars, start, today)
        if size:
            found.append((start, size))
        start += size or 1
    out, done = [], 0
    for start, size in found:
        out += [text[done : spots[start][0]], _masked(chars[start : start + size])]
        done = spots[start + size - 1][0] + 1
    return "".join(out) + text[done:]


def mask_ids_in_text(text: str) -> str:
    """Every identity number in free text masked as :func:`mask_id` does (a decision's text
    often names the party's 身份证号码), however it is written: full-width digits and X, ×,
    groups (6-8-4, 6-4-4-4) parted by any space, dash, dot or slash, zero-width marks between
    digits, a digit glued in front, the check digit left out (see ``_id_at``). Broad on purpose:
    a number shaped like an ID with a birth date where one belongs is masked even if it is
    something else, which costs less than a leaked identity number; one without is left (every
    page passes here, and a USCC of digits only is 18 digits long)."""
    if _LONG_ID_RUN.search(text) is None:
        return text
    today = date.today()
    return _LONG_ID_RUN.sub(lambda run: _mask_run(run, today), text)


def mask_ids(values: pd.Series) -> pd.Series:
    """Vectorised :func:`mask_id`."""
    v = _normalise_series(values)
    out = v.copy()
    length, masked = v.str.len(), v.str.contains("*", regex=False)
    for size, head, tail in ((18, 10, 14), (15, 8, 12)):
        rows = (length == size) & ~masked
        out[rows] = v[rows].str.slice(0, head) + "****" + v[rows].str.slice(tail)
    other = ~masked & ~length.isin([18, 15])
    out[other] = ["*" * len(x) for x in v[other]]
    return out


class Pseudonymiser:
    """Keyed, stable person pseudonym so a raw identity number is never a key."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the pseudonym secret must not be empty")
        self._secret = secret.encode()
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"credit-engine id encryption")
        self._fernet = Fernet(base64.urlsafe_b64encode(hkdf.derive(self._secret)))

    def _digest(self, id18: str) -> str:
        return hmac.digest(self._secret, id18.encode(), hashlib.sha256).hex()[:32]

    def key(self, id18: str) -> str:
        """HMAC-SHA256 of the 18-digit form (a 15-digit ID gives the same key as its 18-digit form).

        Raises ValueError for values that are not usable IDs (masked, bad check, invalid).
        """
        check = classify_id(id18)
        if not check.usable_as_key:
            raise ValueError(f"cannot pseudonymise an ID classified {check.kind.value}: {check.reason}")
        return self._digest(check.value)

    def keys(self, values: pd.Series) -> pd.Series:
        """Vectorised :meth:`key`; <NA> where :meth:`key` would raise."""
        checks = classify_ids(values)
        usable = checks["kind"].isin([k.value for k in _ID_KEY_KINDS]).to_numpy()
        ids = checks["value"].to_numpy(dtype=object)
        keys = np.full(len(ids), None, dtype=object)
        keys[usable] = [self._digest(v) for v in ids[usable]]
        return pd.Series(keys, index=values.index, dtype="str")

    def encrypt(self, id18: str) -> str:
        """Fernet token for the normalised ID, for the optional encrypted store of full numbers."""
        return self._fernet.encrypt(normalise_code(id18).encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()


def mask_ids_everywhere(value: object, keep: frozenset[str] = frozenset({"uscc"})) -> object:
    """``value`` (JSON-like: dicts, lists, strings) with :func:`mask_ids_in_text` applied to every
    string in it, keys of ``keep`` excepted (an entity's own validated code is not free text):
    the one pass every public output goes through, whatever route or field it came from."""
    if isinstance(value, str):
        return mask_ids_in_text(value)
    if isinstance(value, dict):
        return {k: v if k in keep and isinstance(v, str) else mask_ids_everywhere(v, keep) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_ids_everywhere(v, keep) for v in value]
    return value


def mask_ids_in_texts(values: pd.Series) -> pd.Series:
    """Vectorised :func:`mask_ids_in_text` for a column of free text (names, addresses, decision
    texts, document numbers): only cells holding 15 digits or more are looked at."""
    if values.empty or not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return values
    text = values.astype("str")
    long = np.flatnonzero((text.str.len().fillna(0) >= 15).to_numpy(dtype=bool))  # the cheap test first
    many = (text.iloc[long].str.count(f"[{_ID_DIGIT}]") >= 15).to_numpy(dtype=bool)
    candidates = long[many]
    if not len(candidates):
        return values
    cells = text.iloc[candidates].tolist()
    masked = {v: mask_ids_in_text(v) for v in dict.fromkeys(cells)}  # codes repeat: once per distinct value
    out = values.copy()
    out.iloc[candidates] = [masked[v] for v in cells]
    return out


def mask_ids_in_frame(frame: pd.DataFrame, keep: frozenset[str] | set[str] = frozenset()) -> pd.DataFrame:
    """Every text column of ``frame`` but those of ``keep`` (codes, keys of other tables) through
    :func:`mask_ids_in_texts`: what the store keeps of free text never holds a full ID."""
    masked = {
        c: mask_ids_in_texts(frame[c])
        for c in frame.columns
        if c not in keep and (pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object)
    }
    return frame.assign(**masked) if masked else frame
